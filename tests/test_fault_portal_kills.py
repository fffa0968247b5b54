"""kill -9 of the portal while it writes: a finance upload, an approval, a sending.

issue 14 item 2 and operations.md "Failure behaviour", for the portal's writes (portal.md). The
`o211 portal` server runs as a child process in its own process group and gets SIGKILL at a
moment held open by an injected pause (`tests/fault/site/sitecustomize.py`, the portal block):
just before, or just after, the commit of the SQLite transaction that records the write.

- A finance upload (`finance_uploads`): before the commit, its bytes are complete in a hidden
  `.part` file of `inbox/finance/` and nothing is committed: after a restart the upload is wholly
  absent (no row, no audit entry, no file under a name ingest takes) and uploading it again
  works. After the commit, the upload is recorded and its file is still under the temp name:
  after a restart it is wholly there (row, audit entry, the file in the inbox under its upload
  name, once) and the same bytes are refused as already uploaded. Then `o211 run` loads each
  sample file exactly once and the figures are those of an uninterrupted run.
- An approval (`report_decisions`) and a sending (`report_deliveries`): before the commit the
  decision or the delivery is wholly absent after a restart (the approver does it again); after
  the commit it is wholly there: the decision with its audit entry, or the delivery with its
  audit entry and exactly one message queued for the liaison.

Every time: nothing left in the portal's receiving folder or the inbox but what belongs there,
and `pragma integrity_check` is ok.

What these kills found before the fixes: an upload killed before its commit had already been
linked under its upload name, so ingest loaded a file the portal never recorded, and its id,
rolled back, was given to the next upload, whose name was then taken (refused as "already
waiting in the inbox"); the receiving folder kept a copy of the finance file for good; and an
upload, an approval or a sending killed after its commit had no audit entry (each entry was
its own transaction, written afterwards).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from o211.paths import DataPaths
from portal import audit
from portal.db import database_file, open_database
from portal.uploads import LOADED, uploads
from tests.fault.harness import (
    FISCAL_YEAR,
    Kill,
    Reference,
    Workspace,
    fault_env,
    fault_reached,
    files_in,
    kill_when,
    latest_versions,
    ledger_problems,
    load_problems,
    o211_executable,
    outbox_problems,
    run_o211,
    sha256_of,
    stage_csv_rows,
    start_o211,
)
from tests.portal.conftest import PASSWORD, Client, csrf_of, free_port, login

pytestmark = pytest.mark.slow

# Fault injection read by the portal block of `tests/fault/site/sitecustomize.py`.
PORTAL_PAUSE_ENV = "O211_FAULT_PORTAL_PAUSE"
PORTAL_TABLE_ENV = "O211_FAULT_PORTAL_TABLE"
PORTAL_WHEN_ENV = "O211_FAULT_PORTAL_WHEN"
BEFORE_COMMIT, AFTER_COMMIT = "before-commit", "after-commit"
PAUSE_SECONDS = "120"
KILL_TIMEOUT = 60.0
START_TIMEOUT = 60.0

FINANCE, APPROVER, LIAISON = "kill-finance", "kill-approver", "kill-liaison"
ACCOUNTS = ((FINANCE, "finance"), (APPROVER, "approver"), (LIAISON, "liaison"))
STAGE = "Q2"


# --- the portal as a killable child process --------------------------------------------------


def portal_pause(table: str, when: str) -> dict[str, str]:
    return fault_env(
        **{PORTAL_PAUSE_ENV: PAUSE_SECONDS, PORTAL_TABLE_ENV: table, PORTAL_WHEN_ENV: when}
    )


@dataclass
class Portal:
    process: subprocess.Popen[bytes]
    url: str

    def client(self, name: str) -> Client:
        client = Client(self.url)
        response = login(client, name, PASSWORD)
        assert response.status_code == 303, response.text
        return client

    def stop(self) -> None:
        """A clean stop (uvicorn finishes its requests on SIGTERM)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


# Every portal a test started, stopped at its end whatever happened (a failed assertion would
# otherwise leave a server paused for minutes).
_STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_portal_left() -> Iterator[None]:
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)


