"""What one report shows, as plain dataclasses: the seam between the marts and every writer.

`exports.marts` fills them from the warehouse; the workbook, CSV, versions and notes use them
without touching DuckDB, so readers of published files (the portal) never load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

OUTCOMES: tuple[str, ...] = (
    "counted",
    "abandoned",
    "short_abandon",
    "not_offered",
    "test",
    "spam",
    "auto_dialer",
    "static",
)


@dataclass(frozen=True)
class Stage:
    fiscal_year: str
    stage: str
    stage_kind: str
    period_start: date
    period_end: date


@dataclass(frozen=True)
class ScheduleRow:
    element_order: int
    element: str
    definition: str
    unit: str
    value: Decimal | None
    numerator: int | None
    denominator: int | None
    quarters: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]
    basis: str | None


@dataclass(frozen=True)
class MonthlyValue:
    month_start: date
    element_order: int
    element: str
    value: Decimal | None
    numerator: int | None
    denominator: int | None


@dataclass(frozen=True)
class OutcomeAudit:
    channel: str
    seen: int
    outcomes: dict[str, int | None]
    balance_ok: bool | None


@dataclass(frozen=True)
class Coverage:
    channel: str
    first_date: date | None
    last_date: date | None


@dataclass(frozen=True)
class QualityNote:
    category: str
    channel: str | None
    item: str | None
    count: int | None
    amount: Decimal | None
    detail: str | None


@dataclass(frozen=True)
class SourceFile:
    kind: str
    file_name: str
    sha256: str
    rows: int
    loaded_at: datetime | None
    first_date: date | None
    last_date: date | None


@dataclass(frozen=True)
class RuleSetting:
    name: str
    value: str
    source: str


@dataclass(frozen=True)
class ReportData:
    """Everything one report (fiscal year x stage) shows, read from the marts."""

    stage: Stage
    schedule: list[ScheduleRow]
    monthly: list[MonthlyValue]
    audit: list[OutcomeAudit]
    coverage: list[Coverage]
    notes: list[QualityNote]
    sources: list[SourceFile]
    rules: list[RuleSetting]
    rules_fingerprint: str


class ReportDataMissing(LookupError):
    """The marts hold no schedule for the fiscal year and stage asked for."""
