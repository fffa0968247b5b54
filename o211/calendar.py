"""The fiscal calendar, its reporting stages and the Toronto zone every date is read in.

A fiscal year runs 1 April to 31 March and is labelled `2025-26`. The stages (Q2, Q3, final)
and the fiscal month each ends on come from the `reporting_stages` dbt seed, the one list the
SQL also reads; nothing here imports Dagster, so the CLI, ingest and exports share it.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from o211.paths import DBT_PROJECT_DIR

TORONTO_ZONE_NAME = "America/Toronto"
# rules.md "Calendar": contacts are dated, and naive extract times read, in Toronto time.
TORONTO = ZoneInfo(TORONTO_ZONE_NAME)

REPORTING_STAGES_SEED = DBT_PROJECT_DIR / "seeds" / "reporting_stages.csv"
DEFAULT_REPORT_DELAY_DAYS = 5

_FISCAL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


def stage_end_months(seed_file: Path = REPORTING_STAGES_SEED) -> dict[str, int]:
    """Enabled stages and their last fiscal month (April = 1) from the reporting_stages seed."""
    with seed_file.open(newline="", encoding="utf-8") as handle:
        return {
            row["stage"]: int(row["end_fiscal_month"])
            for row in csv.DictReader(handle)
            if row["enabled"].strip().lower() == "true"
        }


# Read once from the seed: the Dagster stage partitions are fixed when the definitions load.
STAGES: tuple[str, ...] = tuple(stage_end_months())


@dataclass(frozen=True, order=True)
class ReportStage:
    """One report: a fiscal year (`2025-26`) and a stage (`Q2`, `Q3`, `final`)."""

    fiscal_year: str
    stage: str

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.stage}"


def fiscal_year_start(label: str) -> int:
    """The calendar year a fiscal year label starts in: `2025-26` -> 2025.

    Raises ValueError with the expected form, so a typo on the command line gets a clear line.
    """
    form = f"fiscal year {label!r} is not of the form 2025-26 (April to March)"
    match = _FISCAL_YEAR.match(label.strip())
    if not match:
        raise ValueError(form)
    start = int(match.group(1))
    if (start + 1) % 100 != int(match.group(2)):
        raise ValueError(
            f"{form}: the second part must be the year after the first"
            f" (expected {fiscal_year_label(start)!r})"
        )
    return start


def fiscal_year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def fiscal_year_of(day: date) -> str:
    """The fiscal year (1 April to 31 March) a day belongs to."""
    return fiscal_year_label(day.year if day.month >= 4 else day.year - 1)


def fiscal_years_between(first: date, last: date) -> list[str]:
    """Every fiscal year a span of days touches, oldest first."""
    start, end = fiscal_year_start(fiscal_year_of(first)), fiscal_year_start(fiscal_year_of(last))
    return [fiscal_year_label(year) for year in range(start, end + 1)]


def report_stage(fiscal_year: str, stage: str) -> ReportStage:
    """Check both parts of a report's name; ValueError says which is wrong."""
    fiscal_year_start(fiscal_year)
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    return ReportStage(fiscal_year, stage)


def stage_period_end(fiscal_year: str, end_fiscal_month: int) -> date:
    """Last day of a stage's period: fiscal month 6 of 2025-26 ends on 2025-09-30."""
    month_index = 3 + end_fiscal_month  # April is calendar month 4
    year = fiscal_year_start(fiscal_year) + (month_index - 1) // 12
    month = (month_index - 1) % 12 + 1
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def report_delay_days() -> int:
    """Days after a stage's period end before its report is written (`O211_REPORT_DELAY_DAYS`)."""
    text = os.environ.get("O211_REPORT_DELAY_DAYS", "").strip()
    if not text:
        return DEFAULT_REPORT_DELAY_DAYS
    if not text.isdigit():
        raise ValueError(f"O211_REPORT_DELAY_DAYS must be a whole number of days, not {text!r}")
    return int(text)


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
