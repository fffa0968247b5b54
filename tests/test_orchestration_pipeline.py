"""The whole path through the Dagster definitions on a tiny synthetic year:
ingest -> dbt -> a report partition, then two materializations at once sharing the warehouse.
"""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from o211.calendar import ReportStage
from o211.paths import REPO_ROOT, DataPaths
from orchestration.partitions import FISCAL_YEARS, report_partition_key
from orchestration.settings import WAREHOUSE_POOL

FISCAL_YEAR = "2025-26"
SCALE = 0.05  # small, yet every weekly file has rows (header-only files are rejected)
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("dbt_manifest")]


@pytest.fixture(scope="module")
def built(tmp_path_factory, dagster_home):
    """A data directory with a tiny year loaded and built, and its Q2 report written."""
    from ingest.sample import write_sample
    from orchestration.assets.dbt import dbt_models
    from orchestration.assets.ingest import build_ingest_assets
    from orchestration.assets.reports import ministry_report
    from orchestration.checks import build_mart_checks
    from orchestration.resources import Warehouse, build_resources

    data = tmp_path_factory.mktemp("pipeline") / "data"
    write_sample(data, FISCAL_YEAR, SCALE, 7)
    previous = os.environ.get("O211_DATA_DIR")
    os.environ["O211_DATA_DIR"] = str(data)
    instance = dg.DagsterInstance.get()
    assets = [*build_ingest_assets(), dbt_models, ministry_report]
    checks = build_mart_checks()
    resources = {**build_resources(), "warehouse": Warehouse(data_dir=str(data))}
    try:
        first = dg.materialize(
            [*assets, *checks],
            selection=dg.AssetSelection.all() - dg.AssetSelection.groups("reports"),
            instance=instance,
            resources=resources,
        )
        stage = ReportStage(FISCAL_YEAR, "Q2")
        assert FISCAL_YEAR in instance.get_dynamic_partitions(FISCAL_YEARS)
        second = dg.materialize(
            [*assets, *checks],
            selection=dg.AssetSelection.groups("reports"),
            partition_key=str(report_partition_key(stage)),
            instance=instance,
            resources=resources,
        )
        yield DataPaths(data), instance, first, second
    finally:
        if previous is None:
            os.environ.pop("O211_DATA_DIR", None)
        else:
            os.environ["O211_DATA_DIR"] = previous


def _mart(paths: DataPaths, stage: str) -> dict[int, tuple]:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select element_order, element, unit, value, numerator, denominator "
            "from marts.service_data_schedule where fiscal_year = ? and stage = ?",
            [FISCAL_YEAR, stage],
        ).fetchall()
    finally:
        con.close()
    return {int(r[0]): r[1:] for r in rows}


def test_ingest_build_and_report_through_dagster(built):
    paths, _, first, second = built
    assert first.success and second.success
    ingest_checks = [
        e for e in first.get_asset_check_evaluations() if e.check_name == "no_rejected_files"
    ]
    assert len(ingest_checks) == 7 and all(e.passed for e in ingest_checks)
    balance = [
        e for e in first.get_asset_check_evaluations() if e.check_name.startswith("outcome_balance")
    ]
    assert len(balance) == 4 and all(e.passed for e in balance), [e.description for e in balance]

    [materialization] = second.asset_materializations_for_node("reports__service_data_schedule")
    csv_path = Path(materialization.metadata["csv"].value)
    assert csv_path.is_file() and csv_path.parent == paths.outbox / FISCAL_YEAR
    assert materialization.metadata["version"].value == 1
    assert "# of Calls" in materialization.metadata
    [equals] = second.get_asset_check_evaluations()
    assert equals.check_name == "report_equals_warehouse" and equals.passed, equals.description

    # Independently of the check's code: every CSV figure equals the mart's.
    mart = _mart(paths, "Q2")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(mart) == 10
    for row in written:
        element, unit, value, numerator, denominator = mart[int(row["element_order"])]
        assert row["element"] == element
        if value is None:
            assert row["value"] == ""
        else:
            assert Decimal(row["value"]) == Decimal(value)
        if unit == "percent":
            assert (int(row["numerator"]), int(row["denominator"])) == (numerator, denominator)


