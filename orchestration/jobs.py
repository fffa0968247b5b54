"""Jobs: what the schedules, sensors and `o211` commands run."""

import dagster as dg

from o211.kinds import KINDS
from orchestration.assets.ingest import INGEST_GROUP, ingest_asset_key
from orchestration.assets.reports import REPORTS_GROUP
from orchestration.resources import Warehouse
from orchestration.settings import WAREHOUSE_POOL

ingest_selection = dg.AssetSelection.groups(INGEST_GROUP)
reports_selection = dg.AssetSelection.groups(REPORTS_GROUP)
# The dbt models and seeds (with their checks): everything that is neither ingest nor report.
build_selection = dg.AssetSelection.all() - ingest_selection - reports_selection


# The jobs the inbox sensors run: named for their kind, so the run history reads plainly.
ingest_kind_jobs = {
    kind: dg.define_asset_job(
        f"ingest_{kind}",
        selection=dg.AssetSelection.assets(ingest_asset_key(kind)),
        description=f"Load inbox/{kind}/ into raw.{kind} (started by the inbox_{kind} sensor).",
    )
    for kind in KINDS
}
ingest_job = dg.define_asset_job(
    "ingest", selection=ingest_selection, description="Load every inbox folder into raw.*."
)
build_job = dg.define_asset_job(
    "build", selection=build_selection, description="dbt build: seeds, models and data tests."
)
ingest_and_build_job = dg.define_asset_job(
    "ingest_and_build",
    selection=ingest_selection | build_selection,
    description="Load the inboxes, then rebuild every model and run every test (nightly).",
)
reports_job = dg.define_asset_job(
    "reports",
    selection=reports_selection,
    description="Write the ministry report of one fiscal year and stage.",
)
everything_job = dg.define_asset_job(
    "everything",
    selection=dg.AssetSelection.all(),
    description="Ingest, build, and write the report of the chosen fiscal year and stage.",
)


@dg.op(pool=WAREHOUSE_POOL, description="Recreate every raw table from archive/ alone.")
def rebuild_raw_from_archive(context: dg.OpExecutionContext, warehouse: Warehouse) -> None:
    from ingest.pipeline import rebuild_from_archive

    with warehouse.one_writer("rebuild from archive", context.log):
        results = rebuild_from_archive(warehouse.paths().ensure())
    context.log.info(f"Reloaded {len(results)} archived file(s) into a new warehouse.")


@dg.job(name="rebuild_raw", description="Recreate the raw warehouse from archive/ alone.")
def rebuild_raw_job() -> None:
    rebuild_raw_from_archive()
