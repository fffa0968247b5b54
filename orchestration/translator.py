"""How dbt nodes appear in Dagster, and the arguments of a build (no manifest needed here).

Keys are `<layer>/<name>` (`marts/service_data_schedule`), groups the folder under models/
(staging, intermediate, marts) or `seeds`; the sources `raw.<kind>` are the ingest assets, and
the raw tables no ingest asset writes by itself (`raw.blocklist`, `raw.load_log`) are shown in
the `ingest` group too. Descriptions are the YAML descriptions (which state each model's grain).
"""

import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

from o211.paths import DBT_PROJECT_DIR

LAYERS = ("staging", "intermediate", "marts")
# Raw tables are written by ingest, whether or not one ingest asset stands for them.
SOURCES_GROUP = "ingest"
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
    """`dbt build` runs seeds, models and their data tests (checks) in dependency order.

    The dbt unit tests prove the SQL of the rules on fixed rows, not the data: they cannot
    change from one load to the next, so a production build leaves them to the test suite
    (`tests/test_dbt_build.py` runs every one of them with a plain `dbt build`) and saves
    about 40% of a small build.
    """
    return [
        "build",
        "--exclude-resource-type",
        "unit_test",
        *(["--full-refresh"] if full_refresh else []),
    ]


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


def dbt_description(props: Mapping[str, Any]) -> str:
    """The node's YAML description alone: dagster-dbt would append the raw SQL, which list views
    then show cut short as `... #### Raw SQ...`."""
    return " ".join(str(props.get("description") or "").split()) or (
        f"dbt {props['resource_type']} {props['name']}"
    )


def dbt_test_description(props: Mapping[str, Any]) -> str:
    """One line for a dbt data test shown as an asset check: its name and what it asserts."""
    name = props["name"]
    own = " ".join(str(props.get("description") or "").split())
    if own:
        return f"dbt test {name}: {own}"
    test = props.get("test_metadata") or {}
    kwargs = test.get("kwargs") or {}
    column = kwargs.get("column_name") or "the row"
    kind = test.get("name")
    if kind == "unique":
        says = f"no two rows share the same {column}"
    elif kind == "unique_combination_of_columns":
        says = "no two rows share the same " + ", ".join(kwargs.get("columns") or [column])
    elif kind == "not_null":
        says = f"{column} is never empty"
    elif kind == "accepted_values":
        says = f"{column} is one of " + ", ".join(str(v) for v in kwargs.get("values") or [])
    elif kind == "relationships":
        parent = re.sub(r"^ref\(['\"](.+?)['\"]\)$", r"\1", str(kwargs.get("to", "")))
        says = f"every {column} appears as {kwargs.get('field', column)} in {parent}"
    elif kind:
        says = f"{kind.replace('_', ' ')} on {column}"
    else:
        says = singular_test_summary(props.get("raw_code") or "")
    return f"dbt test {name}: {says}" if says else f"dbt test {name}"


def singular_test_summary(sql: str) -> str:
    """The leading `--` comment of a singular test's SQL, which says what a returned row means."""
    lines: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("{{") and not lines:
            continue  # the config header comes first in some tests
        if not stripped.startswith("--"):
            break
        lines.append(stripped.lstrip("-").strip())
    return " ".join(lines)


class O211Translator(DagsterDbtTranslator):
    """Keys `<layer>/<name>` (e.g. `marts/service_data_schedule`); sources `raw/<kind>`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return SOURCES_GROUP
        return dbt_layer(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return dbt_description(dbt_resource_props)

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        props = manifest["nodes"][unique_id]
        return spec._replace(description=dbt_test_description(props))


def source_asset_specs(
    manifest: Mapping[str, Any], translator: DagsterDbtTranslator, defined: set[dg.AssetKey]
) -> list[dg.AssetSpec]:
    """The dbt sources no asset materializes, with the translator's group and description.

    Left to dagster-dbt they would be bare upstream stubs in group `default` with no description.
    """
    specs = []
    for source in manifest["sources"].values():
        key = translator.get_asset_key(source)
        if key in defined:
            continue
        specs.append(
            dg.AssetSpec(
                key=key,
                description=translator.get_description(source),
                group_name=translator.get_group_name(source),
                kinds={"duckdb"},
            )
        )
    return specs


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
