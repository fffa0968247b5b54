"""`current_report`: the read-only answer "writing this report again would change nothing" that
lets `o211 report` skip Dagster (issue 11). It must agree with `write_report` and never answer
for a report that would change or that a crash left untidy."""

from __future__ import annotations

from datetime import UTC, datetime

from exports.report import current_report, write_report
from o211.paths import DataPaths
from tests.exports.conftest import FISCAL_YEAR, MartSpec, build_marts, write
from tests.exports.test_exports_versions import corrected_calls, outbox_state


def test_an_unwritten_stage_has_no_current_report(data_paths: DataPaths) -> None:
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None
    write(data_paths, "final")
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None


def test_a_written_report_is_current_as_write_report_says(data_paths: DataPaths) -> None:
    first = write(data_paths)
    before = outbox_state(data_paths)
    current = current_report(data_paths, FISCAL_YEAR, "Q2")
    assert current is not None
    assert outbox_state(data_paths) == before, "it only reads"
    again = write_report(
        data_paths, FISCAL_YEAR, "Q2", product_version="9.9.9", now=datetime.now(UTC)
    )
    assert again.status == current.status == "unchanged"
    assert (current.version, current.xlsx_path, current.csv_path) == (
        first.version,
        first.xlsx_path,
        first.csv_path,
    )
    assert current.figures == again.figures
    assert (current.fingerprint, current.figures_fingerprint, current.reason) == (
        again.fingerprint,
        again.figures_fingerprint,
        again.reason,
    )


def test_new_figures_or_inputs_are_not_current(data_paths: DataPaths) -> None:
    write(data_paths)
    build_marts(data_paths.warehouse, corrected_calls())
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None
    assert write(data_paths).status == "written"
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is not None


def test_a_rule_change_alone_is_not_current(data_paths: DataPaths) -> None:
    write(data_paths)
    base = MartSpec()  # same figures, another rule value: only the inputs fingerprint moves
    build_marts(data_paths.warehouse, MartSpec(rules={**base.rules, "autodialer_min_calls": "4"}))
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None


def test_an_edited_report_file_is_not_current(data_paths: DataPaths) -> None:
    first = write(data_paths)
    first.csv_path.write_bytes(first.csv_path.read_bytes().replace(b"151242", b"151243"))
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None


def test_files_a_crash_left_are_not_current(data_paths: DataPaths) -> None:
    """write_report would tidy them first: leave that to it."""
    write(data_paths)
    folder = data_paths.outbox / FISCAL_YEAR
    (folder / f"ON211_ServiceDataSchedule_{FISCAL_YEAR}_Q2_v2.csv").write_text("half", "utf-8")
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None
    write(data_paths)  # sets it aside
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is not None
    (folder / ".tmp-abc.csv").write_text("half", "utf-8")
    assert current_report(data_paths, FISCAL_YEAR, "Q2") is None
