"""The mail outbox: each kind of notification, queued once and sent once, kept while the SMTP
server is down, in the recipient's language; checked on a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from o211.paths import DataPaths
from portal.accounts import ADMIN, APPROVER, FINANCE, LIAISON, add_user, get_user, set_language
from portal.approvals import APPROVED, record_decision, version_state
from portal.background import notify_and_send
from portal.db import Database, database_file, open_database
from portal.delivery import send_version
from portal.mail import MailSettings
from portal.notices import Links, queue_new_versions, queue_run_failure, queue_run_failure_for
from portal.notifications import drain, messages_of
from portal.settings import PortalSettings
from tests.corpus.hostile_files import good_csv
from tests.portal.conftest import PASSWORD, free_port
from tests.portal.published import FISCAL_YEAR, publish, restated
from tests.portal.smtp_server import smtp_server

NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
LINKS = Links("https://portal.example.org", "http://127.0.0.1:3000")


@dataclass
class Env:
    paths: DataPaths
    db: Database

    def restart(self) -> Database:
        """A fresh process's view: a new database object over the same file."""
        return open_database(self.paths)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    paths = DataPaths(tmp_path / "data").ensure()
    db = open_database(paths)
    settings = PortalSettings()
    for name, role, language in (
        ("ana", APPROVER, "en"),
        ("benoit", APPROVER, "fr"),
        ("lise", LIAISON, "fr"),
        ("adam", ADMIN, None),
        ("fatima", FINANCE, "fr"),
        ("frank", FINANCE, "en"),
    ):
        add_user(db, settings, name, role, PASSWORD, f"{name}@example.org")
        if language:
            set_language(db, get_user(db, name).id, language)
    return Env(paths, db)


def by_recipient(server) -> dict[str, object]:
    return {r.rcpt_tos[0]: r.message for r in server.received}


def test_a_new_version_tells_each_approver_once_in_their_language(env: Env, tmp_path) -> None:
    publish(env.paths)
    with smtp_server() as server:
        mail = MailSettings.from_env(server.environ())
        assert queue_new_versions(env.db, env.paths, mail, LINKS, NOW) == [
            f"report-version:{FISCAL_YEAR}|Q2|v1"
        ]
        assert queue_new_versions(env.db, env.paths, mail, LINKS, NOW) == []
        assert drain(env.db, mail, env.paths.root, NOW).sent == 2
        # Restarted sender and watcher: nothing new is queued and nothing is sent twice.
        restarted = env.restart()
        result = notify_and_send(restarted, env.paths, mail, LINKS, NOW + timedelta(hours=1))
        assert result.sent == 0
        received = by_recipient(server)
    assert sorted(received) == ["ana@example.org", "benoit@example.org"]
    english, french = received["ana@example.org"], received["benoit@example.org"]
    assert english["Subject"] == f"New report version to review: {FISCAL_YEAR} Q2 v1"
    assert french["Subject"] == f"Nouvelle version de rapport à examiner : {FISCAL_YEAR} Q2 v1"
    assert english["Content-Language"] == "en" and french["Content-Language"] == "fr"
    assert f"https://portal.example.org/reports/{FISCAL_YEAR}" in english.get_content()
    assert "octobre 2025" in french.get_content() or "oct. 2025" in french.get_content()


def test_a_restated_version_says_it_needs_its_own_approval(env: Env) -> None:
    publish(env.paths)
    mail = MailSettings.from_env({})
    queue_new_versions(env.db, env.paths, mail, LINKS, NOW)
    publish(env.paths, restated(), version_hour=1)
    assert queue_new_versions(env.db, env.paths, mail, LINKS, NOW) == [
        f"report-version:{FISCAL_YEAR}|Q2|v2"
    ]
    drain(env.db, mail, env.paths.root, NOW)
    with env.db.connect() as con:
        [to_ana, _] = messages_of(con, f"report-version:{FISCAL_YEAR}|Q2|v2")
    assert to_ana.recipient == "ana@example.org" and to_ana.sent_at == NOW
    eml = (env.paths.root / "portal" / "outbox-mail").glob("*.eml")
    texts = [p.read_text(encoding="utf-8") for p in eml]
    assert sum("needs its own approval" in t for t in texts) == 1


