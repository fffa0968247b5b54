"""`config/blocklist.csv` -> `raw.blocklist`: the hashed numbers the call and text rules skip."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ingest import identity, readers
from ingest.extracts import TEXT
from ingest.loading import roll_back, warehouse_failure
from ingest.problems import Problem, ProblemLog, one_line_reason
from ingest.results import ACCEPTED, REJECTED, FileResult, unexpected

# The blocklist only matters to the kinds whose rules use it (rules.md: calls, texts).
BLOCKLISTED_KINDS = frozenset({"calls", "texts"})


def load_blocklist(con: duckdb.DuckDBPyConnection, path: Path, key: bytes) -> FileResult:
    """Replace `raw.blocklist` with the hashed numbers of `config/blocklist.csv`.

    A bad blocklist changes nothing (the previous list stays) and is reported; the file stays.
    """
    scan = readers.scan_bytes(path)
    log = ProblemLog()
    numbers: list[str] = []
    rows: list[int] = []
    encoding: str | None = None
    try:
        opened = readers.open_csv(path, scan, ["number"], ["number"]) if scan.size else None
        if opened is None:
            raise readers.whole_file("blocklist.empty")
        encoding = opened.encoding
        for chunk in opened.chunks:
            numbers += chunk.frame["number"].tolist()
            rows += chunk.frame.index.tolist()
    except readers.FileRejected as rejection:
        log.extend(rejection.problems)
    text = pd.Series(numbers, index=rows, dtype=TEXT)
    normalised = identity.normalise_phones(text)
    for row, value in text[normalised.isna()].items():
        log.add(Problem(int(row), "number", value, "blocklist.not_a_number"))
    if log:
        return FileResult(
            kind="blocklist",
            file_name=path.name,
            status=REJECTED,
            reason="blocklist not updated: " + one_line_reason(log),
            problems=list(log.listed),
            problem_count=log.total,
            sha256=scan.sha256,
            encoding=encoding,
        )
    hashes = pd.DataFrame(
        {"number_hash": identity.hash_identities(normalised, key).drop_duplicates()}
    )
    con.begin()
    try:
        con.execute("delete from raw.blocklist")
        con.register("blocklist_chunk", hashes)
        con.execute("insert into raw.blocklist select number_hash from blocklist_chunk")
        con.unregister("blocklist_chunk")
        con.commit()
    except BaseException:
        roll_back(con)
        raise
    return FileResult(
        kind="blocklist",
        file_name=path.name,
        status=ACCEPTED,
        rows=len(hashes),
        reason=f"blocklist replaced: {len(hashes)} number(s)",
        sha256=scan.sha256,
        encoding=encoding,
    )


def guarded_blocklist(con: duckdb.DuckDBPyConnection, path: Path, key: bytes) -> FileResult:
    """`load_blocklist`, where an unexpected error leaves the list as it was and is reported."""
    try:
        return load_blocklist(con, path, key)
    except Exception as error:
        if warehouse_failure(error):
            raise  # not the list's doing: the ingest stops and says so
        problem = unexpected(error)
        return FileResult(
            kind="blocklist",
            file_name=path.name,
            status=REJECTED,
            reason="blocklist not updated: " + problem.problem,
            problems=[problem],
            problem_count=1,
        )
