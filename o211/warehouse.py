"""Opening the DuckDB warehouse file: the one connection helper every layer shares."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from o211.locking import COMMAND_ENV, writer_lock


def lock_root(path: Path) -> Path:
    """The folder whose writer lock covers this DuckDB file: the data directory for
    `<data>/warehouse/<file>` (every file a rebuild writes there too), else the file's folder."""
    return path.parent.parent if path.parent.name == "warehouse" else path.parent


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, retry_seconds: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse briefly, holding the data directory's writer lock (`o211.locking`).

    Even a read-only connection in another process makes a running dbt build fail, so readers
    take their turn too; the lock is re-entrant, so an op that holds it opens freely. DuckDB's
    own lock is still retried for `retry_seconds` (a process that does not take the lock).
    """
    holder = f"{os.environ.get(COMMAND_ENV) or 'a process'} (warehouse connection)"
    with (
        writer_lock(lock_root(path), holder),
        _open(path, read_only=read_only, retry_seconds=retry_seconds) as con,
    ):
        yield con


@contextmanager
def _open(
    path: Path, *, read_only: bool, retry_seconds: float
) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        if not read_only:
            path.chmod(0o600)  # hashed identities and every figure: the owner's only (issue 14)
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()
