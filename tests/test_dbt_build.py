"""`dbt build` on empty raw tables: every model compiles and every unit test of the counting
rules (defined in the model YAMLs) passes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.warehouse import ensure_raw_tables
from o211.paths import DataPaths
from tests.test_dbt_rules import MODELS_AND_DATA_TESTS, run_dbt_build

# Whole-project dbt builds, the unit tests among them: CI runs them, `--quick` does not.
pytestmark = pytest.mark.slow


def empty_warehouse(data_dir: Path) -> Path:
    """A warehouse under data_dir holding the raw tables and no rows."""
    database = DataPaths(data_dir).warehouse
    database.parent.mkdir(parents=True)
    with duckdb.connect(str(database)) as con:
        ensure_raw_tables(con)
    return database


def test_dbt_build_on_empty_raw_tables(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = empty_warehouse(data_dir)

    result = run_dbt_build(data_dir, tmp_path / "dbt")

    assert result.returncode == 0, result.stdout[-5000:]
    # the unit tests ran (not just the models): dbt reports them in its summary line
    assert "unit tests" in result.stdout
    assert "PASS=" in result.stdout and "ERROR=0" in result.stdout
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("select count(*) from marts.service_data_schedule").fetchone()
        fingerprint = con.execute("select fingerprint from marts.rules_fingerprint").fetchone()
    # no data: no fiscal year to report, but the configuration is still fingerprinted
    assert rows == (0,)
    assert fingerprint is not None and len(fingerprint[0]) == 64


def test_rules_fingerprint_changes_with_a_rule_value(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = empty_warehouse(data_dir)

    def fingerprint(*extra_args: str) -> tuple[str, str]:
        result = run_dbt_build(
            data_dir,
            tmp_path / "dbt",
            "--select",
            "+rules_fingerprint",
            "--indirect-selection",
            "cautious",
            *MODELS_AND_DATA_TESTS,
            *extra_args,
        )
        assert result.returncode == 0, result.stdout[-5000:]
        with duckdb.connect(str(database), read_only=True) as con:
            (value,) = con.execute("select fingerprint from marts.rules_fingerprint").fetchone()
            (setting,) = con.execute(
                "select value from marts.rules_config where name = 'autodialer_min_calls'"
            ).fetchone()
        return value, setting

    default_fingerprint, default_setting = fingerprint()
    changed_fingerprint, changed_setting = fingerprint("--vars", "{autodialer_min_calls: 6}")

    assert (default_setting, changed_setting) == ("5", "6")
    assert changed_fingerprint != default_fingerprint
