"""The dbt project's own files read as data: its var defaults and its seeds.

dbt is where each rule value and mapping lives (dbt_project.yml vars, seeds/); Python reads them
from there rather than restating them. Plain file reads: no dbt import, no manifest needed.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import yaml

from o211.paths import DBT_PROJECT_DIR

DBT_PROJECT_YML = DBT_PROJECT_DIR / "dbt_project.yml"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


@cache
def var_defaults(project_file: Path = DBT_PROJECT_YML) -> dict[str, str]:
    """Each dbt var's default as text, the form `marts.rules_config` records values in."""
    with project_file.open(encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    return {str(name): str(value) for name, value in (project.get("vars") or {}).items()}


def seed_rows(name: str, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    """The rows of a seed CSV as text, in file order."""
    with (seeds_dir / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
