"""Checking a file against its kind's contract without loading it (`o211 check`, the portal).

Kept apart from the loading entry points so that checking never imports DuckDB: the portal
checks uploads and must not be able to reach the warehouse.
"""

from __future__ import annotations

from pathlib import Path

from ingest import contracts, readers
from ingest.extracts import EXTRACTS
from ingest.problems import summary_text
from ingest.reading import Reading, funding_sources_for
from ingest.results import CheckResult
from o211.kinds import KINDS


def check_file(
    path: Path,
    kind: str,
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES,
) -> CheckResult:
    """Validate a file against its kind's contract without loading or moving it."""
    if kind not in EXTRACTS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path)
    reading = Reading(
        path,
        kind,
        readers.scan_bytes(path),
        funding_sources_for(kind),
        readers.CHUNK_ROWS,
        accepted_dates,
    )
    for _ in reading.typed_chunks():
        pass
    return CheckResult(
        kind=kind,
        file_name=path.name,
        rows=reading.rows,
        problems=list(reading.log.listed),
        problem_count=reading.log.total,
        encoding=reading.encoding,
        extra_columns=reading.extra_columns,
        summary=summary_text(path.name, kind, reading.log, rejected=False) if reading.log else "",
    )
