"""Report partitions (fiscal year x stage) and the calendar arithmetic behind due dates.

A report partition is a `MultiPartitionKey` such as `2025-26|Q2` (dimensions `fiscal_year`,
dynamic, and `stage`, static). In the UI, pick the fiscal year and the stage in the two columns
of the partition picker. Fiscal years join the dynamic dimension when data for them is loaded
(the ingest assets add them) or when a command asks for them.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

FISCAL_YEARS = "fiscal_years"
# Mirrors the stages enabled in dbt_project/seeds/reporting_stages.csv (a test keeps them equal).
STAGES: tuple[str, ...] = ("Q2", "Q3", "final")
DEFAULT_REPORT_DELAY_DAYS = 5

fiscal_year_partitions = dg.DynamicPartitionsDefinition(name=FISCAL_YEARS)
stage_partitions = dg.StaticPartitionsDefinition(list(STAGES))
report_partitions = dg.MultiPartitionsDefinition(
    {"fiscal_year": fiscal_year_partitions, "stage": stage_partitions}
)

_FISCAL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class ReportStage:
    """One report: a fiscal year (`2025-26`) and a stage (`Q2`, `Q3`, `final`)."""

    fiscal_year: str
    stage: str

    @property
    def partition_key(self) -> dg.MultiPartitionKey:
        return dg.MultiPartitionKey({"fiscal_year": self.fiscal_year, "stage": self.stage})

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.stage}"


def fiscal_year_start(label: str) -> int:
    """The calendar year a fiscal year label starts in: `2025-26` -> 2025.

    Raises ValueError with the expected form, so a typo on the command line gets a clear line.
    """
    match = _FISCAL_YEAR.match(label.strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"fiscal year {label!r} is not of the form 2025-26 (April to March)")
    return int(match.group(1))


def fiscal_year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def fiscal_year_of(day: date) -> str:
    """The fiscal year (1 April to 31 March) a day belongs to."""
    return fiscal_year_label(day.year if day.month >= 4 else day.year - 1)


def parse_report_partition(key: str | dg.MultiPartitionKey) -> ReportStage:
    """Read a report partition key (`2025-26|Q2` or a MultiPartitionKey) and check both parts."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        fiscal_year, stage = dims["fiscal_year"], dims["stage"]
    else:
        parts = str(key).split("|")
        if len(parts) != 2:
            raise ValueError(f"report partition {key!r} is not of the form 2025-26|Q2")
        fiscal_year, stage = parts
    fiscal_year_start(fiscal_year)
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    return ReportStage(fiscal_year, stage)


def stage_end_months(seed_file: Path) -> dict[str, int]:
    """Enabled stages and their last fiscal month (April = 1) from the reporting_stages seed."""
    with seed_file.open(newline="", encoding="utf-8") as handle:
        return {
            row["stage"]: int(row["end_fiscal_month"])
            for row in csv.DictReader(handle)
            if row["enabled"].strip().lower() == "true"
        }


def stage_period_end(fiscal_year: str, end_fiscal_month: int) -> date:
    """Last day of a stage's period: fiscal month 6 of 2025-26 ends on 2025-09-30."""
    month_index = 3 + end_fiscal_month  # April is calendar month 4
    year = fiscal_year_start(fiscal_year) + (month_index - 1) // 12
    month = (month_index - 1) % 12 + 1
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def stages_due(
    today: date,
    fiscal_years: list[str],
    end_months: dict[str, int],
    delay_days: int = DEFAULT_REPORT_DELAY_DAYS,
) -> list[ReportStage]:
    """Reports whose period ended at least `delay_days` days before `today`, oldest first.

    The delay leaves time for late extracts (a day's calls often arrive the next morning and
    finance closes the month a few days later).
    """
    due = [
        ReportStage(fiscal_year, stage)
        for fiscal_year in fiscal_years
        for stage, end_month in end_months.items()
        if stage_period_end(fiscal_year, end_month) + timedelta(days=delay_days) <= today
    ]
    return sorted(due, key=lambda s: (stage_period_end(s.fiscal_year, end_months[s.stage]), s))


def latest_complete_fiscal_year(
    today: date, end_months: dict[str, int], delay_days: int = DEFAULT_REPORT_DELAY_DAYS
) -> str:
    """The latest fiscal year whose every stage, the final one included, is due by `today`."""
    start = today.year
    while True:
        label = fiscal_year_label(start)
        if len(stages_due(today, [label], end_months, delay_days)) == len(end_months):
            return label
        start -= 1
