"""Whether an ingest would change nothing: no file waits and the blocklist is already loaded.

`o211 run` then skips its ingest run (seconds of Dagster start-up for an empty inbox, issue 11).
An ingest with an empty inbox does one thing only: it replaces `raw.blocklist` from
`config/blocklist.csv`. So the check hashes that file exactly as ingest would (the same
function, into a scratch in-memory database) and compares the numbers with the warehouse's.
Any doubt answers False, and the ingest runs as always.
"""

from __future__ import annotations

import duckdb

from o211.paths import DataPaths
from o211.warehouse import connect


def inbox_is_empty(paths: DataPaths) -> bool:
    """No file at all under `inbox/` (hidden and temporary files count: ingest reports them)."""
    inbox = paths.root / "inbox"
    return not inbox.exists() or not any(p.is_file() for p in inbox.rglob("*"))


def blocklist_is_loaded(paths: DataPaths) -> bool:
    """`raw.blocklist` holds exactly what loading `config/blocklist.csv` now would put there."""
    from ingest.blocklist import load_blocklist
    from ingest.identity import resolve_pii_key
    from ingest.results import ACCEPTED

    if not paths.blocklist.is_file():
        return True  # ingest leaves the table as it is without the file
    with duckdb.connect() as scratch:
        scratch.execute("create schema raw")
        scratch.execute("create table raw.blocklist (number_hash varchar not null)")
        if load_blocklist(scratch, paths.blocklist, resolve_pii_key(paths)).status != ACCEPTED:
            return False  # a bad blocklist: let ingest report it
        wanted = scratch.execute("select number_hash from raw.blocklist order by 1").fetchall()
    with connect(paths.warehouse, read_only=True, retry_seconds=0) as con:
        held = con.execute("select number_hash from raw.blocklist order by 1").fetchall()
    return wanted == held


def nothing_to_ingest(paths: DataPaths) -> bool:
    if not paths.warehouse.is_file() or not inbox_is_empty(paths):
        return False
    try:
        return blocklist_is_loaded(paths)
    except Exception:  # a held warehouse, an unreadable file: ingest will say what is wrong
        return False
