"""The build stamp: `o211 build` skips dbt only when neither the raw tables nor the dbt project
changed since the last successful build (issue 11), and builds on any doubt."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingest.warehouse import ensure_raw_tables
from o211.paths import DBT_PROJECT_DIR, DataPaths
from o211.warehouse import connect
from orchestration import build_stamp, runner


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the dbt project's inputs that a test may edit."""
    copy = tmp_path / "dbt_project"
    for name in ("models", "seeds", "macros", "tests"):
        shutil.copytree(DBT_PROJECT_DIR / name, copy / name)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copyfile(DBT_PROJECT_DIR / name, copy / name)
    return copy


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    data = DataPaths(tmp_path / "data").ensure()
    with connect(data.warehouse) as con:
        ensure_raw_tables(con)
    return data


def add_load(data: DataPaths, load_id: int) -> None:
    with connect(data.warehouse) as con:
        con.execute(
            "insert into raw.load_log (load_id, kind, file_name, sha256, rows, loaded_at) "
            "values (?, 'calls', ?, ?, 1, ?)",
            [load_id, f"calls_{load_id}.csv", f"{load_id:064x}", datetime(2026, 1, 1, tzinfo=UTC)],
        )


def stamp_now(data: DataPaths, project_dir: Path) -> None:
    with connect(data.warehouse) as con:
        build_stamp.record_stamp(con, build_stamp.build_inputs(con, project_dir))


def test_a_warehouse_without_stamp_or_file_is_not_current(paths, project, tmp_path):
    assert not build_stamp.build_is_current(paths, project)
    assert not build_stamp.build_is_current(DataPaths(tmp_path / "nowhere"), project)


def test_the_stamp_holds_until_a_load_arrives(paths, project):
    add_load(paths, 1)
    stamp_now(paths, project)
    assert build_stamp.build_is_current(paths, project)
    add_load(paths, 2)
    assert not build_stamp.build_is_current(paths, project)


def test_a_changed_blocklist_makes_the_stamp_stale(paths, project):
    stamp_now(paths, project)
    with connect(paths.warehouse) as con:
        con.execute("insert into raw.blocklist values ('ab12')")
    assert not build_stamp.build_is_current(paths, project)


@pytest.mark.parametrize(
    "edit",
    [
        "seeds/disposition_categories.csv",
        "dbt_project.yml",
        "models/marts/service_data_schedule.sql",
    ],
)
def test_a_changed_rule_or_model_makes_the_stamp_stale(paths, project, edit):
    stamp_now(paths, project)
    target = project / edit
    assert target.is_file(), f"{edit} moved: pick another project file"
    target.write_bytes(target.read_bytes() + b"\n")
    assert not build_stamp.build_is_current(paths, project)


def test_touching_a_project_file_without_changing_it_keeps_the_stamp(paths, project):
    stamp_now(paths, project)
    target = project / "dbt_project.yml"
    target.write_bytes(target.read_bytes())
    assert build_stamp.build_is_current(paths, project)


def test_a_held_warehouse_answers_build(paths, project):
    """A writer holding the file (a build of another process) is a doubt: build, do not wait."""
    stamp_now(paths, project)
    with connect(paths.warehouse):
        assert not build_stamp.build_is_current(paths, project)


def test_build_runs_dbt_once_then_skips_until_a_load(paths, monkeypatch, capsys):
    jobs: list[str] = []
    monkeypatch.setattr(runner, "execute", lambda job, **_: jobs.append(job))
    assert runner.build(paths) is True
    assert runner.build(paths) is False
    assert jobs == ["build"]
    assert "dbt not run" in capsys.readouterr().out
    add_load(paths, 7)
    assert runner.build(paths) is True
    assert jobs == ["build", "build"]


def test_a_failed_build_leaves_no_stamp(paths, monkeypatch):
    def failing(job: str, **_: object) -> None:
        raise RuntimeError("dbt build failed")

    monkeypatch.setattr(runner, "execute", failing)
    with pytest.raises(RuntimeError):
        runner.build(paths)
    assert not build_stamp.build_is_current(paths)


def test_a_busy_warehouse_after_the_build_only_costs_the_next_build(paths, monkeypatch):
    fingerprint = build_stamp.inputs_before_build(paths)
    assert fingerprint is not None
    # Another process writing past the wait: DuckDB refuses a second writer.
    monkeypatch.setattr(build_stamp, "connect", _refusing_connect)
    assert build_stamp.stamp_after_build(paths, fingerprint) is False
    monkeypatch.undo()
    assert not build_stamp.build_is_current(paths)


def _refusing_connect(path: Path, **_: object) -> object:
    raise duckdb.IOException(f'Could not set lock on file "{path}"')
