"""What an intruder and a careful user found against a running portal, each a test that failed
before its fix: HEAD answered 405; two uploads of one file at once were both placed; invisible
characters in a file name; download names in Content-Disposition; the .eml folder's mode;
English zone names and colons in French; two apostrophes; a long name widening the page; the
framework's English error detail."""

from __future__ import annotations

import os
import re
import stat
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

import pytest
from babel.messages.pofile import read_po

from portal import uploads
from portal.accounts import FINANCE
from portal.db import open_database
from portal.i18n import LOCALE_DIR, Language
from portal.mail import MailSettings, mail_folder, send_message
from portal.web import attachment
from tests.corpus.hostile_files import good_csv
from tests.portal.conftest import PASSWORD, Client, csrf_of
from tests.portal.test_portal_browser import browser  # noqa: F401 (the fixture)


def upload(client: Client, name: str, content: bytes, token: str | None = None) -> object:
    token = token or csrf_of(client, "/finance")
    return client.post(
        "/finance/upload", data={"csrf_token": token}, files={"file": (name, content)}
    )


def test_head_answers_like_get_without_a_body(portal_env, as_role):
    finance = as_role(FINANCE)
    for client, path in (
        (portal_env.client(), "/login"),
        (portal_env.client(), "/static/portal.css"),
        (portal_env.client(), "/finance"),
        (finance, "/finance"),
        (finance, "/no-such-page"),
    ):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-length") == got.headers.get("content-length"), path
        assert head.headers["x-frame-options"] == "DENY", path
        assert head.headers.get("location") == got.headers.get("location"), path


def test_the_same_bytes_recorded_meanwhile_are_refused_when_placing(portal_env):
    """The early duplicate check and the placing are apart; the placing checks again in its
    own transaction, so two uploads of one file at once never both reach the inbox."""
    db = open_database(portal_env.paths)
    placed = []
    for name in ("first.csv", "second.csv"):
        incoming = uploads.Incoming(portal_env.paths, name, 1 << 20)
        incoming.write(good_csv("finance").encode())
        incoming.finish()
        checked = uploads.check(incoming)
        assert checked.summary is not None
        try:
            placed.append(
                uploads.record_upload(
                    db, portal_env.settings, portal_env.paths, incoming, checked.summary, "f"
                ).stored_name
            )
        except uploads.SameBytes as same:
            assert same.earlier_id == 1
        finally:
            incoming.discard()
    assert placed == ["upload-1-first.csv"]
    assert sorted(p.name for p in portal_env.paths.inbox("finance").iterdir()) == placed


def test_one_file_uploaded_three_times_at_once_is_placed_once(portal_env, as_role):
    finance = as_role(FINANCE)
    token = csrf_of(finance, "/finance")
    content = good_csv("finance", count=5).encode()
    codes: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: codes.append(upload(finance, "dup.csv", content, token).status_code)
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409, 409]
    assert [p.name for p in portal_env.paths.inbox("finance").iterdir()] == ["upload-1-dup.csv"]


def test_invisible_characters_in_a_file_name_are_shown_not_obeyed(portal_env, as_role):
    """A right-to-left override would make `invoice<RLO>gpj.exe.csv` read as another file; a
    line break would split the audit line and the mail's subject."""
    finance = as_role(FINANCE)
    sent = "invoice\u202egpj.exe\u2069\u200b.csv"
    response = upload(finance, sent, good_csv("finance").encode())
    assert response.status_code == 200
    (row,) = uploads.uploads(open_database(portal_env.paths), portal_env.paths)
    assert row.original_name == "invoice\ufffdgpj.exe\ufffd\ufffd.csv"
    for page in (response.text, finance.get("/finance").text):
        assert "\u202e" not in page and "invoice\ufffdgpj.exe\ufffd\ufffd.csv" in page
    assert "\ufffd" in uploads.shown_name("a\r\nb") and "\n" not in uploads.shown_name("a\r\nb")


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("o211-2025-26-Q2-v1.xlsx", "o211-2025-26-Q2-v1.xlsx"),
        ('a"; filename="evil.exe', "a___filename__evil.exe"),
        ("rapport\r\nSet-Cookie: x=1.csv", "rapport__Set-Cookie__x_1.csv"),
        ("../../.bashrc", "bashrc"),
        ("données é.csv", "donn_es__.csv"),
    ],
)
def test_a_download_name_cannot_bend_its_content_disposition(name, plain):
    value = attachment(name)
    assert value.startswith(f"attachment; filename=\"{plain}\"; filename*=UTF-8''")
    assert "\r" not in value and "\n" not in value and value.count('"') == 2
    assert unquote(value.split("UTF-8''", 1)[1]) == name


def test_eml_files_are_the_owners_only_whatever_the_umask(tmp_path):
    """`o211 portal` sets umask 077, but an app served another way must not leak the mail."""
    folder = mail_folder(tmp_path)
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)  # left open by an earlier version or a hand-made folder
    sent = EmailMessage()
    sent["Message-ID"] = "<a@example.org>"
    sent["To"] = "liaison@example.org"
    sent.set_content("Q2")
    previous = os.umask(0o022)
    try:
        where = Path(send_message(MailSettings.from_env({}), sent, tmp_path))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_french_times_name_the_zone_in_french_and_put_a_space_before_colons(portal_env, as_role):
    finance = as_role(FINANCE)
    assert upload(finance, "juin.csv", good_csv("finance").encode()).status_code == 200
    winter = datetime(2026, 12, 2, 18, 39, tzinfo=UTC)
    assert Language("fr").moment(winter) == "2 déc. 2026, 13 h 39 HNE"
    assert Language("fr").moment(winter.replace(month=7)) == "2 juill. 2026, 14 h 39 HAE"
    assert Language("en").moment(winter) == "Dec 2, 2026, 1:39\u202fp.m. EST"
    page = finance.get("/finance/uploads/1", headers={"Accept-Language": "fr-CA"}).text
    assert "<h1>Téléversement 1 : juin.csv</h1>" in page
    assert re.search(r"\d h \d\d (HNE|HAE)<", page) and not re.search(r" (EST|EDT)<", page)


def test_french_uses_one_apostrophe_throughout():
    """Part 1 wrote `n’existe`, part 2 `n'a`: a reader sees both on one page."""
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    straight = [
        m.id
        for m in catalog
        if m.id
        for text in (m.string if isinstance(m.string, tuple) else (m.string,))
        if re.search(r"\w'\w", text or "")
    ]
    assert straight == []


def test_a_very_long_file_name_never_widens_the_page(portal_env, as_role, browser):  # noqa: F811
    assert upload(as_role(FINANCE), "x" * 250 + ".csv", good_csv("finance").encode()).status_code
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="fr-CA")
    page = context.new_page()
    page.goto(portal_env.server.url + "/login")
    page.fill("#name", "finance-user")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    for path in ("/finance", "/finance/uploads/1"):
        page.goto(portal_env.server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024, path
    context.close()


def test_a_form_past_the_frameworks_limits_gets_our_french_page(portal_env):
    """Starlette refuses a 5 MB field with its own English detail; the page says ours."""
    client = portal_env.client()
    response = client.post(
        "/login",
        data={"name": "admin-user", "password": "x" * 2_000_000, "login_token": "t"},
        headers={"Accept-Language": "fr-CA"},
    )
    assert response.status_code == 400
    assert "La demande n’a pas pu être lue." in response.text
    assert "exceeded" not in response.text and "KB" not in response.text
