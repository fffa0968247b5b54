"""State belongs to its data directory: two data directories never share the Dagster instance
(fiscal-year partitions, run history, sensor cursors), and `o211 run` writes every due stage it
can even when one of them fails."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from o211.calendar import ReportStage
from o211.paths import REPO_ROOT, DataPaths
from orchestration import runner
from orchestration.settings import dagster_home


def test_the_dagster_home_is_in_the_data_directory_unless_set(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("O211_DATA_DIR", str(tmp_path / "one"))
    assert dagster_home() == tmp_path / "one" / ".dagster"
    monkeypatch.setenv("O211_DATA_DIR", str(tmp_path / "two"))
    assert dagster_home() == tmp_path / "two" / ".dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "chosen"))
    assert dagster_home() == tmp_path / "chosen"


def test_one_failing_stage_is_reported_and_the_others_are_still_written(monkeypatch):
    written = []

    def report(fiscal_year: str, stage: str) -> runner.ReportOutcome:
        if stage == "Q3":
            raise RuntimeError("the marts hold no Service Data Schedule for 2025-26 Q3")
        written.append(stage)
        return runner.ReportOutcome(ReportStage(fiscal_year, stage), "written", 1, ("x.xlsx",))

    monkeypatch.setattr(runner, "report", report)
    monkeypatch.setenv("O211_REPORT_DELAY_DAYS", "5")
    outcomes = runner.due_reports(date(2026, 6, 1), fiscal_years=["2025-26"])
    assert [(o.stage.stage, o.status) for o in outcomes] == [
        ("Q2", "written"),
        ("Q3", "failed"),
        ("final", "written"),
    ]
    assert written == ["Q2", "final"]
    assert outcomes[1].problem == "the marts hold no Service Data Schedule for 2025-26 Q3"
    line = runner.failed_reports_line(outcomes)
    assert line is not None
    assert line.startswith("1 of 3 due report(s) failed (2025-26 Q3: the marts hold no")
    assert runner.failed_reports_line(outcomes[:1]) is None


def test_a_year_the_loaded_files_only_touch_has_nothing_to_report(tmp_path, monkeypatch):
    # A call that began at 23:58 on 31 March has a segment dated 1 April: the load log then
    # reaches into the next fiscal year, whose marts hold nothing until its extracts arrive.
    monkeypatch.setenv("O211_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("O211_REPORT_DELAY_DAYS", "5")
    paths = DataPaths.from_env()
    paths.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.service_data_schedule (fiscal_year varchar)")
        con.execute("insert into marts.service_data_schedule values ('2025-26')")
    monkeypatch.setattr(runner, "warehouse_fiscal_years", lambda _: ["2025-26", "2026-27"])
    monkeypatch.setattr(runner, "known_fiscal_years", lambda: [])
    written = []

    def report(fiscal_year: str, stage: str) -> runner.ReportOutcome:
        written.append((fiscal_year, stage))
        return runner.ReportOutcome(ReportStage(fiscal_year, stage), "written", 1, ("x.xlsx",))

    monkeypatch.setattr(runner, "report", report)
    outcomes = runner.due_reports(date(2026, 12, 3))
    assert written == [("2025-26", "Q2"), ("2025-26", "Q3"), ("2025-26", "final")]
    assert [(str(o.stage), o.status) for o in outcomes][-1] == ("2026-27 Q2", runner.NO_DATA)
    assert "fiscal year 2026-27" in outcomes[-1].problem
    assert runner.failed_reports_line(outcomes) is None


def test_without_marts_no_year_is_passed_over_so_each_report_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("O211_DATA_DIR", str(tmp_path))
    assert runner.years_without_schedule(DataPaths.from_env(), ["2025-26"]) == set()


def _o211(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    # No DAGSTER_HOME: each data directory must get its own instance by default.
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "o211"), *args],
        cwd=REPO_ROOT,
        env={**env, "O211_DATA_DIR": str(data), "O211_REPORT_DELAY_DAYS": "5"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.usefixtures("dbt_manifest")
def test_a_second_data_directory_writes_its_own_years_reports(tmp_path):
    """The reviewer's failure: 2024-25 files loaded in one data directory made `o211 run` in a
    fresh second one ask its marts for 2024-25 Q2, fail, and write nothing for 2025-26."""
    first, second = tmp_path / "first", tmp_path / "second"
    for args, data in (
        (("sample", "--fiscal-year", "2024-25", "--scale", "0.01"), first),
        (("ingest",), first),
        (("sample", "--fiscal-year", "2025-26", "--scale", "0.01"), second),
    ):
        result = _o211(*args, data=data)
        assert result.returncode == 0, result.stdout + result.stderr

    run = _o211("run", data=second)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2024-25" not in run.stdout + run.stderr
    written = sorted(p.name for p in (second / "outbox" / "2025-26").glob("*.xlsx"))
    assert written == [
        f"ON211_ServiceDataSchedule_2025-26_{stage}_v1.xlsx" for stage in ("Q2", "Q3", "final")
    ]
    assert not (second / "outbox" / "2024-25").exists()
    assert (first / ".dagster").is_dir() and (second / ".dagster").is_dir()
