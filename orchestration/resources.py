"""Resources: the data directory with its DuckDB warehouse, and the dbt command line."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from o211.paths import DataPaths
from o211.warehouse import connect
from orchestration.dbt_cli import O211DbtCli
from orchestration.project import dbt_project


class Warehouse(dg.ConfigurableResource):
    """The data directory and its DuckDB file.

    `data_dir` empty means `$O211_DATA_DIR` (default `./data`), read when a run starts, never at
    import time. Connections are opened briefly and closed before dbt runs (one writer).
    """

    data_dir: str = ""

    def paths(self) -> DataPaths:
        if self.data_dir:
            return DataPaths(Path(self.data_dir).expanduser().resolve())
        return DataPaths.from_env()

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.paths().warehouse, read_only=read_only) as con:
            yield con


def build_resources() -> dict[str, object]:
    return {
        "warehouse": Warehouse(),
        # The dbt installed beside this Python, so it works without an activated virtualenv.
        "dbt": O211DbtCli(
            project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
        ),
    }
