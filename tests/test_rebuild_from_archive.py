"""`o211 rebuild` recreates the warehouse from `archive/` alone with the same figures.

issue 7 item 4 and operations.md: after a full run, a rebuild gives the same schedule rows,
the same load log (load ids and load times come back as before), and reports that stay
`unchanged`; it never touches `inbox/`, `archive/` or `rejected/`; and it works when the
warehouse file was deleted by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exports.report import due_stages
from tests.fault.harness import (
    FISCAL_YEAR,
    STAGES,
    Reference,
    Workspace,
    load_problems,
    manifest_of,
    outbox_problems,
    run_o211,
    stage_csv_rows,
    tree_state,
    warehouse_rows,
)

# Each test copies the shared reference run's snapshot: parallel workers may split them.
pytestmark = [pytest.mark.slow, pytest.mark.independent]

SCHEDULE = "select * from marts.service_data_schedule order by fiscal_year, stage, element_order"
LOAD_LOG = (
    "select load_id, kind, file_name, sha256, rows, loaded_at, encoding, extra_columns, "
    "archive_path, first_date, last_date from raw.load_log order by load_id"
)


def test_rebuild_gives_the_same_figures_and_leaves_the_files_alone(
    fault_reference: Reference, tmp_path: Path
) -> None:
    workspace = Workspace.from_data(tmp_path, fault_reference.snapshots["reported"])
    paths = workspace.paths
    files_before = tree_state(paths)
    outbox_before = tree_state(paths, ["outbox"])
    schedule_before = warehouse_rows(paths, SCHEDULE)
    load_log_before = warehouse_rows(paths, LOAD_LOG)
    assert len(schedule_before) == 10 * len(STAGES)

    run_o211(workspace, "rebuild")

    assert tree_state(paths) == files_before
    assert warehouse_rows(paths, SCHEDULE) == schedule_before
    assert warehouse_rows(paths, LOAD_LOG) == load_log_before
    assert load_problems(paths, fault_reference.sample) == []
    assert due_stages(paths) == []
    for stage in STAGES:
        printed = run_o211(workspace, "report", "--fiscal-year", FISCAL_YEAR, "--stage", stage)
        assert "unchanged" in printed, printed
    assert tree_state(paths, ["outbox"]) == outbox_before
    assert [v["version"] for v in manifest_of(paths, FISCAL_YEAR)["versions"]] == [1, 1, 1]
    assert stage_csv_rows(paths, FISCAL_YEAR) == fault_reference.csv_rows
    assert outbox_problems(paths, FISCAL_YEAR) == []


def test_rebuild_after_the_warehouse_file_was_deleted(
    fault_reference: Reference, tmp_path: Path
) -> None:
    workspace = Workspace.from_data(tmp_path, fault_reference.snapshots["reported"])
    paths = workspace.paths
    files_before = tree_state(paths)
    schedule_before = warehouse_rows(paths, SCHEDULE)
    load_log_before = warehouse_rows(paths, LOAD_LOG)
    for leftover in paths.warehouse_dir.iterdir():
        leftover.unlink()

    run_o211(workspace, "rebuild")

    assert tree_state(paths) == files_before
    assert warehouse_rows(paths, SCHEDULE) == schedule_before
    assert warehouse_rows(paths, LOAD_LOG) == load_log_before
    assert load_problems(paths, fault_reference.sample) == []
    assert due_stages(paths) == []
