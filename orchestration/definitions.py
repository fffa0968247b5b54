"""The Dagster code location: assembled from the small modules beside this one.

Loading it reads the dbt manifest (`o211 prepare` builds it) and sets the process umask to
077: the daemon's and the UI's run workers load this module, and what they write into the data
directory (warehouse, archive, outbox) is for its owner only, as with the o211 commands.
"""

from __future__ import annotations

import os

import dagster as dg

from orchestration.assets.dbt import dbt_models, dbt_source_specs
from orchestration.assets.ingest import build_ingest_assets
from orchestration.assets.reports import ministry_report
from orchestration.checks import build_mart_checks
from orchestration.jobs import (
    build_job,
    everything_job,
    ingest_and_build_job,
    ingest_job,
    ingest_kind_jobs,
    rebuild_raw_job,
    reports_job,
)
from orchestration.notify import tell_admins_of_failed_runs
from orchestration.resources import build_resources
from orchestration.schedules import schedules
from orchestration.sensors import build_sensors

os.umask(0o077)

ingest_assets = build_ingest_assets()

defs = dg.Definitions(
    assets=[
        *ingest_assets,
        *dbt_source_specs({key for a in ingest_assets for key in a.keys}),
        dbt_models,
        ministry_report,
    ],
    asset_checks=build_mart_checks(),
    jobs=[
        *ingest_kind_jobs.values(),
        ingest_job,
        build_job,
        ingest_and_build_job,
        reports_job,
        everything_job,
        rebuild_raw_job,
    ],
    schedules=schedules,
    sensors=[*build_sensors(), tell_admins_of_failed_runs],
    resources=build_resources(),
)
