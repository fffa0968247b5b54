"""Opening the DuckDB warehouse file: the one connection helper every layer shares."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def connect(
    path: Path, *, read_only: bool = False, retry_seconds: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse briefly; retry while another process holds the write lock.

    DuckDB allows one writing process; readers wait for it rather than fail (stack notes).
    """
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