def test_server_down_keeps_the_message_and_sends_it_later_once(env: Env, tmp_path) -> None:
    publish(env.paths)
    port = free_port()  # nothing listens here yet
    down = MailSettings.from_env(
        {"O211_SMTP_HOST": "127.0.0.1", "O211_SMTP_PORT": str(port), "O211_SMTP_SECURITY": "none"}
    )
    queue_new_versions(env.db, env.paths, down, LINKS, NOW)
    failed = drain(env.db, down, env.paths.root, NOW)
    assert (failed.sent, failed.failed, failed.waiting) == (0, 1, 2)
    with env.db.connect() as con:
        first = messages_of(con, f"report-version:{FISCAL_YEAR}|Q2|v1")[0]
    assert first.attempts == 1 and first.sent_at is None
    assert "ConnectionRefusedError" in (first.last_error or "")

    with smtp_server() as server:
        server.port = port  # the same address the settings name, now answering
        server.stop()
        server.start()
        restarted = env.restart()
        # Not due yet: the failed message waits for its back-off, the other goes at once.
        soon = drain(restarted, down, env.paths.root, NOW)
        assert soon.sent == 1 and soon.waiting == 1
        later = drain(restarted, down, env.paths.root, NOW + timedelta(minutes=2))
        assert later.sent == 1 and later.waiting == 0
        assert drain(env.restart(), down, env.paths.root, NOW + timedelta(hours=1)).sent == 0
        assert sorted(r.rcpt_tos[0] for r in server.received) == [
            "ana@example.org",
            "benoit@example.org",
        ]


