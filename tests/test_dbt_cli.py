"""`O211DbtCli` skips dagster-dbt's `dbt --version` subprocess and dbt adapter (issue 11)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.dbt_cli import O211DbtCli
from orchestration.project import dbt_project
from orchestration.resources import build_resources

DBT = str(Path(sys.executable).parent / "dbt")


def test_the_version_read_from_the_package_is_the_cli_version():
    output = subprocess.run([DBT, "--version"], capture_output=True, text=True, check=True).stdout
    installed = re.search(r"installed:\s+(\d+\.\d+\.\d+)", output)
    assert installed, output
    resource = O211DbtCli(project_dir=dbt_project, dbt_executable=DBT)
    assert resource._cli_version == version.parse(installed.group(1))
    assert resource._cli_version.major < 2, "Fusion would need no adapter hook at all"


def test_dagster_dbt_still_calls_the_two_hooks_this_class_replaces():
    """The overrides are private names: a dagster-dbt that renamed them would run both again."""
    source = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in source
    assert "self._initialize_dbt_core_adapter(" in source
    resource = O211DbtCli(project_dir=dbt_project, dbt_executable=DBT)
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_code_location_runs_dbt_through_it():
    assert type(build_resources()["dbt"]) is O211DbtCli
