"""Loading the inbox into `raw.*`: the entry points the CLI, Dagster and the portal call.

The work is done by one module per job: `reading` (one pass over a file), `staging` (the
scratch table and the copy into `raw`), `loading` (one file, one transaction), `filing` (inbox
listing, archive names, moves, rejections), `blocklist` and `rebuild`. This module strings them
together per file and re-exports the names callers use.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest import contracts, filing, readers, sql_reading, warehouse
from ingest.blocklist import BLOCKLISTED_KINDS, guarded_blocklist, load_blocklist
from ingest.checking import check_file
from ingest.extracts import EXTRACTS
from ingest.loading import Placement, Settings, load, next_load, warehouse_failure
from ingest.pii_key import PiiKeyMismatch, guard_pii_key
from ingest.problems import ProblemLog
from ingest.reading import FINANCE_SHEET
from ingest.rebuild import RebuildError, archived_files, rebuild_from_archive
from ingest.results import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    SKIPPED,
    CheckResult,
    FileResult,
    unexpected,
)
from o211.full_disk import DiskFull, disk_full_line, is_disk_full, stop_when_full
from o211.kinds import KINDS
from o211.paths import DataPaths
from o211.warehouse import connect

__all__ = [
    "ACCEPTED",
    "BLOCKLISTED_KINDS",
    "DUPLICATE",
    "FINANCE_SHEET",
    "REJECTED",
    "SKIPPED",
    "CheckResult",
    "DiskFull",
    "FileResult",
    "PiiKeyMismatch",
    "RebuildError",
    "archived_files",
    "check_file",
    "ingest_inbox",
    "load_blocklist",
    "rebuild_from_archive",
]

log = logging.getLogger("o211.ingest")


def ingest_inbox(
    paths: DataPaths,
    kinds: Sequence[str] | None = None,
    progress: Callable[[FileResult], None] | None = None,
    pii_key: bytes | None = None,
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES,
    notice: Callable[[str], None] = log.warning,
) -> list[FileResult]:
    """Load every file waiting in `inbox/<kind>/` (name order per kind) into `raw.<kind>`.

    When calls or texts are selected, also replaces `raw.blocklist` from `config/blocklist.csv`
    if that file is present (its result has kind `blocklist`; an absent file leaves the table
    as it is). One bad file never stops the others: any error while reading, checking or
    loading a file rejects that file. Hidden and temporary files (`.`, `~$`) stay in the inbox
    and are reported as `skipped`. Dates outside `accepted_dates` reject their rows. Returns
    one FileResult per file, in processing order.

    A key other than the one the warehouse was loaded with raises PiiKeyMismatch before
    anything is written, moved or rejected (`ingest.pii_key`); `notice` hears what the
    operator should know besides the results (a fingerprint recorded for an older warehouse).
    """
    selected = list(KINDS if kinds is None else kinds)
    unknown = [kind for kind in selected if kind not in EXTRACTS]
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}; expected {', '.join(KINDS)}")
    paths.ensure()
    settings = Settings.resolve(paths, pii_key, accepted_dates)
    results: list[FileResult] = []

    def report(result: FileResult) -> None:
        results.append(result)
        if progress is not None:
            progress(result)

    # Opening the warehouse and setting it up write too; what was loaded before a full disk
    # stays loaded (one transaction a file), so the line speaks of the files not loaded.
    with (
        stop_when_full(paths.root, "the files not yet loaded stay in the inbox"),
        connect(paths.warehouse) as con,
    ):
        warehouse.ensure_raw_tables(con)
        con.execute(f"set checkpoint_threshold = '{INGEST_CHECKPOINT_THRESHOLD}'")
        # Before any write: a key mismatch is the warehouse's problem, never a file's to reject.
        guard_pii_key(con, settings.pii_key, notice)
        if paths.blocklist.is_file() and BLOCKLISTED_KINDS & set(selected):
            with stop_when_full(paths.root, "the blocklist was not updated and nothing was loaded"):
                report(guarded_blocklist(con, paths.blocklist, settings.pii_key))
        for kind in selected:
            to_load, waiting = filing.inbox_files(paths.inbox(kind))
            for path in waiting:
                report(FileResult(kind, path.name, SKIPPED, reason=filing.waiting_reason(path)))
            with _ReadAhead(kind, settings) as ahead:
                for path, read in ahead.each(to_load):
                    # The load of this file was undone (one transaction) and it was not moved.
                    stays = (
                        f"{kind} file {path.name} stays in the inbox, "
                        f"as do the {kind} files after it"
                    )
                    with stop_when_full(paths.root, stays):
                        report(_ingest_file(con, paths, path, kind, settings, read))
    return results


@dataclass
class _Read:
    """What was read of a file ahead of its turn: its byte scan and its SQL reading, or the
    error each raised (raised again where the file's own turn would have met it)."""

    scan: readers.ByteScan | Exception
    clean: sql_reading.CleanCsv | Exception | None = None

    def scanned(self) -> readers.ByteScan:
        if isinstance(self.scan, Exception):
            raise self.scan
        return self.scan

    def read_by_sql(self) -> sql_reading.CleanCsv | None:
        if isinstance(self.clean, Exception):
            raise self.clean
        return self.clean


# How much a load's commits may add to the write-ahead log before DuckDB folds it into the file.
# DuckDB's 16 MB made a scale-10 file's every commit a checkpoint (ingest 29-30 s); 128 MB
# checkpoints every few files (26.4-26.8 s), and peak memory stayed where it was. A commit is
# durable in the log either way, and a killed ingest's log is replayed at the next open.
INGEST_CHECKPOINT_THRESHOLD = "128MB"
# Files of a kind read ahead while the current one commits, each by a worker of its own: the
# commit and one reading left a core idle part of the time (scale 10: ingest 27.8-28.1 s with
# one file ahead, 26.4-26.8 s with two, for about 90 MB more at the peak).
READ_AHEAD_FILES = 2


class _ReadAhead:
    """Reads the next file of a kind (byte scan, SQL typing into memory) in a worker thread,
    while the current file commits: the two use both cores. Reading writes nothing, so a file
    read ahead and then found a duplicate, or a run stopped half-way, leaves no trace of it.

    The worker computes in a DuckDB of its own, in memory, never a connection to the warehouse:
    a query running there would keep the warehouse from checkpointing at a commit, and its
    write-ahead log (and memory) would grow until a later checkpoint could run.
    """

    def __init__(self, kind: str, settings: Settings) -> None:
        self.kind = kind
        self.settings = settings
        self.scratch = duckdb.connect()
        self.scratch.execute("set TimeZone = 'UTC'")  # as `o211.warehouse.connect` sets it
        self.pool = ThreadPoolExecutor(
            max_workers=READ_AHEAD_FILES, thread_name_prefix="o211-read-ahead"
        )
        # A DuckDB connection serves one thread at a time: each worker reads on a cursor of its own.
        self.cursors: list[duckdb.DuckDBPyConnection] = []
        self.worker = threading.local()

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        for cursor in self.cursors:
            cursor.close()
        self.scratch.close()

    def each(self, files: Sequence[Path]) -> Iterator[tuple[Path, Future[_Read]]]:
        """Each file with its reading, the next files' readings already under way."""
        pending = deque(self.read(path) for path in files[:READ_AHEAD_FILES])
        for number, path in enumerate(files):
            if number + READ_AHEAD_FILES < len(files):
                pending.append(self.read(files[number + READ_AHEAD_FILES]))
            yield path, pending.popleft()

    def read(self, path: Path) -> Future[_Read]:
        return self.pool.submit(self._read, path)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor: duckdb.DuckDBPyConnection | None = getattr(self.worker, "cursor", None)
        if cursor is None:
            cursor = self.worker.cursor = self.scratch.cursor()
            self.cursors.append(cursor)
        return cursor

    def _read(self, path: Path) -> _Read:
        try:
            scan = readers.scan_bytes(path)
        except Exception as error:
            return _Read(error)
        settings = self.settings
        try:
            clean = sql_reading.read_clean_csv(
                self._cursor(),
                path,
                self.kind,
                scan,
                settings.pii_key,
                settings.chunk_rows,
                settings.accepted_dates,
            )
        except Exception as error:
            return _Read(scan, error)
        return _Read(scan, clean)


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    path: Path,
    kind: str,
    settings: Settings,
    ahead: Future[_Read],
) -> FileResult:
    """Load, reject or settle one inbox file; an unexpected error before the commit rejects it.

    Whatever goes wrong with one file (a library raising on a strange value, a full disk) must
    end as that file's rejection, so that it leaves the inbox and never blocks the files after
    it; nothing of it is in the warehouse, as `load` commits only at its very end.
    """
    sha256 = ""
    try:
        read = ahead.result()
        scan = read.scanned()
        sha256 = scan.sha256
        known = con.execute(
            "select load_id, archive_path from raw.load_log where sha256 = ? "
            "order by load_id limit 1",
            [scan.sha256],
        ).fetchall()
        if known:
            return filing.settle_duplicate(paths, path, kind, scan, known[0])

        def place(con: duckdb.DuckDBPyConnection) -> Placement:
            load_id, loaded_at = next_load(con)
            archive_path = paths.archive(kind) / filing.archive_name(loaded_at, path.name)
            return Placement(load_id, loaded_at, archive_path)

        loaded = load(
            con,
            path,
            kind,
            scan,
            settings,
            file_name=path.name,
            data_root=paths.root,
            place=place,
            read_by_sql=read.read_by_sql,
        )
    except Exception as error:
        if warehouse_failure(error):
            raise  # not the file's doing (a full disk, a damaged warehouse): every file would fail
        log = ProblemLog()
        log.add(unexpected(error))
        return filing.rejected(paths, path, kind, log, sha256=sha256)
    reading = loaded.reading
    placement = loaded.placement
    if placement is None:
        return filing.rejected(
            paths,
            path,
            kind,
            reading.log,
            sha256=scan.sha256,
            rows=reading.rows,
            encoding=reading.encoding,
            extra_columns=reading.extra_columns,
        )
    reason = f"loaded {reading.rows} row(s)"
    try:
        filing.archive(path, placement.archive_path)
    except OSError as error:
        if is_disk_full(error):
            # Committed, so not undone: the next run finds its SHA-256 and finishes the move.
            consequence = (
                f"{kind} file {path.name} is loaded but could not be moved to archive/: it "
                f"stays in the inbox and the next run finishes its move; the {kind} files after "
                "it were not loaded"
            )
            raise DiskFull(disk_full_line(error, paths.archive(kind), consequence)) from error
        # The rows are committed: the next run finds the SHA-256 in the load log and finishes
        # the move (a "recovered" duplicate), so this is still an accepted file.
        reason += (
            f"; the move to the archive failed ({readers.plain_error(error)}), the next run "
            "finishes it"
        )
    return FileResult(
        kind=kind,
        file_name=path.name,
        status=ACCEPTED,
        rows=reading.rows,
        reason=reason,
        archive_path=placement.archive_path,
        sha256=scan.sha256,
        load_id=placement.load_id,
        encoding=reading.encoding,
        extra_columns=reading.extra_columns,
    )
