"""The dbt manifest the Dagster definitions read: `dbt_project/target/manifest.json`.

Built by `o211 prepare` (set-up, tests) and refreshed by the commands when the dbt project
changed since, never at import time. Only the default target is read by Dagster; dbt runs with
another `--target-path` do not count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from o211.paths import DBT_PROJECT_DIR, DataPaths

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
# What `dbt parse` reads: a newer file in any of these makes the manifest stale.
PROJECT_INPUTS = ("models", "seeds", "macros", "tests", "dbt_project.yml", "profiles.yml")


def newest_input(project_dir: Path, inputs: Iterable[str] = PROJECT_INPUTS) -> float:
    """Modification time of the newest file the manifest is built from (0 when none)."""
    newest = 0.0
    for name in inputs:
        path = project_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


def manifest_is_stale(manifest: Path = MANIFEST, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    if not manifest.is_file():
        return True
    return manifest.stat().st_mtime < newest_input(project_dir)


def prepare_manifest(paths: DataPaths) -> None:
    """Run `dbt parse` into the default target; raise with dbt's first error line on failure."""
    dbt = Path(sys.executable).parent / "dbt"
    completed = subprocess.run(
        [
            str(dbt), "parse", "--quiet",
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
        ],
        env={
            **os.environ,
            "O211_DATA_DIR": str(paths.root),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip().splitlines()
        first = next((line for line in output if "rror" in line), output[-1] if output else "")
        raise RuntimeError(f"dbt parse failed: {first.strip()}")


def ensure_manifest(paths: DataPaths) -> bool:
    """Build the manifest when missing or older than the dbt project. True when it ran."""
    if not manifest_is_stale():
        return False
    prepare_manifest(paths)
    return True
