"""How dbt nodes appear in Dagster, and the arguments of a build (no manifest needed here).

Keys are `<layer>/<name>` (`marts/service_data_schedule`), groups the folder under models/
(staging, intermediate, marts) or `seeds`; the sources `raw.<kind>` are the ingest assets.
"""

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from orchestration.settings import DBT_PROJECT_DIR

LAYERS = ("staging", "intermediate", "marts")
SCHEDULE_MART = dg.AssetKey(["marts", "service_data_schedule"])
STALE_REPORTS = "stale_reports"


def dbt_layer(props: Mapping[str, Any]) -> str:
    """The group of a dbt node: its folder under models/ (staging, intermediate, marts), seeds."""
    resource_type = props["resource_type"]
    if resource_type == "seed":
        return "seeds"
    if resource_type == "source":
        return str(props["source_name"])
    folders = [part for part in props.get("fqn", [])[1:-1] if part in LAYERS]
    return folders[0] if folders else "marts"


def dbt_build_args(full_refresh: bool = False) -> list[str]:
    """`dbt build` runs seeds, models and their data tests (checks) in dependency order."""
    return ["build", *(["--full-refresh"] if full_refresh else [])]


@contextmanager
def scratch_target() -> Iterator[Path]:
    """A throw-away dbt target folder for one build, seeded with the parse cache.

    dagster-dbt would otherwise leave one folder per run under dbt_project/target/, which only
    ever grows; the default target stays the manifest Dagster reads and nothing else.
    """
    with tempfile.TemporaryDirectory(prefix="o211-dbt-target-") as folder:
        target = Path(folder)
        cache = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
        if cache.is_file():
            shutil.copy2(cache, target / cache.name)
        yield target


class O211Translator(DagsterDbtTranslator):
    """Keys `<layer>/<name>` (e.g. `marts/service_data_schedule`); sources `raw/<kind>`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_layer(dbt_resource_props)


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False


def build_failure_message(dbt_error: str, log_file: Path) -> str:
    """One line from dagster-dbt's failure text: what failed, and where the whole log is."""
    marker = "Errors parsed from dbt logs:"
    failed = dbt_error.split(marker, 1)[1] if marker in dbt_error else dbt_error
    failed = " ".join(failed.split())
    if len(failed) > 240:
        failed = failed[:237] + "..."
    return f"dbt build failed (full log: {log_file}): {failed}"
