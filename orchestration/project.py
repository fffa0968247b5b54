"""The one dbt project of the code location, located relative to this file."""

from __future__ import annotations

from dagster_dbt import DbtProject

from o211.paths import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
