"""Reports published into a portal test's data directory, the way `exports` writes them.

The small fake warehouse of tests/exports stands in for a dbt build; the portal itself only
ever reads the files this writes into `outbox/`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from exports.report import ReportResult, write_report
from o211.paths import DataPaths
from tests.exports.conftest import FISCAL_YEAR, NOW, MartSpec, build_marts

__all__ = ["FISCAL_YEAR", "publish", "restated"]


def publish(
    paths: DataPaths, spec: MartSpec | None = None, stage: str = "Q2", version_hour: int = 0
) -> ReportResult:
    build_marts(paths.warehouse, spec or MartSpec())
    return write_report(
        paths,
        FISCAL_YEAR,
        stage,
        product_version="9.9.9",
        now=NOW + timedelta(hours=version_hour),
    )


def restated(extra_dollars: str = "1500.25") -> MartSpec:
    """A finance restatement: a new ledger file raises each month's expenditures."""
    spec = MartSpec()
    spec.monthly = {**spec.monthly, 10: spec.monthly[10] + Decimal(extra_dollars)}
    spec.source_files = [
        *spec.source_files,
        ("finance", "finance_2025-26_restated.xlsx", date(2025, 4, 1), date(2025, 9, 1)),
    ]
    return spec
