"""Recreating the raw tables from `archive/` alone, in the original load order."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest import contracts, readers, warehouse
from ingest.blocklist import load_blocklist
from ingest.filing import ARCHIVED_RE, DUPLICATE_SUFFIX, STAMP_FORMAT
from ingest.loading import Placement, Settings, load
from ingest.pii_key import REBUILD, record_key
from ingest.problems import one_line_reason
from ingest.results import ACCEPTED, REJECTED, FileResult
from o211.kinds import KINDS
from o211.paths import DataPaths
from o211.warehouse import connect


@dataclass(frozen=True)
class Archived:
    path: Path
    kind: str
    loaded_at: datetime
    original_name: str


def archived_files(paths: DataPaths) -> list[Archived]:
    """Every accepted original in the archive, in load order (duplicates left out)."""
    found: list[Archived] = []
    for kind in KINDS:
        folder = paths.archive(kind)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = ARCHIVED_RE.match(path.name)
            if not path.is_file() or match is None or path.name.endswith(DUPLICATE_SUFFIX):
                continue
            loaded_at = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
            found.append(Archived(path, kind, loaded_at, match.group(2)))
    return sorted(found, key=lambda a: (a.loaded_at, a.kind, a.original_name))


class RebuildError(RuntimeError):
    """An archived file no longer loads; the existing warehouse was kept."""

    results: list[FileResult]


def rebuild_from_archive(
    paths: DataPaths,
    progress: Callable[[FileResult], None] | None = None,
    pii_key: bytes | None = None,
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES,
) -> list[FileResult]:
    """Recreate the raw tables from `archive/` alone, in the original load order.

    The new warehouse is written beside the current one and swapped in atomically only when
    every archived file loads again; otherwise the current warehouse stays and RebuildError is
    raised (the results so far are in its `results` attribute). Everything but the raw schema
    (dbt's models) must be rebuilt afterwards. Load ids and load times come out as before.

    Every identity is hashed again with the current key, whose fingerprint the new warehouse
    records: with a new key this is how the key is rotated (`ingest.pii_key`).
    """
    paths.ensure()
    settings = Settings.resolve(paths, pii_key, accepted_dates)
    fresh = paths.warehouse.with_name(paths.warehouse.stem + ".rebuild.duckdb")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)  # a half-written rebuild of our own, never user data
    results: list[FileResult] = []
    failed: list[FileResult] = []
    with connect(fresh) as con:
        warehouse.ensure_raw_tables(con)
        # In the new file, so the key and the hashes it made are swapped in together.
        record_key(con, settings.pii_key, REBUILD)
        if paths.blocklist.is_file():
            results.append(load_blocklist(con, paths.blocklist, settings.pii_key))
        for load_id, archived in enumerate(archived_files(paths), start=1):
            result = _reload(con, archived, load_id, settings, paths.root)
            results.append(result)
            if result.status != ACCEPTED:
                failed.append(result)
            if progress is not None:
                progress(result)
        con.execute("checkpoint")
    if failed:
        error = RebuildError(
            f"{len(failed)} archived file(s) no longer load (first: {failed[0].file_name}: "
            f"{failed[0].reason}); the warehouse was not replaced"
        )
        error.results = results
        raise error
    old_wal = Path(f"{paths.warehouse}.wal")
    if old_wal.exists():
        # A write-ahead log of the old file must never be replayed onto the new one.
        with contextlib.suppress(OSError):
            os.replace(old_wal, Path(f"{old_wal}.before-rebuild"))
    os.replace(fresh, paths.warehouse)
    return results


def _reload(
    con: duckdb.DuckDBPyConnection,
    archived: Archived,
    load_id: int,
    settings: Settings,
    data_root: Path,
) -> FileResult:
    scan = readers.scan_bytes(archived.path)
    loaded = load(
        con,
        archived.path,
        archived.kind,
        scan,
        settings,
        file_name=archived.original_name,
        data_root=data_root,
        place=lambda _: Placement(load_id, archived.loaded_at, archived.path),
    )
    reading = loaded.reading
    ok = loaded.placement is not None
    return FileResult(
        kind=archived.kind,
        file_name=archived.original_name,
        status=ACCEPTED if ok else REJECTED,
        rows=reading.rows,
        reason=f"reloaded {reading.rows} row(s)" if ok else one_line_reason(reading.log),
        problems=list(reading.log.listed),
        problem_count=reading.log.total,
        archive_path=archived.path,
        sha256=scan.sha256,
        load_id=load_id if ok else None,
        extra_columns=reading.extra_columns,
        encoding=reading.encoding,
    )