def start_portal(workspace: Workspace, extra_env: dict[str, str] | None = None) -> Portal:
    """`o211 portal` on a free port, answering its login page."""
    workspace.fault_reached.unlink(missing_ok=True)  # a marker is the moment of this start's pause
    port = free_port()
    process = start_o211(workspace, "portal", "--port", str(port), extra_env=extra_env)
    _STARTED.append(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (workspace.root / "killed-command.log").read_text(errors="replace")
            raise AssertionError(f"the portal exited {process.returncode}:\n{log[-3000:]}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{url}/login", timeout=5).status_code == 200:
                return Portal(process, url)
        time.sleep(0.05)
    raise AssertionError("the portal did not answer")


def kill_during(
    workspace: Workspace, portal: Portal, point: str, request: Future[requests.Response]
) -> Kill:
    """SIGKILL the portal inside its injected pause; the request in flight gets no answer."""
    kill = kill_when(portal.process, point, fault_reached(workspace), KILL_TIMEOUT)
    assert kill.marker_seen and kill.interrupted, kill
    assert kill.survivors == [], kill
    detail = workspace.fault_reached.read_text().partition("\n")[2]
    assert detail == point, (detail, point)
    with pytest.raises(requests.RequestException):
        request.result(timeout=60)
    return kill


@contextlib.contextmanager
def in_background() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-request") as pool:
        yield pool


# --- accounts, made once with `o211 user add` ---------------------------------------------------


def add_user(workspace: Workspace, name: str, role: str) -> None:
    done = subprocess.run(
        [str(o211_executable()), "user", "add", name, "--role", role,
         "--email", f"{name}@example.org"],
        env=workspace.env(), input=PASSWORD + "\n", capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A portal database holding one account per role this test needs (Argon2 once)."""
    workspace = Workspace(tmp_path_factory.mktemp("portal-kill-accounts"))
    workspace.paths.ensure()
    for name, role in ACCOUNTS:
        add_user(workspace, name, role)
    database = database_file(workspace.paths)
    with contextlib.closing(sqlite3.connect(database)) as con:
        con.execute("pragma wal_checkpoint(truncate)")
    return database


def workspace_from(root: Path, snapshot: Path, accounts: Path) -> Workspace:
    workspace = Workspace.from_data(root, snapshot)
    database = database_file(workspace.paths)
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The reference never ran the portal, so its snapshots hold no portal database to keep.
    assert not database.exists()
    database.write_bytes(accounts.read_bytes())
    database.chmod(0o600)
    return workspace


# --- what the portal's database and folders hold -------------------------------------------------


def query(paths: DataPaths, sql: str, *args: object) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(database_file(paths))) as con:
        return con.execute(sql, args).fetchall()


def integrity(paths: DataPaths) -> str:
    return str(query(paths, "pragma integrity_check")[0][0])


def audit_rows(paths: DataPaths, action: str) -> list[str]:
    return [d for (d,) in query(paths, "select details from audit_log where action = ?", action)]


def incoming_left(paths: DataPaths) -> list[str]:
    folder = paths.root / "portal" / "incoming"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.is_dir() else []


def finance_inbox(paths: DataPaths) -> list[str]:
    return [p.name for p in files_in(paths.inbox("finance"))]


# --- a finance upload killed -------------------------------------------------------------------


def upload(client: Client, path: Path) -> requests.Response:
    token = csrf_of(client, "/finance")
    return client.post(
        "/finance/upload",
        data={"csrf_token": token},
        files={"file": (path.name, path.read_bytes())},
    )


def test_an_upload_killed_before_or_after_its_commit_is_wholly_absent_or_wholly_loaded_once(
    fault_reference: Reference, accounts: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    ref = fault_reference
    workspace = workspace_from(tmp_path / "upload", ref.snapshots["before_finance"], accounts)
    paths = workspace.paths
    # The sample's two finance files, uploaded in the order the reference loaded them: the
    # second restates a month of the first, and the latest load of a month counts.
    first, second = sorted(ref.shelf.joinpath("finance").iterdir())
    assert first.suffix == ".xlsx" and second.suffix == ".csv"

    # 1. The workbook, killed inside its upload's transaction: its bytes are in the inbox's
    # temp file, the row and the audit entry are written, nothing is committed.
    portal = start_portal(workspace, portal_pause("finance_uploads", BEFORE_COMMIT))
    finance = portal.client(FINANCE)
    with in_background() as pool:
        kill_during(workspace, portal, f"finance_uploads {BEFORE_COMMIT}",
                    pool.submit(upload, finance, first))  # fmt: skip
    assert integrity(paths) == "ok"
    assert query(paths, "select * from finance_uploads") == []
    # Where it landed: the bytes complete in a hidden temp file, which ingest never takes.
    (temp,) = finance_inbox(paths)
    assert temp.startswith(".upload-1-") and temp.endswith(".part"), temp
    assert sha256_of(paths.inbox("finance") / temp) == sha256_of(first)

    # 2. Restarted: the upload is wholly absent, and uploading it again works.
    portal = start_portal(workspace)
    try:
        assert query(paths, "select * from finance_uploads") == []
        assert audit_rows(paths, audit.UPLOAD_ACCEPTED) == []
        assert finance_inbox(paths) == []  # no temp file, no half an upload under any name
        assert incoming_left(paths) == []
        response = upload(portal.client(FINANCE), first)
        assert response.status_code == 200, response.text
        assert "Accepted for loading" in response.text
    finally:
        portal.stop()

    # 3. The CSV, killed right after its upload's transaction committed.
    portal = start_portal(workspace, portal_pause("finance_uploads", AFTER_COMMIT))
    finance = portal.client(FINANCE)
    with in_background() as pool:
        kill_during(workspace, portal, f"finance_uploads {AFTER_COMMIT}",
                    pool.submit(upload, finance, second))  # fmt: skip
    assert integrity(paths) == "ok"
    recorded = query(paths, "select stored_name, sha256 from finance_uploads order by id")
    assert [sha for _name, sha in recorded] == [sha256_of(first), sha256_of(second)]
    # Where it landed: recorded, its file still under the temp name (linked after the commit).
    temp, placed = finance_inbox(paths)  # a leading "." sorts first
    assert placed == recorded[0][0] and temp.startswith(f".{recorded[1][0]}."), (placed, temp)

    # 4. Restarted: the upload is wholly there (row, audit entry, its file in the inbox under
    # its upload name, once); the same bytes again are refused as already uploaded.
    portal = start_portal(workspace)
    try:
        assert finance_inbox(paths) == [name for name, _sha in recorded]
        for name, sha in recorded:
            assert sha256_of(paths.inbox("finance") / name) == sha
        accepted = audit_rows(paths, audit.UPLOAD_ACCEPTED)
        assert [any(sha in entry for entry in accepted) for _name, sha in recorded] == [True] * 2
        assert len(accepted) == 2
        assert incoming_left(paths) == []
        again = upload(portal.client(FINANCE), second)
        assert again.status_code == 409, again.text
    finally:
        portal.stop()
    assert integrity(paths) == "ok"

    # 5. The day's run loads each file once; the figures are those of the uninterrupted run.
    run_o211(workspace, "run")
    assert finance_inbox(paths) == []
    assert ledger_problems(paths, ref.sample) == []
    assert load_problems(paths, ref.sample) == []
    assert outbox_problems(paths, FISCAL_YEAR) == []
    assert stage_csv_rows(paths, FISCAL_YEAR) == ref.csv_rows
    listed = uploads(open_database(paths), paths)
    assert sorted(u.sha256 for u in listed) == sorted(sha for _name, sha in recorded)
    assert [u.status for u in listed] == [LOADED, LOADED]
    assert integrity(paths) == "ok"
    print(f"upload kills: {time.monotonic() - started:.1f}s")


# --- an approval and a sending killed ------------------------------------------------------------


def decide(client: Client, page: str) -> requests.Response:
    return client.post(
        f"{page}/decide", data={"csrf_token": csrf_of(client, page), "decision": "approved"}
    )


def send(client: Client, page: str) -> requests.Response:
    return client.post(f"{page}/send", data={"csrf_token": csrf_of(client, page)})


def test_an_approval_or_sending_killed_is_wholly_recorded_or_wholly_absent(
    fault_reference: Reference, accounts: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    ref = fault_reference
    workspace = workspace_from(tmp_path / "approval", ref.snapshots["reported"], accounts)
    paths = workspace.paths
    manifest = (paths.outbox / FISCAL_YEAR / "manifest.json").read_bytes()
    version = latest_versions(paths, FISCAL_YEAR)[STAGE]
    page = f"/reports/{FISCAL_YEAR}/{STAGE}/v{version['version']}"
    workbook_sha = version["files"]["xlsx"]["sha256"]

    def decisions() -> list[tuple]:
        return query(paths, "select stage, version, decision, decided_by, workbook_sha256"
                            " from report_decisions")  # fmt: skip

    def deliveries() -> list[tuple]:
        return query(paths, "select message_id, notification_key from report_deliveries")

    def sent_messages() -> list[tuple]:
        return query(
            paths, "select event_key, message_id from notifications where kind = 'report-sent'"
        )

    def status(client: Client) -> str:
        """The version's status as its page states it."""
        text = client.get(page).text
        return text.split("<dt>Status</dt><dd><strong>", 1)[1].split("<", 1)[0].strip()

    # 1. The approval, killed inside its transaction.
    portal = start_portal(workspace, portal_pause("report_decisions", BEFORE_COMMIT))
    approver = portal.client(APPROVER)
    with in_background() as pool:
        kill_during(workspace, portal, f"report_decisions {BEFORE_COMMIT}",
                    pool.submit(decide, approver, page))  # fmt: skip
    assert integrity(paths) == "ok"

    # 2. Restarted: wholly absent; the approver approves again, killed right after the commit.
    portal = start_portal(workspace, portal_pause("report_decisions", AFTER_COMMIT))
    approver = portal.client(APPROVER)
    assert decisions() == []
    assert audit_rows(paths, audit.REPORT_APPROVED) == []
    assert status(approver) == "Awaiting approval"
    with in_background() as pool:
        kill_during(workspace, portal, f"report_decisions {AFTER_COMMIT}",
                    pool.submit(decide, approver, page))  # fmt: skip
    assert integrity(paths) == "ok"
    assert len(decisions()) == 1  # the kill came after the commit

    # 3. Restarted: wholly recorded (the decision and its audit entry); approving again is
    # refused. Then the sending, killed inside its transaction.
    portal = start_portal(workspace, portal_pause("report_deliveries", BEFORE_COMMIT))
    approver = portal.client(APPROVER)
    assert decisions() == [(STAGE, version["version"], "approved", APPROVER, workbook_sha)]
    (approved,) = audit_rows(paths, audit.REPORT_APPROVED)
    assert workbook_sha in approved
    assert status(approver) == "Approved, not sent"
    assert decide(approver, page).status_code == 409
    with in_background() as pool:
        kill_during(workspace, portal, f"report_deliveries {BEFORE_COMMIT}",
                    pool.submit(send, approver, page))  # fmt: skip
    assert integrity(paths) == "ok"

    # 4. Restarted: the sending is wholly absent; sent again, killed right after the commit.
    portal = start_portal(workspace, portal_pause("report_deliveries", AFTER_COMMIT))
    approver = portal.client(APPROVER)
    assert deliveries() == [] and sent_messages() == []
    assert audit_rows(paths, audit.REPORT_SENT) == []
    assert status(approver) == "Approved, not sent"
    with in_background() as pool:
        kill_during(workspace, portal, f"report_deliveries {AFTER_COMMIT}",
                    pool.submit(send, approver, page))  # fmt: skip
    assert integrity(paths) == "ok"
    assert len(deliveries()) == 1

    # 5. Restarted: wholly recorded: the delivery, exactly one message queued for the liaison
    # (with the delivery's Message-ID), the audit entry; sending again needs "resend".
    portal = start_portal(workspace)
    approver = portal.client(APPROVER)
    try:
        ((message_id, key),) = deliveries()
        assert sent_messages() == [(key, message_id)]
        (sent,) = audit_rows(paths, audit.REPORT_SENT)
        assert message_id in sent and f"{LIAISON}@example.org" in sent
        assert status(approver) == "Approved and sent"
        assert send(approver, page).status_code == 409
        assert portal.client(LIAISON).get(f"{page}/xlsx").status_code == 200
    finally:
        portal.stop()
    assert integrity(paths) == "ok"
    # Nothing of the published reports changed.
    assert (paths.outbox / FISCAL_YEAR / "manifest.json").read_bytes() == manifest
    assert outbox_problems(paths, FISCAL_YEAR) == []
    assert stage_csv_rows(paths, FISCAL_YEAR) == ref.csv_rows
    print(f"approval kills: {time.monotonic() - started:.1f}s")
