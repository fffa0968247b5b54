"""The durable mail outbox: every notification is queued once and sent once (portal.md,
"Notifications (email)").

An event (a finance upload's fate, a new report version, a failed run, a sending) has a unique
key such as `report-version:2025-26|Q2|v2`. The first time an event is noticed its messages are
built, one per recipient in the recipient's language, and stored whole in SQLite in the same
transaction as the event; noticing it again changes nothing. The sender then hands each stored
message to SMTP and marks it sent. A server that is down leaves the message queued with its
error and a later attempt time; nothing is dropped.

Delivery is at least once, not exactly once, across a crash in one narrow window: after the
server accepted a message and before the row is marked sent. The message then goes again with
the same Message-ID, which mail clients use to show it once.
"""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from portal.db import Database
from portal.mail import MailSettings, send_message

# After a failed attempt, wait this long times 2**(attempts - 1), at most MAX_BACKOFF.
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
# A sender that died while holding a message frees it after this long.
CLAIM_LEASE = timedelta(minutes=5)
KINDS = ("upload-loaded", "upload-rejected", "report-version", "report-sent", "run-failed")


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: its envelope recipients and the built message."""

    recipients: Sequence[str]
    message: EmailMessage


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    event_key: str
    kind: str
    recipient: str
    subject: str
    message_id: str
    queued_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    sent_via: str | None


@dataclass(frozen=True)
class DrainResult:
    sent: int
    failed: int
    waiting: int


def event_known(con: sqlite3.Connection, event_key: str) -> bool:
    found = con.execute("select 1 from notification_events where event_key = ?", (event_key,))
    return found.fetchone() is not None


def queue_event(
    con: sqlite3.Connection,
    event_key: str,
    kind: str,
    now: datetime,
    messages: Sequence[Outgoing],
    details: str = "",
) -> bool:
    """Record the event and its messages, unless the event was already noticed.

    Returns whether it was new. The caller's transaction makes the event and its messages
    appear together: a crash leaves neither.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    inserted = con.execute(
        "insert or ignore into notification_events (event_key, kind, noticed_at, details)"
        " values (?, ?, ?, ?)",
        (event_key, kind, now.isoformat(), details),
    )
    if inserted.rowcount == 0:
        return False
    for outgoing in messages:
        message = outgoing.message
        con.execute(
            "insert into notifications (event_key, kind, recipient, subject, message_id,"
            " message, queued_at, next_attempt_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_key,
                kind,
                ", ".join(outgoing.recipients),
                str(message["Subject"]),
                str(message["Message-ID"]),
                bytes(message),
                now.isoformat(),
                now.isoformat(),
            ),
        )
    return True


def _queued(row: sqlite3.Row) -> QueuedMessage:
    return QueuedMessage(
        id=row["id"],
        event_key=row["event_key"],
        kind=row["kind"],
        recipient=row["recipient"],
        subject=row["subject"],
        message_id=row["message_id"],
        queued_at=datetime.fromisoformat(row["queued_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=datetime.fromisoformat(row["sent_at"]) if row["sent_at"] else None,
        sent_via=row["sent_via"],
    )


def messages_of(con: sqlite3.Connection, event_key: str) -> list[QueuedMessage]:
    rows = con.execute("select * from notifications where event_key = ? order by id", (event_key,))
    return [_queued(r) for r in rows]


def recent_messages(
    con: sqlite3.Connection, kind: str | None = None, limit: int = 20
) -> list[QueuedMessage]:
    if kind is None:
        rows = con.execute("select * from notifications order by id desc limit ?", (limit,))
    else:
        rows = con.execute(
            "select * from notifications where kind = ? order by id desc limit ?", (kind, limit)
        )
    return [_queued(r) for r in rows]


def event_details(con: sqlite3.Connection, kind: str, limit: int = 20) -> list[dict[str, str]]:
    """The details recorded with the latest events of a kind (newest first)."""
    rows = con.execute(
        "select event_key, noticed_at, details from notification_events where kind = ?"
        " order by noticed_at desc, event_key desc limit ?",
        (kind, limit),
    )
    found = []
    for row in rows:
        details = json.loads(row["details"]) if row["details"] else {}
        found.append({"event_key": row["event_key"], "noticed_at": row["noticed_at"], **details})
    return found


def _claim(db: Database, now: datetime) -> tuple[int, bytes, list[str]] | None:
    """Take the oldest due message for a while, so two senders never send it both."""
    with db.connect() as con:
        row = con.execute(
            "select id, message, recipient from notifications where sent_at is null"
            " and next_attempt_at <= ? and (claimed_until is null or claimed_until <= ?)"
            " order by id limit 1",
            (now.isoformat(), now.isoformat()),
        ).fetchone()
        if row is None:
            return None
        con.execute(
            "update notifications set claimed_until = ? where id = ?",
            ((now + CLAIM_LEASE).isoformat(), row["id"]),
        )
        recipients = [r.strip() for r in row["recipient"].split(",") if r.strip()]
        return row["id"], row["message"], recipients


def _backoff(attempts: int) -> timedelta:
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def drain(
    db: Database, settings: MailSettings, data_root: Path, now: datetime, limit: int = 100
) -> DrainResult:
    """Send every message that is due; stop at the first failure (the server is likely down).

    The SQLite transaction is never held open while talking to the mail server: a slow server
    must not block the portal's pages.
    """
    sent = failed = 0
    for _ in range(limit):
        claimed = _claim(db, now)
        if claimed is None:
            break
        message_id, data, recipients = claimed
        message = email.message_from_bytes(data, policy=email.policy.default)
        try:
            via = send_message(settings, message, data_root, recipients)
        except Exception as error:
            with db.connect() as con:
                attempts = con.execute(
                    "select attempts from notifications where id = ?", (message_id,)
                ).fetchone()["attempts"]
                con.execute(
                    "update notifications set attempts = ?, last_error = ?,"
                    " next_attempt_at = ?, claimed_until = null where id = ?",
                    (
                        attempts + 1,
                        f"{type(error).__name__}: {error}"[:500],
                        (now + _backoff(attempts + 1)).isoformat(),
                        message_id,
                    ),
                )
            failed += 1
            break
        with db.connect() as con:
            con.execute(
                "update notifications set attempts = attempts + 1, sent_at = ?, sent_via = ?,"
                " claimed_until = null, last_error = null where id = ?",
                (now.isoformat(), via, message_id),
            )
        sent += 1
    with db.connect() as con:
        waiting = con.execute("select count(*) from notifications where sent_at is null")
        return DrainResult(sent=sent, failed=failed, waiting=waiting.fetchone()[0])
