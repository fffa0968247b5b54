"""The dbt command line resource, without two start-up costs this code location never uses.

Before every `dbt build`, dagster-dbt 0.29's `DbtCliResource.cli` runs `dbt --version` in a
subprocess (a whole dbt start-up, 1.5 to 6 s on the shared 2-core machine) and opens a dbt-core
adapter in process (about as long again). The adapter serves only `fetch_row_counts` and
`fetch_column_metadata`, which `orchestration.assets.dbt` does not call, and the version only
tells dbt Core (1.x) from the Fusion engine (2.x). So the version is read from the installed
dbt-core package and no adapter is made. Both hooks are private to dagster-dbt (pinned 0.29.*
in constraints.txt): `tests/test_dbt_cli.py` fails if either stops being called or the version
read here differs from `dbt --version`.
"""

from __future__ import annotations

import importlib.metadata
from functools import cached_property
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class O211DbtCli(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        return None  # dagster-dbt then skips what needs an adapter, which this project never asks
