"""Approval, return and delivery of report versions (portal.md, "Report review, approval and
delivery").

Decisions and deliveries are append-only rows (SQLite triggers refuse UPDATE and DELETE): a
decision is never edited, only followed by a newer one. What a version's state is follows from
the records and the manifest together: a newer version of the same stage supersedes every
decision on the older ones, so only the current version can be approved or sent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal.i18n import N_
from portal.reports import ReportVersion, current_versions, verified_bytes, versions

APPROVED, RETURNED = "approved", "returned"


class DecisionRefused(Exception):
    """An approval, return or sending that the rules do not allow; the message says why.

    The English text is a message id with `{placeholders}`, so a page can show it translated.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params

    def text(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.message).format(**self.params)


@dataclass(frozen=True)
class Decision:
    id: int
    fiscal_year: str
    stage: str
    version: int
    decision: str
    decided_by: str
    decided_at: datetime
    workbook_sha256: str
    csv_sha256: str
    comment: str


@dataclass(frozen=True)
class SentFile:
    name: str
    sha256: str


@dataclass(frozen=True)
class Delivery:
    id: int
    fiscal_year: str
    stage: str
    version: int
    decision_id: int
    sent_by: str
    sent_at: datetime
    recipients: list[str]
    message_id: str
    attachments: list[SentFile]
    resend: bool
    notification_key: str


@dataclass(frozen=True)
class VersionState:
    """A version with its decisions and deliveries, and what may be done with it now."""

    version: ReportVersion
    current: ReportVersion  # the newest version of the same stage
    decisions: list[Decision]  # oldest first
    deliveries: list[Delivery]  # oldest first

    @property
    def is_current(self) -> bool:
        return self.version.version == self.current.version

    @property
    def latest_decision(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def status(self) -> str:
        """awaiting / approved / returned / superseded / sent (an approved version delivered)."""
        if not self.is_current:
            return "superseded"
        latest = self.latest_decision
        if latest is None:
            return "awaiting"
        if latest.decision == APPROVED and self.deliveries_since(latest):
            return "sent"
        return latest.decision

    @property
    def superseded_approval(self) -> Decision | None:
        """The approval a newer version made void (shown on the page, never deleted)."""
        latest = self.latest_decision
        if not self.is_current and latest is not None and latest.decision == APPROVED:
            return latest
        return None

    def deliveries_since(self, decision: Decision) -> list[Delivery]:
        return [d for d in self.deliveries if d.decision_id == decision.id]

    @property
    def can_decide(self) -> bool:
        return self.is_current

    @property
    def can_send(self) -> bool:
        latest = self.latest_decision
        return self.is_current and latest is not None and latest.decision == APPROVED


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(
        id=row["id"],
        fiscal_year=row["fiscal_year"],
        stage=row["stage"],
        version=row["version"],
        decision=row["decision"],
        decided_by=row["decided_by"],
        decided_at=_time(row["decided_at"]),
        workbook_sha256=row["workbook_sha256"],
        csv_sha256=row["csv_sha256"],
        comment=row["comment"],
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        fiscal_year=row["fiscal_year"],
        stage=row["stage"],
        version=row["version"],
        decision_id=row["decision_id"],
        sent_by=row["sent_by"],
        sent_at=_time(row["sent_at"]),
        recipients=json.loads(row["recipients"]),
        message_id=row["message_id"],
        attachments=[SentFile(**a) for a in json.loads(row["attachments"])],
        resend=bool(row["resend"]),
        notification_key=row["notification_key"],
    )


def decisions_for(con: sqlite3.Connection, fiscal_year: str) -> list[Decision]:
    rows = con.execute(
        "select * from report_decisions where fiscal_year = ? order by id", (fiscal_year,)
    )
    return [_decision(r) for r in rows]


def deliveries_for(con: sqlite3.Connection, fiscal_year: str | None = None) -> list[Delivery]:
    if fiscal_year is None:
        rows = con.execute("select * from report_deliveries order by id")
    else:
        rows = con.execute(
            "select * from report_deliveries where fiscal_year = ? order by id", (fiscal_year,)
        )
    return [_delivery(r) for r in rows]


def version_states(con: sqlite3.Connection, outbox: Path, fiscal_year: str) -> list[VersionState]:
    """Every version of the fiscal year with its records, in the manifest's order."""
    listed = versions(outbox, fiscal_year)
    newest = current_versions(listed)
    decisions = decisions_for(con, fiscal_year)
    deliveries = deliveries_for(con, fiscal_year)

    def same(record: Decision | Delivery, version: ReportVersion) -> bool:
        return record.stage == version.stage and record.version == version.version

    return [
        VersionState(
            version=v,
            current=newest[(v.fiscal_year, v.stage)],
            decisions=[d for d in decisions if same(d, v)],
            deliveries=[d for d in deliveries if same(d, v)],
        )
        for v in listed
    ]


def version_state(
    con: sqlite3.Connection, outbox: Path, fiscal_year: str, stage: str, version: int
) -> VersionState | None:
    for state in version_states(con, outbox, fiscal_year):
        if state.version.stage == stage and state.version.version == version:
            return state
    return None


def record_decision(
    con: sqlite3.Connection,
    outbox: Path,
    state: VersionState,
    decision: str,
    actor: str,
    at: datetime,
    comment: str = "",
) -> Decision:
    """Approve or return the version; the workbook is checked against the manifest first.

    An approval names the exact workbook by its SHA-256, so what was approved and what is
    later sent can be proven to be the same bytes.
    """
    if decision not in (APPROVED, RETURNED):
        raise ValueError(decision)
    if at.tzinfo is None:
        raise ValueError("decision time must be time-zone aware")
    version = state.version
    if not state.is_current:
        raise DecisionRefused(
            N_("v{old} is superseded by v{new}; review that one"),
            old=version.version,
            new=state.current.version,
        )
    comment = comment.strip()
    if decision == RETURNED and not comment:
        raise DecisionRefused(N_("a returned version needs a comment saying what to fix"))
    latest = state.latest_decision
    if decision == APPROVED and latest is not None and latest.decision == APPROVED:
        raise DecisionRefused(N_("v{n} is already approved"), n=version.version)
    # Refuses (ReportFileRefused) when the file on disk is not the one the manifest lists.
    verified_bytes(outbox, version, "xlsx")
    verified_bytes(outbox, version, "csv")
    cursor = con.execute(
        "insert into report_decisions (fiscal_year, stage, version, decision, decided_by,"
        " decided_at, workbook_sha256, csv_sha256, comment) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            version.fiscal_year,
            version.stage,
            version.version,
            decision,
            actor,
            at.isoformat(),
            version.xlsx.sha256,
            version.csv.sha256,
            comment,
        ),
    )
    row = con.execute("select * from report_decisions where id = ?", (cursor.lastrowid,))
    return _decision(row.fetchone())


