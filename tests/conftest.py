"""Shared fixtures: the dbt manifest Dagster reads, and a private Dagster instance.

The manifest fixture is not autouse: only tests that load the Dagster definitions need it, and
a dbt project mid-edit should not stop tests that never touch Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from o211.paths import DataPaths
from orchestration.manifest import MANIFEST, manifest_is_stale, prepare_manifest
from orchestration.settings import DAGSTER_YAML


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt_project/target/manifest.json`, rebuilt (`o211 prepare`) when missing or older than
    any file of the dbt project. Only the default target counts: runs with their own
    `--target-path` never refresh what Dagster reads."""
    if manifest_is_stale():
        prepare_manifest(DataPaths(tmp_path_factory.mktemp("manifest-data")))
    return MANIFEST


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Dagster instance of its own for the session, configured by the repository's
    dagster.yaml (one-writer pool), so tests never touch the developer's `.dagster/`."""
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").symlink_to(DAGSTER_YAML)
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
