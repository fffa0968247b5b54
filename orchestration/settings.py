"""The Dagster instance this product runs on: where it lives and the one-writer pool."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from o211.paths import REPO_ROOT, DataPaths

# The instance configuration (pools, telemetry) kept under version control; DAGSTER_HOME links it.
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
# Every asset and check that opens the DuckDB file runs in this pool; dagster.yaml limits it to 1.
WAREHOUSE_POOL = "duckdb_warehouse"


def dagster_home() -> Path:
    """The Dagster instance folder: `$DAGSTER_HOME`, else `.dagster` in the data directory.

    The instance holds the fiscal-year partitions, run history and sensor cursors of one data
    directory's warehouse: shared between two data directories, a report of the one would be
    asked of the other's marts. An explicit DAGSTER_HOME still wins.
    """
    configured = os.environ.get("DAGSTER_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    return DataPaths.from_env().dagster_home


def ensure_dagster_home() -> Path:
    """Make the instance folder exist with the repository's `dagster.yaml`, and export it.

    The repository's `dagster.yaml` holds no paths, so Dagster keeps its storage under whatever
    DAGSTER_HOME is; a symlink keeps one source of truth (a copy where links are refused).
    An existing `dagster.yaml` in a DAGSTER_HOME chosen by the user is left alone.
    """
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() and not target.is_symlink():
        try:
            target.symlink_to(DAGSTER_YAML)
        except OSError:
            shutil.copyfile(DAGSTER_YAML, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