def check_sendable(state: VersionState, resend: bool) -> Decision:
    """The approval a sending rests on, or why this version cannot be sent now."""
    version = state.version
    if not state.is_current:
        raise DecisionRefused(
            N_("v{old} is superseded by v{new}; only the current version can be sent"),
            old=version.version,
            new=state.current.version,
        )
    approval = state.latest_decision
    if approval is None or approval.decision != APPROVED:
        raise DecisionRefused(
            N_("v{n} is not approved; approve it before sending"), n=version.version
        )
    if approval.workbook_sha256 != version.xlsx.sha256:
        raise DecisionRefused(N_("the approved workbook is not the one the manifest lists now"))
    earlier = state.deliveries_since(approval)
    if earlier and not resend:
        raise DecisionRefused(
            N_("v{n} was already sent; choose resend to send it again"), n=version.version
        )
    return approval


def record_delivery(
    con: sqlite3.Connection,
    state: VersionState,
    approval: Decision,
    actor: str,
    at: datetime,
    recipients: list[str],
    message_id: str,
    attachments: list[SentFile],
    resend: bool,
    notification_key: str,
) -> Delivery:
    version = state.version
    cursor = con.execute(
        "insert into report_deliveries (fiscal_year, stage, version, decision_id, sent_by,"
        " sent_at, recipients, message_id, attachments, resend, notification_key)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            version.fiscal_year,
            version.stage,
            version.version,
            approval.id,
            actor,
            at.isoformat(),
            json.dumps(recipients),
            message_id,
            json.dumps([{"name": a.name, "sha256": a.sha256} for a in attachments]),
            int(resend),
            notification_key,
        ),
    )
    row = con.execute("select * from report_deliveries where id = ?", (cursor.lastrowid,))
    return _delivery(row.fetchone())


def sent_versions(con: sqlite3.Connection, outbox: Path) -> list[VersionState]:
    """The versions the liaison may see: every one that was sent at least once."""
    years = sorted({d.fiscal_year for d in deliveries_for(con)}, reverse=True)
    return [
        state for year in years for state in version_states(con, outbox, year) if state.deliveries
    ]
