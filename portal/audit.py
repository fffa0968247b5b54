"""The append-only audit log (portal.md, "Audit"): who, when, from which address, what.

Rows are only ever inserted; the table's triggers refuse updates and deletes. Details are
plain words and facts (names, file names, SHA-256), never a password or a hash of one.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from o211.text_safety import inert_csv_text
from portal.db import Database
from portal.i18n import N_
from portal.settings import PortalSettings

LOGIN, LOGIN_FAILED, LOGIN_LOCKED, LOGOUT = (
    N_("login"),
    N_("login failed"),
    N_("login locked"),
    N_("logout"),
)
UPLOAD_ACCEPTED, UPLOAD_REFUSED = N_("finance upload accepted"), N_("finance upload refused")
ACCOUNT_ADDED, ACCOUNT_DISABLED, ACCOUNT_ENABLED = (
    N_("account added"),
    N_("account disabled"),
    N_("account enabled"),
)
PASSWORD_RESET, PASSWORD_CHANGED, LANGUAGE_CHANGED = (
    N_("password reset"),
    N_("password changed"),
    N_("language changed"),
)
# The report pages' entries (recorded in the same transaction as the decision or delivery).
REPORT_APPROVED, REPORT_RETURNED = "report approved", "report returned"
REPORT_SENT, REPORT_DOWNLOADED = "report sent", "report downloaded"
REPORT_REFUSED = "report file refused"

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
CSV_COLUMNS = ("id", "at", "actor", "address", "action", "details")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str | None
    address: str | None
    action: str
    details: str


def record(
    db: Database, settings: PortalSettings, action: str, *, actor: str | None,
    address: str | None, details: str = "",
) -> None:  # fmt: skip
    with db.connect() as con:
        append(con, settings.clock(), action, actor=actor, address=address, details=details)


def append(
    con: sqlite3.Connection, at: datetime, action: str, *, actor: str | None,
    address: str | None, details: str = "",
) -> None:  # fmt: skip
    """The entry, in the caller's transaction: a write and its entry commit together, so a
    crash never leaves a write without its entry, or an entry for a write that never was."""
    con.execute(
        "insert into audit_log (at, actor, address, action, details) values (?, ?, ?, ?, ?)",
        (at.isoformat(), actor, address, action, details),
    )


def entries(db: Database, limit: int | None = None) -> list[AuditEntry]:
    """Newest first."""
    query = "select * from audit_log order by id desc"
    with db.connect() as con:
        if limit is None:
            rows = con.execute(query).fetchall()
        else:
            rows = con.execute(query + " limit ?", (limit,)).fetchall()
    return [
        AuditEntry(r["id"], r["at"], r["actor"], r["address"], r["action"], r["details"])
        for r in rows
    ]


def neutralised(value: str | None) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets an apostrophe."""
    if value is None:
        return ""
    return inert_csv_text(value)


def to_csv(rows: Sequence[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in rows:
        writer.writerow(
            [str(e.id), *(neutralised(v) for v in (e.at, e.actor, e.address, e.action, e.details))]
        )
    return out.getvalue()
