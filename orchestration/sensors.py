"""Sensors: a new file in an inbox folder, and reports whose figures changed (restatements).

Sensors never open the DuckDB file (that would block dbt): the inbox sensors only hash files,
and the restatement sensor reads what the build recorded in Dagster's own event log.
"""

from collections.abc import Iterator

import dagster as dg

from exports.versions import sha256_file as file_sha256
from ingest.filing import inbox_files
from o211.kinds import KINDS
from o211.paths import DataPaths
from orchestration.assets.reports import REPORT_KEY
from orchestration.jobs import ingest_kind_jobs, reports_job
from orchestration.translator import SCHEDULE_MART, STALE_REPORTS

INBOX_INTERVAL_SECONDS = 15


def inbox_run_key(kind: str, sha256: str) -> str:
    """The same bytes never trigger a second run, whatever the file is called."""
    return f"{kind}:{sha256}"


def build_inbox_sensor(kind: str) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"inbox_{kind}",
        job=ingest_kind_jobs[kind],
        minimum_interval_seconds=INBOX_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Loads inbox/{kind}/ when a new file arrives (one run per file content). The run "
            "log says whether each file was accepted or rejected, and why."
        ),
    )
    def inbox_sensor(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
        # Ingest's own rule: temporary names and files still being written are not requested.
        ready, _waiting = inbox_files(DataPaths.from_env().inbox(kind))
        for path in ready:
            try:
                digest = file_sha256(path)
            except FileNotFoundError:  # taken by a run that is loading it right now
                continue
            context.log.info(f"New {kind} file {path.name} (sha256 {digest[:12]}...)")
            yield dg.RunRequest(
                run_key=inbox_run_key(kind, digest),
                tags={"o211/kind": kind, "o211/file": path.name[:200]},
            )

    return inbox_sensor


def restatements(
    stale: list[str], last_written: dict[str, int], build_id: int
) -> list[dg.RunRequest]:
    """Reports the build `build_id` found out of date, among those written before that build.

    `last_written` maps a written report's partition to the event id of its latest version; a
    version written after the build already holds the build's figures.
    """
    return [
        dg.RunRequest(
            partition_key=key,
            run_key=f"restatement:{key}:{build_id}",
            tags={"o211/reason": "restatement"},
        )
        for key in sorted(stale)
        if key in last_written and last_written[key] < build_id
    ]


def last_written(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, int]:
    """Event id of the latest materialization of each written report among `keys`."""
    found = {}
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=REPORT_KEY, asset_partitions=[key]), limit=1
        ).records
        if records:
            found[key] = records[0].storage_id
    return found


@dg.sensor(
    name="report_restatement",
    job=reports_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After a build, requests the report of every stage already written whose figures or "
        "inputs changed since its last version (a restatement; the next version gets a "
        "Changes sheet)."
    ),
)
def report_restatement(
    context: dg.SensorEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    records = context.instance.fetch_observations(SCHEDULE_MART, limit=1).records
    if not records:
        return dg.SkipReason("No build has compared the written reports with the warehouse yet.")
    latest = records[0]
    if context.cursor and int(context.cursor) >= latest.storage_id:
        return dg.SkipReason("No new build since the last look.")
    observation = latest.asset_observation
    listed = observation.metadata[STALE_REPORTS].value if observation else []
    # The build records a JSON list of partition keys (assets/dbt.py).
    stale = [str(key) for key in listed] if isinstance(listed, list) else []
    context.update_cursor(str(latest.storage_id))
    written = last_written(context.instance, stale)
    requests = restatements(stale, written, latest.storage_id)
    if not requests:
        return dg.SkipReason("Every written report still matches the warehouse.")
    return requests  # a list: the daemon refuses an iterator from a non-generator sensor


def build_sensors() -> list[dg.SensorDefinition]:
    return [build_inbox_sensor(kind) for kind in KINDS] + [report_restatement]
