"""Schedules, in Toronto time: the nightly load and build, and the reports when they fall due.

Reports: one schedule runs every morning and requests each report whose stage period ended at
least `O211_REPORT_DELAY_DAYS` days ago (default 5) and that has not been written yet. Written
reports that the data later changes are the restatement sensor's job.
"""

import os
from collections.abc import Iterator

import dagster as dg

from o211.paths import DBT_PROJECT_DIR
from orchestration.jobs import ingest_and_build_job, reports_job
from orchestration.partitions import (
    DEFAULT_REPORT_DELAY_DAYS,
    FISCAL_YEARS,
    ReportStage,
    stage_end_months,
    stages_due,
)

TIMEZONE = "America/Toronto"
REPORT_KEY = dg.AssetKey(["reports", "service_data_schedule"])


def report_delay_days() -> int:
    """Days after a stage's period end before its report is written (`O211_REPORT_DELAY_DAYS`)."""
    text = os.environ.get("O211_REPORT_DELAY_DAYS", "").strip()
    if not text:
        return DEFAULT_REPORT_DELAY_DAYS
    if not text.isdigit():
        raise ValueError(f"O211_REPORT_DELAY_DAYS must be a whole number of days, not {text!r}")
    return int(text)


def reports_to_request(due: list[ReportStage], written: set[str], day: str) -> list[dg.RunRequest]:
    """One run per due report not yet written; the run key carries the day so a failed attempt
    is tried again the next morning, and a report is never requested twice in one day."""
    return [
        dg.RunRequest(
            partition_key=str(stage.partition_key),
            run_key=f"{stage.partition_key}:{day}",
            tags={"o211/reason": "stage period ended"},
        )
        for stage in due
        if str(stage.partition_key) not in written
    ]


nightly_ingest_and_build = dg.ScheduleDefinition(
    name="nightly_ingest_and_build",
    job=ingest_and_build_job,
    cron_schedule="0 3 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:00 Toronto: load every inbox, then dbt build (models and tests).",
)


@dg.schedule(
    name="due_reports",
    job=reports_job,
    cron_schedule="0 6 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "06:00 Toronto: write each report whose stage ended O211_REPORT_DELAY_DAYS days ago "
        "(default 5) and that is not written yet."
    ),
)
def due_reports(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
    today = context.scheduled_execution_time.date()
    years = list(context.instance.get_dynamic_partitions(FISCAL_YEARS))
    end_months = stage_end_months(DBT_PROJECT_DIR / "seeds" / "reporting_stages.csv")
    due = stages_due(today, years, end_months, report_delay_days())
    written = context.instance.get_materialized_partitions(REPORT_KEY)
    requests = reports_to_request(due, set(map(str, written)), today.isoformat())
    if not requests:
        yield dg.SkipReason(f"No report newly due on {today} ({len(due)} due, all written).")
    yield from requests


schedules = [nightly_ingest_and_build, due_reports]
