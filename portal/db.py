"""The portal's own state: one SQLite file in WAL mode under `$O211_DATA_DIR/portal/`.

Never the warehouse (portal.md, "Running it"). The schema is an ordered list of migrations,
each applied once and counted in `PRAGMA user_version`; a migration is never edited after it
has shipped: append a new one at the end of `MIGRATIONS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from o211.paths import DataPaths

BUSY_TIMEOUT_SECONDS = 15.0

MIGRATIONS: list[str] = [
    # 1: accounts, server-side sessions, the append-only audit log, finance uploads.
    """
    create table users (
        id integer primary key,
        name text not null unique collate nocase,
        role text not null check (role in ('finance', 'approver', 'liaison', 'admin')),
        email text,
        password_hash text not null,
        language text,
        created_at text not null,
        disabled_at text,
        failed_logins integer not null default 0,
        locked_until text
    );
    create table sessions (
        id_hash text primary key,
        user_id integer not null references users (id),
        created_at text not null,
        last_seen_at text not null,
        csrf_token text not null
    );
    create index sessions_user on sessions (user_id);
    create table audit_log (
        id integer primary key,
        at text not null,
        actor text,
        address text,
        action text not null,
        details text not null default ''
    );
    create trigger audit_log_no_update before update on audit_log
    begin
        select raise(abort, 'the audit log is append-only');
    end;
    create trigger audit_log_no_delete before delete on audit_log
    begin
        select raise(abort, 'the audit log is append-only');
    end;
    create table finance_uploads (
        id integer primary key,
        uploaded_at text not null,
        uploader text not null,
        original_name text not null,
        stored_name text not null unique,
        sha256 text not null,
        size integer not null,
        rows integer not null,
        months text not null,
        totals text not null
    );
    """,
    # 2: report approvals and returns, and deliveries to the liaison; both append-only
    # (portal/approvals.py).
    """
    create table report_decisions (
        id integer primary key,
        fiscal_year text not null,
        stage text not null,
        version integer not null,
        decision text not null check (decision in ('approved', 'returned')),
        decided_by text not null,
        decided_at text not null,
        workbook_sha256 text not null,
        csv_sha256 text not null,
        comment text not null default ''
    );
    create index report_decisions_version on report_decisions (fiscal_year, stage, version);
    create trigger report_decisions_no_update before update on report_decisions
    begin
        select raise(abort, 'report decisions are append-only: record a newer decision');
    end;
    create trigger report_decisions_no_delete before delete on report_decisions
    begin
        select raise(abort, 'report decisions are append-only: record a newer decision');
    end;
    create table report_deliveries (
        id integer primary key,
        fiscal_year text not null,
        stage text not null,
        version integer not null,
        decision_id integer not null references report_decisions (id),
        sent_by text not null,
        sent_at text not null,
        recipients text not null,
        message_id text not null unique,
        attachments text not null,
        resend integer not null check (resend in (0, 1)),
        notification_key text not null unique
    );
    create index report_deliveries_version on report_deliveries (fiscal_year, stage, version);
    create trigger report_deliveries_no_update before update on report_deliveries
    begin
        select raise(abort, 'report deliveries are append-only');
    end;
    create trigger report_deliveries_no_delete before delete on report_deliveries
    begin
        select raise(abort, 'report deliveries are append-only');
    end;
    """,
    # 3: the durable mail outbox: events noticed once, their messages sent once
    # (portal/notifications.py).
    """
    create table notification_events (
        event_key text primary key,
        kind text not null,
        noticed_at text not null,
        details text not null default ''
    );
    create table notifications (
        id integer primary key,
        event_key text not null references notification_events (event_key),
        kind text not null,
        recipient text not null,
        subject text not null,
        message_id text not null unique,
        message blob not null,
        queued_at text not null,
        attempts integer not null default 0,
        next_attempt_at text not null,
        claimed_until text,
        last_error text,
        sent_at text,
        sent_via text,
        unique (event_key, recipient)
    );
    create index notifications_waiting on notifications (sent_at, next_attempt_at);
    """,
    # 4: failed logins count within a window, so a typo now and then never adds up to a lock.
    """
    alter table users add column last_failed_at text;
    """,
]


def database_file(paths: DataPaths) -> Path:
    return paths.root / "portal" / "portal.sqlite3"


def open_database(paths: DataPaths) -> Database:
    """The portal database of a data directory, created or migrated first."""
    db = Database(database_file(paths))
    db.migrate()
    return db


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (a trigger body holds `;` of its own)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()[:80]}")


class Database:
    """Short connections, one per unit of work: safe from FastAPI's worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed when the block ends, else rolled back."""
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("pragma foreign_keys = on")
            # IMMEDIATE: a read-then-write (lock-out counter, upload id) cannot interleave.
            con.execute("begin immediate")
            try:
                yield con
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
        finally:
            con.close()

    def migrate(self) -> int:
        """Create or bring the schema up to date; returns the schema version now in force."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        # Accounts, sessions and approvals: the owner's only, whatever the umask (issue 14).
        self.path.chmod(0o600)
        try:
            con.execute("pragma journal_mode = wal")
            con.execute("begin immediate")
            try:
                # Read under the write lock: two processes starting at once migrate once.
                version = con.execute("pragma user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in _statements(script):
                        con.execute(statement)
                    con.execute(f"pragma user_version = {number}")
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
            return len(MIGRATIONS)
        finally:
            con.close()
