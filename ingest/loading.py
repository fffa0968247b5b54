"""One file, one transaction: its rows and its `raw.load_log` row commit together or not at all.

Rows are first checked, hashed and staged chunk by chunk outside `raw` (`ingest.staging`): by
DuckDB in SQL when it can vouch for every row of a CSV (`ingest.sql_reading`), else through
pandas chunks, whose problems make the rejection. The copy into `raw.<kind>` and the load-log
row then commit in one transaction, with the load id taken inside it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ingest import contracts, identity, readers, sql_reading, staging
from ingest.reading import Reading, funding_sources_for
from o211.full_disk import is_disk_full
from o211.paths import DataPaths

# Errors of the warehouse, not of the file: rejecting file after file for them would empty the
# inbox of good files.
WAREHOUSE_FAILURES = (duckdb.IOException, duckdb.FatalException)


def warehouse_failure(error: BaseException) -> bool:
    """The warehouse or its disk failed (a damaged file, no room left), not the file loaded:
    every file after it would fail the same way, so the ingest stops instead of rejecting."""
    return isinstance(error, WAREHOUSE_FAILURES) or is_disk_full(error)


@dataclass(frozen=True)
class Settings:
    """What every load of one run shares: the identity key, the chunk size, the accepted dates."""

    pii_key: bytes
    chunk_rows: int
    accepted_dates: contracts.AcceptedDates

    @classmethod
    def resolve(
        cls, paths: DataPaths, pii_key: bytes | None, accepted_dates: contracts.AcceptedDates
    ) -> Settings:
        return cls(
            pii_key=pii_key if pii_key is not None else identity.resolve_pii_key(paths),
            chunk_rows=readers.CHUNK_ROWS,
            accepted_dates=accepted_dates,
        )


def next_load(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime]:
    """The next load id and a load time later than every earlier one (names sort in load order)."""
    # fetchall, not fetchone: DuckDB 2 refuses new statements while a result is unfinished.
    ((load_id, last),) = con.execute(
        "select coalesce(max(load_id), 0) + 1, max(loaded_at) from raw.load_log"
    ).fetchall()
    now = datetime.now(UTC)
    if last is not None and now <= last:
        now = last.astimezone(UTC) + timedelta(microseconds=1)
    return int(load_id), now


@dataclass(frozen=True)
class Placement:
    """Where a load goes in the load order: its id, its time, its archive name."""

    load_id: int
    loaded_at: datetime
    archive_path: Path


@dataclass
class Loaded:
    reading: Reading
    placement: Placement | None  # None: the file was not accepted


def load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    settings: Settings,
    *,
    file_name: str,
    data_root: Path,
    place: Callable[[duckdb.DuckDBPyConnection], Placement],
    read_by_sql: Callable[[], sql_reading.CleanCsv | None] | None = None,
) -> Loaded:
    """Read and check one file, then publish it to `raw` in one transaction, or not at all.

    Rows are staged chunk by chunk; the file's rows reach `raw.<kind>` together with its
    `raw.load_log` row in a single transaction, and `place` runs inside that transaction so the
    load id is taken and used atomically. `read_by_sql`: the file's SQL reading
    (`sql_reading.read_clean_csv`), when the caller had it made ahead.
    """
    dates = staging.DateRange(kind)
    with _staging_dropped(con, kind):
        clean = (
            read_by_sql()
            if read_by_sql is not None
            else sql_reading.read_clean_csv(
                con,
                path,
                kind,
                scan,
                settings.pii_key,
                settings.chunk_rows,
                settings.accepted_dates,
            )
        )
        if clean is not None:
            reading = _read_by_sql(clean, path, kind, scan, settings, dates)
        else:
            reading = _staged_by_chunks(con, path, kind, scan, settings, dates)
        if reading.log:
            return Loaded(reading, None)
        first, last = dates.dates()
        con.begin()
        try:
            placement = place(con)
            staging.publish(
                con,
                kind,
                placement.load_id,
                file_name,
                scan.sha256,
                placement.loaded_at,
                rows=None if clean is None else clean.rows,
            )
            con.execute(
                "insert into raw.load_log (load_id, kind, file_name, sha256, rows, loaded_at, "
                "encoding, extra_columns, archive_path, first_date, last_date) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    placement.load_id,
                    kind,
                    file_name,
                    scan.sha256,
                    reading.rows,
                    placement.loaded_at,
                    reading.encoding,
                    ", ".join(reading.extra_columns),
                    _relative(placement.archive_path, data_root),
                    first,
                    last,
                ],
            )
            con.commit()
        except BaseException:
            roll_back(con)
            raise
    return Loaded(reading, placement)


@contextmanager
def _staging_dropped(con: duckdb.DuckDBPyConnection, kind: str) -> Iterator[None]:
    """Drop the kind's scratch table (made by a load read in chunks) when the load ends."""
    try:
        yield
    except BaseException:
        # Dropping writes too, and on a full disk it fails as well: the error that stopped the
        # load is the one to tell (a copy left behind is replaced at the next load).
        with contextlib.suppress(duckdb.Error):
            staging.drop_staging(con, kind)
        raise
    staging.drop_staging(con, kind)


def roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction, if the failure left one open.

    A commit that fails (no room for the write-ahead log on a full disk) has already ended the
    transaction and undone it; rolling back again raises "no transaction is active", which
    would hide why the load failed and make a good file look like a bad one.
    """
    with contextlib.suppress(duckdb.TransactionException):
        con.rollback()


def _read_by_sql(
    staged: sql_reading.CleanCsv,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    settings: Settings,
    dates: staging.DateRange,
) -> Reading:
    """The reading of a file DuckDB staged, every row vouched for (`ingest.sql_reading`)."""
    if staged.first is not None and staged.last is not None:
        dates.add_range(staged.first, staged.last)
    reading = Reading(path, kind, scan, (), settings.chunk_rows, settings.accepted_dates)
    reading.rows = staged.rows.num_rows
    reading.encoding = staged.encoding
    reading.extra_columns = staged.extra_columns
    return reading


def _staged_by_chunks(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    settings: Settings,
    dates: staging.DateRange,
) -> Reading:
    """Every other file: pandas chunks, typed and checked, hashed, staged; problems listed."""
    reading = Reading(
        path, kind, scan, funding_sources_for(kind), settings.chunk_rows, settings.accepted_dates
    )
    staging.create_staging(con, kind)
    for frame in reading.typed_chunks():
        if reading.log:
            continue  # keep reading to list every problem, but stage nothing more
        dates.add(frame)
        staging.stage(con, kind, staging.hash_identities(kind, frame, settings.pii_key))
    return reading


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