def test_a_failed_run_tells_the_admins_once_with_its_first_error_line(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = "3f0c2a9e-5b1d-4c8e-9a77-0d2e6f1b4c21"
    error = "\n  dbt build failed: 2 tests failed (assert_outcomes_balance)\nTraceback ...\n"
    with smtp_server() as server:
        for name, value in server.environ().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("O211_DAGSTER_URL", "http://dagster.example.org:3000/")
        assert queue_run_failure_for(env.paths, run_id, "ingest_and_build", error, NOW)
        assert not queue_run_failure_for(env.paths, run_id, "ingest_and_build", error, NOW)
        drain(env.db, MailSettings.from_env(), env.paths.root, NOW)
        [got] = server.received
    assert got.rcpt_tos == ["adam@example.org"]
    body = got.message.get_content()
    assert run_id in body
    assert "First error: dbt build failed: 2 tests failed (assert_outcomes_balance)" in body
    assert "Traceback" not in body
    assert f"http://dagster.example.org:3000/runs/{run_id}" in body
    assert got.message["Subject"] == "Pipeline run failed: ingest_and_build (3f0c2a9e)"


def test_uploaders_are_told_the_fate_of_their_file_in_their_language(env: Env) -> None:
    finance = env.paths
    with env.db.connect() as con:
        uploaded = ((1, "fatima", "ledger-june.csv"), (2, "frank", "q1.xlsx"))
        for upload_id, uploader, name in uploaded:
            con.execute(
                "insert into finance_uploads (id, uploaded_at, uploader, original_name,"
                " stored_name, sha256, size, rows, months, totals) values"
                " (?, ?, ?, ?, ?, 'x', 1, 3, ?, '{}')",
                (
                    upload_id,
                    NOW.isoformat(),
                    uploader,
                    name,
                    f"upload-{upload_id}-{name}",
                    '["2025-06-01"]' if upload_id == 1 else '["2025-04-01", "2025-05-01"]',
                ),
            )
    rejected = finance.rejected("finance") / "upload-1-ledger-june.csv"
    rejected.write_bytes(b"period,account\n")
    rejected.with_name(rejected.name + ".errors.txt").write_text("The file was NOT loaded\n")
    rejected.with_name(rejected.name + ".errors.csv").write_text(
        "row,column,value,problem\n7,amount,12x,not a number\n", encoding="utf-8"
    )
    (finance.archive("finance") / "20261116T140500000000Z__upload-2-q1.xlsx").write_bytes(b"x")
    with smtp_server() as server:
        mail = MailSettings.from_env(server.environ())
        first = notify_and_send(env.db, finance, mail, LINKS, NOW)
        again = notify_and_send(env.restart(), finance, mail, LINKS, NOW + timedelta(hours=1))
        assert (first.sent, again.sent) == (2, 0)
        received = by_recipient(server)
    french = received["fatima@example.org"]
    assert french["Subject"] == "Fichier financier non chargé : ledger-june.csv"
    text = french.get_content()
    # Ingest's problems in the recipient's language (from their codes), not .errors.csv's English.
    assert "la ligne d’en-tête (ligne 1) n’a pas de colonne nommée" in text
    assert "has no column named" not in text and "not a number" not in text
    english = received["frank@example.org"]
    assert english["Subject"] == "Finance file loaded: q1.xlsx"
    assert "Months covered: April 2025, May 2025" in english.get_content()


def test_a_rejection_the_check_cannot_see_again_lists_ingests_own_lines(env: Env) -> None:
    """When the kept file passes the check (ingest failed on something else), the mail falls
    back on `.errors.csv`'s lines rather than saying nothing."""
    with env.db.connect() as con:
        con.execute(
            "insert into finance_uploads (id, uploaded_at, uploader, original_name,"
            " stored_name, sha256, size, rows, months, totals) values"
            " (1, ?, 'fatima', 'june.csv', 'upload-1-june.csv', 'x', 1, 3, '[]', '{}')",
            (NOW.isoformat(),),
        )
    rejected = env.paths.rejected("finance") / "upload-1-june.csv"
    rejected.write_text(good_csv("finance"), encoding="utf-8")
    rejected.with_name(rejected.name + ".errors.txt").write_text("The file was NOT loaded\n")
    rejected.with_name(rejected.name + ".errors.csv").write_text(
        "row,column,value,problem\n7,amount,12x,not a number\n", encoding="utf-8"
    )
    with smtp_server() as server:
        mail = MailSettings.from_env(server.environ())
        assert notify_and_send(env.db, env.paths, mail, LINKS, NOW).sent == 1
        (message,) = by_recipient(server).values()
    assert "Ligne 7, colonne amount, valeur '12x' : not a number" in message.get_content()


def test_events_and_messages_appear_together_or_not_at_all(env: Env) -> None:
    """A crash while queueing (here: a duplicate Message-ID) leaves no half-noticed event."""
    mail = MailSettings.from_env({})
    with env.db.connect() as con:
        con.execute("create trigger boom before insert on notifications begin"
                    " select raise(abort, 'disk full'); end")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        queue_run_failure(env.db, mail, LINKS, NOW, "run-1", "job", "boom")
    with env.db.connect() as con:
        con.execute("drop trigger boom")
    assert queue_run_failure(env.db, mail, LINKS, NOW, "run-1", "job", "boom")
    assert database_file(env.paths).exists()


def test_two_senders_at_once_send_each_message_once(env: Env) -> None:
    """The portal's task and `o211 run` may drain together: the claim lets one of them send."""
    publish(env.paths)
    for run in range(3):
        queue_run_failure(
            env.db, MailSettings.from_env({}), LINKS, NOW, f"run-{run}", "job", "boom"
        )
    queue_new_versions(env.db, env.paths, MailSettings.from_env({}), LINKS, NOW)
    with smtp_server() as server:
        mail = MailSettings.from_env(server.environ())
        results = []
        senders = [
            threading.Thread(
                target=lambda: results.append(drain(env.restart(), mail, env.paths.root, NOW))
            )
            for _ in range(2)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=60)
        ids = [r.message["Message-ID"] for r in server.received]
    assert len(ids) == len(set(ids)) == 5  # 3 failures to the admin, 2 approver notices
    assert sum(r.sent for r in results) == 5


def test_one_delivery_reaches_liaisons_of_both_languages(env: Env) -> None:
    settings = PortalSettings()
    add_user(env.db, settings, "louise", LIAISON, PASSWORD, "louise@example.org")  # English
    publish(env.paths)
    with env.db.connect() as con:
        state = version_state(con, env.paths.outbox, FISCAL_YEAR, "Q2", 1)
        assert state is not None
        record_decision(con, env.paths.outbox, state, APPROVED, "ana", NOW)
    with env.db.connect() as con:
        state = version_state(con, env.paths.outbox, FISCAL_YEAR, "Q2", 1)
    assert state is not None
    mail = MailSettings.from_env({})
    delivery = send_version(env.db, env.paths, mail, LINKS, state, "ana", NOW)
    assert sorted(delivery.recipients) == ["lise@example.org", "louise@example.org"]
    assert drain(env.db, mail, env.paths.root, NOW).sent == 1
    [eml] = (env.paths.root / "portal" / "outbox-mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Message-ID"] == delivery.message_id
    assert message["Subject"] == (
        f"Ontario 211 Service Data Schedule {FISCAL_YEAR} Q2 v1 / "
        f"Ontario 211 - Tableau des données de service {FISCAL_YEAR} Q2 v1"
    )
    body = message.get_body(("plain",)).get_content()
    assert body.index("Attached is") < body.index("Vous trouverez ci-joint")
    assert "Interim - Q2 year-to-date" in body and "approved by ana" in body
    for sent in delivery.attachments:
        assert sent.sha256 in body