def _o211(*args: str, paths: DataPaths) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "o211"), *args],
        cwd=REPO_ROOT,
        env={**os.environ, "O211_DATA_DIR": str(paths.root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _pool_step_windows(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) of every step of a run: each holds the warehouse pool while it runs."""
    starts: dict[str, float] = {}
    windows = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            windows.append((starts[event.step_key], record.timestamp))
    return windows


def test_an_ingest_and_a_report_at_once_take_turns(built, tmp_path):
    """Two processes, one writing the warehouse (ingest) and one reading it (report), both
    started together: the pool makes them take turns, and neither meets DuckDB's file lock."""
    paths, instance, _, _ = built
    from ingest.sample import write_sample

    extra = tmp_path / "extra"
    write_sample(extra, FISCAL_YEAR, SCALE, 8)
    for file in sorted((extra / "inbox" / "calls").iterdir())[:8]:
        shutil.copy2(file, paths.inbox("calls") / f"redelivered_{file.name}")
    before = {r.run_id for r in instance.get_runs()}
    started = datetime.now().timestamp()
    ingest = _o211("ingest", paths=paths)
    report = _o211("report", "--fiscal-year", FISCAL_YEAR, "--stage", "Q3", paths=paths)
    outputs = [p.communicate(timeout=600)[0] for p in (ingest, report)]
    for process, output in zip((ingest, report), outputs, strict=True):
        assert process.returncode == 0, output
        assert "Could not set lock" not in output
    assert "accepted" in outputs[0]
    runs = [r for r in instance.get_runs() if r.run_id not in before]
    assert {r.job_name for r in runs} == {"ingest", "reports"}
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    windows = sorted(w for r in runs for w in _pool_step_windows(instance, r.run_id))
    assert windows and windows[0][0] >= started - 1
    for (_, end), (next_start, _) in itertools.pairwise(windows):
        assert next_start >= end, "two steps held the warehouse at the same time"
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    assert info.slot_count == 1 and not info.claimed_slots


def test_explain_agrees_with_the_warehouse_for_every_channel(built):
    from typer.testing import CliRunner

    from orchestration.cli import app

    paths, _, _, _ = built
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        picks = {
            channel: con.execute(
                f"select contact_id, outcome from marts.fct_{channel} "
                "order by outcome = 'counted', contact_id limit 1"
            ).fetchone()
            for channel in ("calls", "chats", "emails", "texts")
        }
        burst = con.execute(
            "select contact_id, burst_anchor_contact_id from marts.fct_calls "
            "where in_burst order by contact_id limit 1"
        ).fetchone()
    finally:
        con.close()
    runner = CliRunner()
    env = {"O211_DATA_DIR": str(paths.root), "COLUMNS": "250"}
    for channel, (contact_id, outcome) in picks.items():
        result = runner.invoke(app, ["explain", "--channel", channel, contact_id], env=env)
        assert result.exit_code == 0, result.output
        assert f"Outcome: {outcome}" in result.output
        assert "yes: decides" in result.output and "Warning" not in result.output
    if burst is not None:
        result = runner.invoke(app, ["explain", burst[0]], env=env)
        assert f"anchored by call {burst[1]}" in result.output
        assert f"Burst: anchor call {burst[1]}" in result.output
    missing = runner.invoke(app, ["explain", "no-such-call"], env=env)
    assert missing.exit_code == 1


def test_due_reports_schedule_and_restatement_sensor(built, tmp_path):
    """The schedule asks for due reports not yet written; after a build that changes the
    figures, the restatement sensor asks again for the reports written before it."""
    from zoneinfo import ZoneInfo

    from ingest.sample import write_sample
    from orchestration.assets.dbt import dbt_models
    from orchestration.assets.ingest import build_ingest_asset
    from orchestration.assets.reports import REPORT_KEY
    from orchestration.resources import Warehouse, build_resources
    from orchestration.schedules import due_reports
    from orchestration.sensors import report_restatement

    paths, instance, _, _ = built
    written = {str(k) for k in instance.get_materialized_partitions(REPORT_KEY)}
    assert "2025-26|Q2" in written
    morning = datetime(2026, 1, 6, 6, 0, tzinfo=ZoneInfo("America/Toronto"))
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=morning)
    requested = {r.partition_key for r in due_reports(context) if isinstance(r, dg.RunRequest)}
    assert requested == {"2025-26|Q2", "2025-26|Q3"} - written

    sensor_context = dg.build_sensor_context(instance=instance)
    assert isinstance(report_restatement(sensor_context), dg.SkipReason)

    # Late April calls (a seed no other test uses, so never a duplicate): once loaded, a build
    # changes the year-to-date figures of Q2 and Q3.
    write_sample(tmp_path / "late", FISCAL_YEAR, SCALE, 11)
    for file in sorted((tmp_path / "late" / "inbox" / "calls").iterdir())[:4]:
        shutil.copy2(file, paths.inbox("calls") / f"late_{file.name}")
    resources = {**build_resources(), "warehouse": Warehouse(data_dir=str(paths.root))}
    loaded = dg.materialize([build_ingest_asset("calls")], instance=instance, resources=resources)
    assert loaded.success
    [late] = loaded.asset_materializations_for_node("raw__calls")
    assert late.metadata["accepted"].value >= 4, late.metadata["files"]
    assert dg.materialize([dbt_models], instance=instance, resources=resources).success
    outcome = report_restatement(dg.build_sensor_context(instance=instance))
    assert not isinstance(outcome, dg.SkipReason), outcome
    restated = {r.partition_key for r in outcome}
    assert restated == {"2025-26|Q2", "2025-26|Q3"} & written
    assert "2025-26|final" not in restated  # never written: the schedule's job, not a restatement


def test_o211_run_writes_every_due_stage(built):
    """`o211 run` in one go: ingest, build, and every stage whose period ended. Work with
    nothing to do starts no Dagster run (issue 11): the inbox is empty and the blocklist already
    loaded, and a report already current is answered from the outbox."""
    from typer.testing import CliRunner

    from exports.report import current_report
    from orchestration.cli import app

    paths, instance, _, _ = built
    stages = ("Q2", "Q3", "final")
    current = [s for s in stages if current_report(paths, FISCAL_YEAR, s) is not None]
    before = {r.run_id for r in instance.get_runs()}
    result = CliRunner().invoke(
        app, ["run"], env={"O211_DATA_DIR": str(paths.root), "COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    # The console wraps long lines: a worker's longer temp path can start on a line of its own.
    assert f"Reports are in {paths.outbox / FISCAL_YEAR}" in " ".join(result.output.split())
    for stage in ("Q2", "Q3", "final"):
        assert list(
            (paths.outbox / FISCAL_YEAR).glob(
                f"ON211_ServiceDataSchedule_{FISCAL_YEAR}_{stage}_v*.csv"
            )
        )
    assert "Inbox empty and blocklist unchanged: nothing to load." in result.output
    jobs = [r.job_name for r in instance.get_runs() if r.run_id not in before]
    # The fixture built through Dagster, not `o211 build`: no build stamp yet, so dbt runs.
    assert sorted(jobs) == ["build", *["reports"] * (len(stages) - len(current))]
