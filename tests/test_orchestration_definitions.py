"""The code location loads, and holds every asset group, job, schedule, sensor and check the
operations contract names (operations.md, "Dagster")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from o211.kinds import KINDS
from o211.paths import REPO_ROOT
from orchestration.settings import WAREHOUSE_POOL
from orchestration.translator import O211Translator

pytestmark = pytest.mark.usefixtures("dbt_manifest", "dagster_home")


@pytest.fixture(scope="module")
def repository():
    from orchestration.definitions import defs

    return defs.get_repository_def()


def test_dagster_definitions_validate(tmp_path):
    dagster = Path(sys.executable).parent / "dagster"
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=REPO_ROOT,
        env={**os.environ, "O211_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr


def test_asset_groups_and_lineage(repository):
    graph = repository.asset_graph
    groups = {
        graph.get(key).group_name
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }
    assert {"ingest", "seeds", "staging", "intermediate", "marts", "reports"} <= groups
    for kind in KINDS:
        assert graph.get(dg.AssetKey(["raw", kind])).group_name == "ingest"
    staging_calls = dg.AssetKey(["staging", "stg_raw__calls"])
    assert dg.AssetKey(["raw", "calls"]) in graph.get(staging_calls).parent_keys
    report = graph.get(dg.AssetKey(["reports", "service_data_schedule"]))
    assert dg.AssetKey(["marts", "service_data_schedule"]) in report.parent_keys
    assert set(report.partitions_def.partitions_defs[1].partitions_def.get_partition_keys()) == {
        "Q2",
        "Q3",
        "final",
    }


def test_every_asset_and_check_that_opens_the_warehouse_is_in_the_one_pool(repository):
    for assets_def in repository.assets_defs_by_key.values():
        if assets_def.is_executable:
            assert assets_def.node_def.pool == WAREHOUSE_POOL, assets_def.keys
    for check_def in repository.asset_checks_defs_by_key.values():
        assert check_def.node_def.pool == WAREHOUSE_POOL, check_def.check_keys
    rebuild = repository.get_job("rebuild_raw")
    assert {node.definition.pool for node in rebuild.nodes} == {WAREHOUSE_POOL}


def test_jobs_schedules_sensors(repository):
    assert {"ingest_and_build", "reports", "everything", "ingest", "build", "rebuild_raw"} <= set(
        repository.job_names
    )
    schedules = {s.name: s for s in repository.schedule_defs}
    assert set(schedules) == {"nightly_ingest_and_build", "due_reports"}
    nightly = schedules["nightly_ingest_and_build"]
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("0 3 * * *", "America/Toronto")
    assert nightly.job_name == "ingest_and_build"
    assert schedules["due_reports"].execution_timezone == "America/Toronto"
    assert schedules["due_reports"].job_name == "reports"
    sensors = {s.name: s for s in repository.sensor_defs}
    assert set(sensors) == {f"inbox_{kind}" for kind in KINDS} | {
        "report_restatement",
        "tell_admins_of_failed_runs",
    }
    for kind in KINDS:
        assert sensors[f"inbox_{kind}"].job_name == f"ingest_{kind}"
    assert sensors["report_restatement"].job_name == "reports"


def test_checks(repository):
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for key in repository.asset_graph.asset_check_keys
    }
    for kind in KINDS:
        assert (f"raw/{kind}", "no_rejected_files") in checks
    for channel in ("calls", "chats", "emails", "texts"):
        assert ("marts/outcome_audit", f"outcome_balance_{channel}") in checks
        assert ("marts/completeness_gaps", f"completeness_{channel}") in checks
    assert ("reports/service_data_schedule", "report_equals_warehouse") in checks
    dbt_tests = [c for c in checks if c[1].startswith(("unique_", "not_null_"))]
    assert dbt_tests, "dbt data tests should be asset checks"


def test_instance_shows_no_community_pop_up_and_sends_no_telemetry(dagster_home):
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert instance.nux_enabled is False
        assert instance.telemetry_enabled is False
    finally:
        instance.dispose()


def _manifest() -> dict:
    import json

    from orchestration.manifest import MANIFEST

    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_singular_dbt_tests_are_checks_of_the_mart_they_guard(repository):
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for key in repository.asset_graph.asset_check_keys
    }
    assert ("marts/outcome_audit", "assert_outcome_balance") in checks
    assert ("marts/service_data_schedule", "assert_ytd_counts_never_decrease") in checks


def test_raw_tables_without_their_own_ingest_asset_are_described_in_the_ingest_group(
    repository,
):
    sources = {s["name"]: s for s in _manifest()["sources"].values()}
    graph = repository.asset_graph
    for table in ("blocklist", "load_log"):
        node = graph.get(dg.AssetKey(["raw", table]))
        assert node.group_name == "ingest", table
        assert node.description == " ".join(sources[table]["description"].split()), table
    default_group = [
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == "default"
    ]
    assert default_group == []


def test_dbt_asset_descriptions_are_the_yaml_descriptions_without_sql(repository):
    graph = repository.asset_graph
    models = [
        n
        for n in _manifest()["nodes"].values()
        if n["resource_type"] in ("model", "seed")
        and n.get("config", {}).get("materialized") != "ephemeral"
    ]
    assert models
    translator = O211Translator()
    for model in models:
        key = translator.get_asset_key(model)
        description = graph.get(key).description or ""
        assert "Raw SQL" not in description, key
        assert model["description"].strip(), f"{model['name']} has no YAML description"
        assert description == " ".join(model["description"].split()), key


def test_every_dbt_data_test_check_says_what_it_asserts(repository):
    for assets_def in repository.assets_defs_by_key.values():
        for spec in assets_def.check_specs:
            if spec.key.name.startswith(("unique_", "not_null_", "accepted_values_", "assert_")):
                assert spec.description, spec.key
                assert spec.description.startswith(f"dbt test {spec.key.name}: "), spec.key
                assert len(spec.description) > len(f"dbt test {spec.key.name}: ") + 5, spec.key
