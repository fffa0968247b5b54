"""Schedules, in Toronto time: the nightly load and build, and the reports when they fall due.

Reports: one schedule runs every morning and requests each report whose stage period ended at
least `O211_REPORT_DELAY_DAYS` days ago (default 5) and that has not been written yet. Written
reports that the data later changes are the restatement sensor's job.
"""

from collections.abc import Iterator

import dagster as dg

from o211.calendar import (
    TORONTO_ZONE_NAME,
    ReportStage,
    report_delay_days,
    stage_end_months,
    stages_due,
)
from orchestration.assets.reports import REPORT_KEY
from orchestration.jobs import ingest_and_build_job, reports_job
from orchestration.partitions import FISCAL_YEARS, report_partition_key


def reports_to_request(due: list[ReportStage], written: set[str], day: str) -> list[dg.RunRequest]:
    """One run per due report not yet written; the run key carries the day so a failed attempt
    is tried again the next morning, and a report is never requested twice in one day."""
    keys = [str(report_partition_key(stage)) for stage in due]
    return [
        dg.RunRequest(
            partition_key=key,
            run_key=f"{key}:{day}",
            tags={"o211/reason": "stage period ended"},
        )
        for key in keys
        if key not in written
    ]


nightly_ingest_and_build = dg.ScheduleDefinition(
    name="nightly_ingest_and_build",
    job=ingest_and_build_job,
    cron_schedule="0 3 * * *",
    execution_timezone=TORONTO_ZONE_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:00 Toronto: load every inbox, then dbt build (models and tests).",
)


@dg.schedule(
    name="due_reports",
    job=reports_job,
    cron_schedule="0 6 * * *",
    execution_timezone=TORONTO_ZONE_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "06:00 Toronto: write each report whose stage ended O211_REPORT_DELAY_DAYS days ago "
        "(default 5) and that is not written yet."
    ),
)
def due_reports(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
    today = context.scheduled_execution_time.date()
    years = list(context.instance.get_dynamic_partitions(FISCAL_YEARS))
    due = stages_due(today, years, stage_end_months(), report_delay_days())
    written = context.instance.get_materialized_partitions(REPORT_KEY)
    requests = reports_to_request(due, set(map(str, written)), today.isoformat())
    if not requests:
        yield dg.SkipReason(f"No report newly due on {today} ({len(due)} due, all written).")
    yield from requests


schedules = [nightly_ingest_and_build, due_reports]
