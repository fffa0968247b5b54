"""What an accepted finance file holds: its months and its total per funding source.

For the portal's upload page (portal.md, "Finance upload"). The verdict is always
`checking.check_file`'s (the one implementation of the rules); only a file it accepts is read
again here, through the same readers and typing as ingest, to sum what it would load.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ingest import contracts, readers
from ingest.checking import check_file
from ingest.contracts import EXTRACTS
from ingest.reading import FINANCE_SHEET
from ingest.results import CheckResult

KIND = "finance"


@dataclass(frozen=True)
class FinanceSummary:
    rows: int
    months: tuple[date, ...]  # first day of each month the file covers, in order
    totals: dict[str, Decimal]  # funding source (as the seed spells it) -> sum of amounts


@dataclass(frozen=True)
class FinanceCheck:
    result: CheckResult
    summary: FinanceSummary | None  # None when the file would be rejected

    @property
    def ok(self) -> bool:
        return self.result.ok


def check_finance_file(
    path: Path, accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES
) -> FinanceCheck:
    """`check_file(path, "finance")`, plus the months and totals when the file would load."""
    result = check_file(path, KIND, accepted_dates)
    if not result.ok:
        return FinanceCheck(result, None)
    return FinanceCheck(result, summarise(path))


def _opened(path: Path) -> readers.OpenedExtract:
    extract = EXTRACTS[KIND]
    scan = readers.scan_bytes(path)
    if path.suffix.lower() == ".xlsx":
        return readers.open_workbook(
            path, scan, extract.known, extract.required, sheet_name=FINANCE_SHEET
        )
    return readers.open_csv(
        path, scan, extract.known, extract.required,
        legacy_encoding_allowed=True, title_rows_allowed=True,
    )  # fmt: skip


def summarise(path: Path) -> FinanceSummary:
    """Months and totals of a file `check_file` accepted (call it first: this does not judge)."""
    sources = contracts.load_funding_sources()
    spelling = {source.lower(): source for source in sources}
    months: set[date] = set()
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    rows = 0
    for chunk in _opened(path).chunks:
        frame, _problems = contracts.type_chunk(KIND, chunk.frame, sources)
        rows += len(frame)
        for period, source, amount in zip(
            frame["period"], frame["funding_source"], frame["amount"], strict=True
        ):
            months.add(period.date().replace(day=1))
            totals[spelling.get(str(source).lower(), str(source))] += Decimal(amount)
    return FinanceSummary(rows=rows, months=tuple(sorted(months)), totals=dict(totals))
