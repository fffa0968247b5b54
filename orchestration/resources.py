"""Resources: the data directory with its DuckDB warehouse, and the dbt command line."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from o211.locking import COMMAND_ENV, print_waiting, writer_lock
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
    def one_writer(self, step: str, log: Any = None) -> Iterator[None]:
        """Hold the data directory's writer lock for a whole step (`o211.locking`): the pool
        serialises this instance's runs only; the lock serialises every process and instance,
        and covers the archive and outbox moves around the warehouse work too."""

        def waiting(message: str) -> None:
            print_waiting(message)
            if log is not None:
                log.warning(message)

        # The o211 command that started this run, or the Dagster run (daemon, UI) by name.
        holder = os.environ.get(COMMAND_ENV) or "a Dagster run"
        with writer_lock(self.paths().root, f"{holder}, step {step}", on_wait=waiting):
            yield

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        # Even a read-only connection makes a writing dbt in another process fail: take turns.
        with (
            self.one_writer("warehouse read"),
            connect(self.paths().warehouse, read_only=read_only) as con,
        ):
            yield con


def build_resources() -> dict[str, object]:
    return {
        "warehouse": Warehouse(),
        # The dbt installed beside this Python, so it works without an activated virtualenv.
        # DbtCliResource.__init__ takes a DbtProject (profiles and state from it); the subclass's
        # generated signature only shows the field's declared type, str.
        "dbt": O211DbtCli(
            project_dir=dbt_project,  # type: ignore[arg-type]
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
