"""A small warehouse holding only the marts the report reads (docs/architecture.md, "Marts").

The figures are invented but consistent (outcomes balance, quarters add up to the year-to-date);
a test changes one field of `MartSpec` to make a new input, a new rule value or hostile text.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from exports.report import ReportResult, write_report
from o211.paths import DBT_PROJECT_DIR, DataPaths

FISCAL_YEAR = "2025-26"
STAGES = {
    "Q2": ("interim", date(2025, 4, 1), date(2025, 9, 30)),
    "final": ("final", date(2025, 4, 1), date(2026, 3, 31)),
}
QUARTER_ENDS = (date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31))
NOW = datetime(2025, 10, 5, 14, 30, tzinfo=UTC)


def write(paths: DataPaths, stage: str = "Q2") -> ReportResult:
    return write_report(paths, FISCAL_YEAR, stage, product_version="9.9.9", now=NOW)


def seed_elements() -> list[dict[str, str]]:
    with (DBT_PROJECT_DIR / "seeds" / "service_data_elements.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@dataclass
class MartSpec:
    # Monthly value of each count/currency element (element_order -> per-month figure).
    monthly: dict[int, Decimal] = field(
        default_factory=lambda: {
            1: Decimal(25_207),
            2: Decimal(2_001),
            3: Decimal(721),
            4: Decimal(391),
            5: Decimal(76_131),
            8: Decimal(3_909),
            9: Decimal(206),
            10: Decimal("205761.3275"),
        }
    )
    # Satisfaction (element_order -> satisfied, surveyed) per month.
    surveys: dict[int, tuple[int, int]] = field(
        default_factory=lambda: {6: (129, 146), 7: (76, 84)}
    )
    # Contacts the calls audit sees beyond its outcomes (0 = the balance holds).
    calls_unbalanced: int = 0
    unmapped_disposition: str = "Voicemail"
    excluded_hostname: str = "staging.211ontario.ca"
    source_files: list[tuple[str, str, date, date]] = field(
        default_factory=lambda: [
            ("calls", "calls_2025-04_2025-09.csv", date(2025, 4, 1), date(2025, 9, 30)),
            ("chats", "chats_2025H1.csv", date(2025, 4, 1), date(2025, 9, 30)),
            ("emails", "emails_2025H1.csv", date(2025, 4, 1), date(2025, 9, 30)),
            ("texts", "texts_2025H1.csv", date(2025, 4, 1), date(2025, 9, 30)),
            ("surveys", "surveys_2025H1.csv", date(2025, 4, 1), date(2025, 9, 30)),
            ("web", "web_2025H1.csv", date(2025, 4, 1), date(2025, 9, 30)),
            ("finance", "finance_2025-26.xlsx", date(2025, 4, 1), date(2025, 9, 1)),
            ("calls", "calls_2025-10.csv", date(2025, 10, 1), date(2025, 10, 31)),
        ]
    )
    rules: dict[str, str] = field(
        default_factory=lambda: {
            "test_queue_pattern": "TEST",
            "autodialer_max_talk_seconds": "10",
            "autodialer_min_calls": "5",
            "autodialer_window_minutes": "60",
            "short_abandon_seconds": "0",
            # Seed rows as rules_config records them: `<seed>:<row as JSON>`.
            'web_hostnames:{"hostname":"211ontario.ca"}': '{"hostname":"211ontario.ca"}',
            'web_hostnames:{"hostname":"www.211ontario.ca"}': '{"hostname":"www.211ontario.ca"}',
            'disposition_categories:{"code":"Test","category":"test"}': (
                '{"code":"Test","category":"test"}'
            ),
        }
    )


def _months(start: date, end: date) -> list[date]:
    months, current = [], start
    while current <= end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def _percent(numerator: int, denominator: int) -> Decimal:
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.1"), "ROUND_HALF_UP")


def build_marts(warehouse: Path, spec: MartSpec) -> Path:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    elements = seed_elements()
    rules_fp = hashlib.sha256(repr(sorted(spec.rules.items())).encode()).hexdigest()
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts")
    con.execute(
        """create table marts.service_data_schedule (fiscal_year varchar, stage varchar,
        stage_kind varchar, period_start date, period_end date, element_order integer,
        element varchar, definition varchar, unit varchar, value decimal(18,2),
        numerator bigint, denominator bigint, q1_value decimal(18,2), q2_value decimal(18,2),
        q3_value decimal(18,2), q4_value decimal(18,2), basis varchar, rules_fingerprint varchar)"""
    )
    con.execute(
        """create table marts.monthly_elements (fiscal_year varchar, month_start date,
        element_order integer, element varchar, value decimal(18,2), numerator bigint,
        denominator bigint)"""
    )
    all_months = _months(date(2025, 4, 1), date(2026, 3, 1))
    for element in elements:
        order = int(element["element_order"])
        for month in all_months:
            if order in spec.surveys:
                numerator, denominator = spec.surveys[order]
                row = (_percent(numerator, denominator), numerator, denominator)
            else:
                row = (spec.monthly[order], None, None)
            con.execute(
                "insert into marts.monthly_elements values (?, ?, ?, ?, ?, ?, ?)",
                [FISCAL_YEAR, month, order, element["element"], *row],
            )
    for stage, (kind, start, end) in STAGES.items():
        months = _months(start, end)
        for element in elements:
            order = int(element["element_order"])
            quarters: list[Decimal | None] = []
            for quarter_end in QUARTER_ENDS:
                if quarter_end > end:
                    quarters.append(None)
                elif order in spec.surveys:
                    quarters.append(_percent(*spec.surveys[order]))
                else:
                    quarters.append((spec.monthly[order] * 3).quantize(Decimal("0.01")))
            if order in spec.surveys:
                numerator = spec.surveys[order][0] * len(months)
                denominator = spec.surveys[order][1] * len(months)
                value = _percent(numerator, denominator)
                basis = f"{numerator:,} of {denominator:,} surveyed"
            else:
                numerator = denominator = None
                value = (spec.monthly[order] * len(months)).quantize(Decimal("0.01"))
                basis = "sum of ledger lines" if element["unit"] == "currency" else None
            con.execute(
                "insert into marts.service_data_schedule values"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    FISCAL_YEAR,
                    stage,
                    kind,
                    start,
                    end,
                    order,
                    element["element"],
                    element["definition"],
                    element["unit"],
                    value,
                    numerator,
                    denominator,
                    *quarters,
                    basis,
                    rules_fp,
                ],
            )
    con.execute(
        """create table marts.outcome_audit (fiscal_year varchar, stage varchar, channel varchar,
        seen bigint, counted bigint, abandoned bigint, short_abandon bigint, not_offered bigint,
        test bigint, spam bigint, auto_dialer bigint, static bigint, balance_ok boolean)"""
    )
    for stage, (_kind, start, end) in STAGES.items():
        n = len(_months(start, end))
        calls = (
            spec.monthly[1] * n,
            spec.monthly[8] * n,
            0,
            4100 * n,
            12 * n,
            300 * n,
            95 * n,
            41 * n,
        )
        chats = (spec.monthly[2] * n, spec.monthly[9] * n, None, None, 3, 57 * n, None, None)
        emails = (spec.monthly[3] * n, None, None, None, 0, 22 * n, None, None)
        texts = (spec.monthly[4] * n, None, None, None, 1, 9 * n, None, None)
        for channel, outcomes in (
            ("calls", calls),
            ("texts", texts),
            ("chats", chats),
            ("emails", emails),
        ):
            seen = sum(int(v) for v in outcomes if v is not None)
            if channel == "calls":
                seen += spec.calls_unbalanced
            con.execute(
                "insert into marts.outcome_audit values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    FISCAL_YEAR,
                    stage,
                    channel,
                    seen,
                    *outcomes,
                    seen == sum(int(v) for v in outcomes if v is not None),
                ],
            )
    con.execute(
        "create table marts.channel_coverage (channel varchar, first_date date, last_date date)"
    )
    for channel in ("calls", "chats", "emails", "texts", "surveys", "web", "finance"):
        last = date(2025, 10, 31) if channel == "calls" else date(2025, 9, 30)
        con.execute(
            "insert into marts.channel_coverage values (?, ?, ?)", [channel, date(2025, 4, 1), last]
        )
    con.execute(
        """create table marts.data_quality_notes (fiscal_year varchar, stage varchar,
        category varchar, channel varchar, item varchar, count bigint, amount decimal(18,2),
        detail varchar)"""
    )
    for stage in STAGES:
        for row in (
            ("unmapped_disposition", "calls", spec.unmapped_disposition, 17, None, None),
            ("invalid_survey_answer", "phone", "N/A", 12, None, None),
            ("excluded_hostname", "web", spec.excluded_hostname, 345, None, None),
            ("missing_day", "texts", "2025-08-03", None, None, None),
            (
                "finance_revision",
                "finance",
                "2025-06",
                None,
                Decimal("-1234.50"),
                "finance_2025-26.xlsx replaced finance_2025-06.csv",
            ),
        ):
            con.execute(
                "insert into marts.data_quality_notes values (?, ?, ?, ?, ?, ?, ?, ?)",
                [FISCAL_YEAR, stage, *row],
            )
    con.execute(
        """create table marts.report_sources (load_id bigint, kind varchar, file_name varchar,
        sha256 varchar, rows bigint, loaded_at timestamptz, encoding varchar,
        extra_columns varchar, archive_path varchar, first_date date, last_date date,
        fiscal_years varchar)"""
    )
    for load_id, (kind, name, first, last) in enumerate(spec.source_files, start=1):
        con.execute(
            "insert into marts.report_sources values (?, ?, ?, ?, ?, ?, 'utf-8', null, null, ?, ?,"
            " ?)",
            [
                load_id,
                kind,
                name,
                hashlib.sha256(name.encode()).hexdigest(),
                1000 + load_id,
                datetime(2025, 10, 2, 7, load_id, tzinfo=UTC),
                first,
                last,
                FISCAL_YEAR,
            ],
        )
    con.execute("create table marts.rules_config (name varchar, value varchar, source varchar)")
    for name, value in spec.rules.items():
        source = "seed" if ":" in name else "var"
        con.execute("insert into marts.rules_config values (?, ?, ?)", [name, value, source])
    con.execute("create table marts.rules_fingerprint (fingerprint varchar)")
    con.execute("insert into marts.rules_fingerprint values (?)", [rules_fp])
    con.close()
    return warehouse


@pytest.fixture
def mart_spec() -> MartSpec:
    return MartSpec()


@pytest.fixture
def data_paths(tmp_path: Path, mart_spec: MartSpec) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    build_marts(paths.warehouse, mart_spec)
    return paths
