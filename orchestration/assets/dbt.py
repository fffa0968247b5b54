"""The dbt models, seeds and data tests as Dagster assets and checks (dagster-dbt).

Lineage: the dbt sources `raw.<kind>` are the ingest assets, so the graph reads
ingest -> staging -> intermediate -> marts -> reports. dbt runs as a subprocess holding the
DuckDB file for the whole build, so this asset is in the warehouse pool and no Python
connection is open while it runs.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtCliRuntimeError, DbtCliResource, dbt_assets

from exports.report import due_stages
from exports.report_data import ReportDataMissing
from orchestration.project import dbt_project
from orchestration.resources import Warehouse
from orchestration.settings import WAREHOUSE_POOL
from orchestration.translator import (
    SCHEDULE_MART,
    STALE_REPORTS,
    DbtBuildConfig,
    O211Translator,
    build_failure_message,
    dbt_build_args,
    scratch_target,
    source_asset_specs,
)


def stale_report_observation(warehouse: Warehouse, log: Any) -> dg.AssetObservation | None:
    """After a build: which written reports no longer match the warehouse (for restatements).

    Computed here, inside the warehouse pool, so the restatement sensor never opens DuckDB.
    """
    try:
        stale = due_stages(warehouse.paths())
    except (ReportDataMissing, ValueError) as error:
        # Marts not built by a partial selection, or an outbox manifest.json that no longer
        # reads: the build itself still counts, and the report command says what to fix.
        # Anything else is a bug and fails the run.
        log.warning(f"Could not compare written reports with the warehouse: {error}")
        return None
    return dg.AssetObservation(
        asset_key=SCHEDULE_MART,
        metadata={STALE_REPORTS: dg.MetadataValue.json([f"{fy}|{st}" for fy, st in stale])},
    )


TRANSLATOR = O211Translator()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    from ingest.warehouse import ensure_raw_tables

    # dbt holds the DuckDB file for the whole build: no other process may open it meanwhile.
    with warehouse.one_writer("dbt build", context.log):
        paths = warehouse.paths().ensure()
        paths.export_to_environment()
        # Sources must exist even before the first load; the connection closes before dbt starts.
        with warehouse.connect() as con:
            ensure_raw_tables(con)
        with scratch_target() as target_path:
            args = dbt_build_args(config.full_refresh)
            try:
                yield from dbt.cli(args, context=context, target_path=target_path).stream()
            except DagsterDbtCliRuntimeError as error:
                # The scratch target goes away: keep its log where the message can point to it.
                kept = Path(context.instance.root_directory) / "dbt-logs" / f"{context.run_id}.log"
                kept.parent.mkdir(parents=True, exist_ok=True)
                if (target_path / "dbt.log").is_file():
                    shutil.copyfile(target_path / "dbt.log", kept)
                raise dg.Failure(description=build_failure_message(str(error), kept)) from error
        if SCHEDULE_MART in context.selected_asset_keys:
            observation = stale_report_observation(warehouse, context.log)
            if observation is not None:
                yield observation


def dbt_source_specs(defined: set[dg.AssetKey]) -> list[dg.AssetSpec]:
    """The raw tables dbt reads that no asset here materializes (`raw.blocklist`,
    `raw.load_log`: every ingest writes them), described and grouped like the others."""
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    return source_asset_specs(manifest, TRANSLATOR, defined)
