"""`o211 report` answers an unchanged report without Dagster, and anything else through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from o211.paths import DataPaths
from orchestration import runner
from tests.exports.conftest import FISCAL_YEAR, MartSpec, build_marts, write


class RanDagster(Exception):
    pass


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    build_marts(paths.warehouse, MartSpec())
    monkeypatch.setenv("O211_DATA_DIR", str(paths.root))

    def dagster_job(job: str, **_: object) -> None:
        raise RanDagster(job)

    monkeypatch.setattr(runner, "execute", dagster_job)
    monkeypatch.setattr(runner, "register_fiscal_years", lambda years: None)
    return paths


def test_an_unchanged_report_is_answered_without_dagster(reports):
    first = write(reports)
    outcome = runner.report(FISCAL_YEAR, "Q2")
    assert (outcome.status, outcome.version) == ("unchanged", 1)
    assert outcome.paths == (str(first.xlsx_path), str(first.csv_path))


@pytest.mark.parametrize("stage", ["Q2", "final"])
def test_a_report_to_write_goes_through_dagster(reports, stage):
    write(reports, "final" if stage == "Q2" else "Q2")
    with pytest.raises(RanDagster, match="reports"):
        runner.report(FISCAL_YEAR, stage)


def test_a_missing_warehouse_goes_through_dagster_which_says_why(reports):
    write(reports)
    reports.warehouse.unlink()
    with pytest.raises(RanDagster):
        runner.report(FISCAL_YEAR, "Q2")
