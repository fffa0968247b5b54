"""Loading the inbox into `raw.*`: the entry points the CLI and Dagster call.

One file is one transaction: its rows and its `raw.load_log` row commit together or not at all
(rows are first checked, hashed and staged chunk by chunk outside `raw`, so memory stays flat
however large the file; see `_load`). The file moves only after the commit (accepted ->
`archive/<kind>/`, read-only, under a name that starts with the UTC load time so that names
sort in load order; rejected -> `rejected/<kind>/` with `.errors.csv` and `.errors.txt`). If
the process dies after the commit but before the move, the next run finds the file's SHA-256 in
the load log and only finishes the move (reported as a duplicate, "recovered").

A duplicate (bytes already loaded) loads nothing and is moved to `archive/<kind>/` under the
load-time prefix with a `.duplicate` ending, so the inbox empties, nothing is deleted, and a
rebuild from the archive skips it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from ingest import contracts, identity, parsing, readers, warehouse
from ingest.contracts import EXTRACTS, FieldType
from ingest.problems import (
    Problem,
    ProblemLog,
    one_line_reason,
    summary_text,
    write_errors_csv,
)
from o211.kinds import KINDS
from o211.paths import DataPaths
from o211.warehouse import connect

# Test hook: seconds to sleep after each loaded chunk (chunks then hold 1,000 rows), so a test
# can kill the process in the middle of a file. Unset in normal use.
SLOW_FOR_TESTS_ENV = "O211_INGEST_SLOW_FOR_TESTS"
SLOW_CHUNK_ROWS = 1_000

ACCEPTED, REJECTED, DUPLICATE, SKIPPED = "accepted", "rejected", "duplicate", "skipped"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
_ARCHIVED_RE = re.compile(r"^(\d{8}T\d{12}Z)__(.+)$")
DUPLICATE_SUFFIX = ".duplicate"
FINANCE_SHEET = "Expenditures"
NO_ROWS_PROBLEM = "the file has a header row but no data rows"


@dataclass
class FileResult:
    """What happened to one file.

    status: `accepted` (loaded; `archive_path` set), `rejected` (nothing loaded; the original is
    at `rejected_path`, problems listed), `duplicate` (same bytes already loaded; nothing
    loaded). `reason` is one line for a table; `problems` are the detailed rows (a bounded list;
    `problem_count` is the exact total). The `config/blocklist.csv` result has kind `blocklist`
    and is never moved.
    """

    kind: str
    file_name: str
    status: str
    rows: int = 0
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    archive_path: Path | None = None
    rejected_path: Path | None = None
    sha256: str = ""
    load_id: int | None = None
    extra_columns: list[str] = field(default_factory=list)
    encoding: str | None = None

    @property
    def errors_txt(self) -> Path | None:
        """The plain-language summary beside a rejected file."""
        return None if self.rejected_path is None else Path(f"{self.rejected_path}.errors.txt")

    @property
    def errors_csv(self) -> Path | None:
        return None if self.rejected_path is None else Path(f"{self.rejected_path}.errors.csv")


@dataclass
class CheckResult:
    """A validation without loading: the same problems a rejection would give."""

    kind: str
    file_name: str
    rows: int
    problems: list[Problem]
    problem_count: int
    encoding: str | None
    extra_columns: list[str]
    summary: str

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    # A CheckResult also reads as its list of problems (empty = the file would load).
    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)


def _unreadable(error: Exception) -> Problem:
    return Problem(
        None,
        None,
        None,
        f"the file could not be read ({type(error).__name__}: {readers.plain_error(error)})",
        "export or save the file again; if it keeps failing, send it to the data team",
    )


def _unexpected(error: Exception) -> Problem:
    return Problem(
        None,
        None,
        None,
        "ingest stopped on this file with an unexpected error "
        f"({type(error).__name__}: {readers.plain_error(error)}); nothing of it was loaded",
        "send the file and this message to the data team",
    )


@dataclass
class _Reading:
    """The state of one pass over a file: typed chunks out, problems and facts collected."""

    path: Path
    kind: str
    scan: readers.ByteScan
    funding_sources: Sequence[str]
    chunk_rows: int
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES
    log: ProblemLog = field(default_factory=ProblemLog)
    rows: int = 0
    encoding: str | None = None
    extra_columns: list[str] = field(default_factory=list)

    def typed_chunks(self) -> Iterator[pd.DataFrame]:
        try:
            opened = self._open()
        except readers.FileRejected as rejection:
            self.log.extend(rejection.problems)
            return
        except Exception as error:  # a damaged file must not stop the files beside it
            self.log.add(_unreadable(error))
            return
        self.encoding = opened.encoding
        self.extra_columns = opened.header.extra_columns
        try:
            not_loaded = {f.name for f in EXTRACTS[self.kind].fields if f.column is None}
            for chunk in opened.chunks:
                # A formula in a column that is never loaded (description) is never copied.
                self.log.extend(p for p in chunk.problems if p.column not in not_loaded)
                frame, problems = contracts.type_chunk(
                    self.kind, chunk.frame, self.funding_sources, self.accepted_dates
                )
                seen = {(p.row, p.column) for p in chunk.problems}
                self.log.extend(p for p in problems if (p.row, p.column) not in seen)
                self.rows += len(frame)
                yield frame
        except readers.FileRejected as rejection:
            self.log.extend(rejection.problems)
            return
        except Exception as error:
            self.log.add(_unreadable(error))
            return
        if self.rows == 0 and not self.log:
            self.log.add(
                Problem(
                    None,
                    None,
                    None,
                    NO_ROWS_PROBLEM,
                    "export the period again; an extract with no rows is never loaded",
                )
            )

    def _open(self) -> readers.OpenedExtract:
        extract = EXTRACTS[self.kind]
        suffix = self.path.suffix.lower()
        if suffix not in extract.formats:
            raise readers.whole_file(
                f"a {self.kind} extract must be a {' or '.join(extract.formats)} file, "
                f"not {suffix or 'a file without extension'}",
                "export or save the data as "
                + (".xlsx or CSV" if self.kind == "finance" else "CSV UTF-8"),
            )
        if self.scan.size == 0:
            raise readers.whole_file(
                "the file is empty (0 bytes)", "export the data again; the upload may have failed"
            )
        if suffix == ".xlsx":
            return readers.open_workbook(
                self.path,
                self.scan,
                extract.known,
                extract.required,
                sheet_name=FINANCE_SHEET,
                chunk_rows=self.chunk_rows,
            )
        return readers.open_csv(
            self.path,
            self.scan,
            extract.known,
            extract.required,
            legacy_encoding_allowed=self.kind == "finance",
            title_rows_allowed=self.kind == "finance",
            chunk_rows=self.chunk_rows,
        )


def _funding_sources(kind: str) -> tuple[str, ...]:
    return contracts.load_funding_sources() if kind == "finance" else ()


def check_file(
    path: Path,
    kind: str,
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES,
) -> CheckResult:
    """Validate a file against its kind's contract without loading or moving it."""
    if kind not in EXTRACTS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path)
    reading = _Reading(
        path,
        kind,
        readers.scan_bytes(path),
        _funding_sources(kind),
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


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    pii_key: bytes
    chunk_rows: int
    pause_seconds: float
    accepted_dates: contracts.AcceptedDates

    @classmethod
    def resolve(
        cls, paths: DataPaths, pii_key: bytes | None, accepted_dates: contracts.AcceptedDates
    ) -> _Settings:
        pause = float(os.environ.get(SLOW_FOR_TESTS_ENV, "0") or 0)
        return cls(
            pii_key=pii_key if pii_key is not None else identity.resolve_pii_key(paths),
            chunk_rows=SLOW_CHUNK_ROWS if pause > 0 else readers.CHUNK_ROWS,
            pause_seconds=pause,
            accepted_dates=accepted_dates,
        )


def _select_list(kind: str) -> str:
    expressions = []
    for spec in EXTRACTS[kind].fields:
        column = spec.column
        if column is None:
            continue
        if spec.type in (FieldType.DATE, FieldType.WEB_DATE, FieldType.MONTH):
            expressions.append(f"cast({column} as date)")
        elif spec.type is FieldType.MONEY:
            expressions.append(f"cast({column} as decimal(18, 4))")
        else:
            expressions.append(column)
    return ", ".join(expressions)


def _hash_identities(kind: str, frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    for spec in EXTRACTS[kind].fields:
        if spec.type in contracts.IDENTITY_TYPES and spec.column:
            frame[spec.column] = identity.hash_identities(frame[spec.column], key)
    return frame


STAGING_SCHEMA = "ingest_staging"


def _staging_table(kind: str) -> str:
    return f"{STAGING_SCHEMA}.{kind}"


def _create_staging(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """An empty scratch table with the raw columns and the row number, outside `raw`.

    Chunks land here, each committed on its own, so that DuckDB can write them out instead of
    holding a whole file's rows in one open transaction: memory stays flat with file size.
    Nothing reads this schema; a copy left by a crash is replaced at the next load.
    """
    con.execute(f"create schema if not exists {STAGING_SCHEMA}")
    columns = ", ".join(EXTRACTS[kind].columns)
    con.execute(
        f"create or replace table {_staging_table(kind)} as "
        f"select {columns}, _source_row from raw.{kind} limit 0"
    )


def _drop_staging(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    con.execute(f"drop table if exists {_staging_table(kind)}")


def _stage(con: duckdb.DuckDBPyConnection, kind: str, frame: pd.DataFrame) -> None:
    """Append one typed, hashed chunk to the staging table (bulk, through a registered frame)."""
    extract = EXTRACTS[kind]
    money = [s.column for s in extract.fields if s.type is FieldType.MONEY and s.column]
    for column in money:
        frame[column] = frame[column].map(lambda amount: None if amount is None else str(amount))
    frame = frame.assign(_source_row=frame.index.to_numpy(dtype="int64"))
    con.register("ingest_chunk", frame)
    try:
        columns = ", ".join(extract.columns)
        con.execute(
            f"insert into {_staging_table(kind)} ({columns}, _source_row) "
            f"select {_select_list(kind)}, _source_row from ingest_chunk"
        )
    finally:
        con.unregister("ingest_chunk")


def _publish(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    load_id: int,
    file_name: str,
    sha256: str,
    loaded_at: datetime,
) -> None:
    """Copy the staged rows into `raw.<kind>` with the load's metadata (inside its transaction)."""
    columns = ", ".join(EXTRACTS[kind].columns)
    con.execute(
        f"insert into raw.{kind} ({columns}, _load_id, _source_file, _source_sha256, "
        f"_source_row, _loaded_at) select {columns}, ?, ?, ?, _source_row, ? "
        f"from {_staging_table(kind)}",
        [load_id, file_name, sha256, loaded_at],
    )


class _DateRange:
    """The local (America/Toronto) dates a file covers, folded chunk by chunk."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.column = EXTRACTS[kind].date_field
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None

    def add(self, frame: pd.DataFrame) -> None:
        values = frame[self.column].dropna()
        if values.empty:
            return
        low, high = values.min(), values.max()
        self.first = low if self.first is None else min(self.first, low)
        self.last = high if self.last is None else max(self.last, high)

    def dates(self) -> tuple[date | None, date | None]:
        if self.first is None or self.last is None:
            return None, None
        if self.first.tzinfo is not None:
            return (
                self.first.tz_convert(parsing.LOCAL_TIME_ZONE).date(),
                self.last.tz_convert(parsing.LOCAL_TIME_ZONE).date(),
            )
        last = self.last.date()
        if self.kind == "finance":  # a period is a whole month
            last = (self.last + pd.offsets.MonthEnd(0)).date()
        return self.first.date(), last


def _next_load(con: duckdb.DuckDBPyConnection) -> tuple[int, datetime]:
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
class _Placement:
    """Where a load goes in the load order: its id, its time, its archive name."""

    load_id: int
    loaded_at: datetime
    archive_path: Path


@dataclass
class _Loaded:
    reading: _Reading
    placement: _Placement | None  # None: the file was not accepted


def _load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    settings: _Settings,
    *,
    file_name: str,
    data_root: Path,
    place: Callable[[duckdb.DuckDBPyConnection], _Placement],
) -> _Loaded:
    """Read and check one file, then publish it to `raw` in one transaction, or not at all.

    Rows are staged chunk by chunk (`_create_staging`); the file's rows reach `raw.<kind>`
    together with its `raw.load_log` row in a single transaction, and `place` runs inside that
    transaction so the load id is taken and used atomically.
    """
    reading = _Reading(
        path, kind, scan, _funding_sources(kind), settings.chunk_rows, settings.accepted_dates
    )
    dates = _DateRange(kind)
    _create_staging(con, kind)
    try:
        for frame in reading.typed_chunks():
            if reading.log:
                continue  # keep reading to list every problem, but stage nothing more
            dates.add(frame)
            _stage(con, kind, _hash_identities(kind, frame, settings.pii_key))
            if settings.pause_seconds:
                time.sleep(settings.pause_seconds)
        if reading.log:
            return _Loaded(reading, None)
        first, last = dates.dates()
        con.begin()
        try:
            placement = place(con)
            _publish(con, kind, placement.load_id, file_name, scan.sha256, placement.loaded_at)
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
            con.rollback()
            raise
    finally:
        _drop_staging(con, kind)
    return _Loaded(reading, placement)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# A file name may be at most 255 bytes; the longest ending ingest adds is `.errors.csv` after a
# `.<n>` numbering, or a 26-character load-time prefix and `.duplicate` in the archive.
NAME_MAX_BYTES = 255
NAME_ROOM_BYTES = 48


def _storable_name(name: str) -> str:
    """`name`, or a shortened `name` that leaves room for every ending ingest adds.

    A shortened name keeps the start of the stem, a digest of the full name (two long names
    sharing a start stay apart) and the extension; the original name stays in the load log,
    the errors summary and the FileResult.
    """
    limit = NAME_MAX_BYTES - NAME_ROOM_BYTES
    if len(name.encode("utf-8", "surrogateescape")) <= limit:
        return name
    suffix = Path(name).suffix
    if len(suffix.encode("utf-8", "surrogateescape")) > 16:
        suffix = ""
    tag = "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    room = limit - len(tag.encode()) - len(suffix.encode("utf-8", "surrogateescape"))
    stem = name[: len(name) - len(suffix)] if suffix else name
    head = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return f"{head}{tag}{suffix}"


def _free_name(folder: Path, name: str) -> Path:
    """`name`, or `stem.2.ext`, `stem.3.ext`... : never overwrite what is already there."""
    name = _storable_name(name)
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while candidate.exists() or Path(f"{candidate}.errors.csv").exists():
        candidate = folder / f"{stem}.{number}{suffix}"
        number += 1
    return candidate


def _archive(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    os.chmod(target, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _reject(paths: DataPaths, path: Path, kind: str, log: ProblemLog) -> Path:
    folder = paths.rejected(kind)
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, path.name)
    summary = summary_text(path.name, kind, log, kept_as=target.name)
    # Reasons first: a reader who sees the rejected file also finds why beside it.
    write_errors_csv(Path(f"{target}.errors.csv"), log.listed)
    Path(f"{target}.errors.txt").write_text(summary, encoding="utf-8")
    os.replace(path, target)
    return target


def _archive_name(loaded_at: datetime, name: str) -> str:
    return f"{loaded_at.strftime(STAMP_FORMAT)}__{_storable_name(name)}"


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    path: Path,
    kind: str,
    settings: _Settings,
) -> FileResult:
    """Load, reject or settle one inbox file; an unexpected error before the commit rejects it.

    Whatever goes wrong with one file (a library raising on a strange value, a full disk) must
    end as that file's rejection, so that it leaves the inbox and never blocks the files after
    it; nothing of it is in the warehouse, as `_load` commits only at its very end.
    """
    sha256 = ""
    try:
        scan = readers.scan_bytes(path)
        sha256 = scan.sha256
        known = con.execute(
            "select load_id, archive_path from raw.load_log where sha256 = ? "
            "order by load_id limit 1",
            [scan.sha256],
        ).fetchall()
        if known:
            return _settle_duplicate(paths, path, kind, scan, known[0])

        def place(con: duckdb.DuckDBPyConnection) -> _Placement:
            load_id, loaded_at = _next_load(con)
            archive_path = paths.archive(kind) / _archive_name(loaded_at, path.name)
            return _Placement(load_id, loaded_at, archive_path)

        loaded = _load(
            con, path, kind, scan, settings, file_name=path.name, data_root=paths.root, place=place
        )
    except WAREHOUSE_FAILURES:
        raise  # the warehouse itself failed (disk full, damaged file): every file would fail
    except Exception as error:
        log = ProblemLog()
        log.add(_unexpected(error))
        return _rejected(paths, path, kind, log, sha256=sha256)
    reading = loaded.reading
    placement = loaded.placement
    if placement is None:
        return _rejected(
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
        _archive(path, placement.archive_path)
    except OSError as error:
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


# Errors of the warehouse, not of the file: rejecting file after file for them would empty the
# inbox of good files.
WAREHOUSE_FAILURES = (duckdb.IOException, duckdb.FatalException)


def _rejected(
    paths: DataPaths,
    path: Path,
    kind: str,
    log: ProblemLog,
    *,
    sha256: str,
    rows: int = 0,
    encoding: str | None = None,
    extra_columns: list[str] | None = None,
) -> FileResult:
    """Move the file to `rejected/<kind>/` with its errors files, and say so."""
    result = FileResult(
        kind=kind,
        file_name=path.name,
        status=REJECTED,
        rows=rows,
        reason=one_line_reason(log),
        problems=list(log.listed),
        problem_count=log.total,
        sha256=sha256,
        encoding=encoding,
        extra_columns=extra_columns or [],
    )
    try:
        result.rejected_path = _reject(paths, path, kind, log)
    except Exception as error:
        # The file cannot be moved (permissions, a full disk): it stays where it is, and the
        # result says so rather than stopping the files after it.
        result.reason += (
            f"; it could not be moved to rejected/{kind}/ ({readers.plain_error(error)}) and "
            "stays in the inbox"
        )
    return result


def _settle_duplicate(
    paths: DataPaths,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    known: tuple[int, str | None],
) -> FileResult:
    load_id, recorded_archive = known
    # The load log keeps the archive path relative to the data directory (movable).
    recorded = paths.root / recorded_archive if recorded_archive else None
    if recorded is not None and recorded.parent == paths.archive(kind) and not recorded.exists():
        # The load committed but the process stopped before the move: finish it now.
        _archive(path, recorded)
        reason = f"already loaded (load {load_id}); the interrupted move to the archive is done"
        target = recorded
    else:
        stamp = datetime.now(UTC)
        target = paths.archive(kind) / (_archive_name(stamp, path.name) + DUPLICATE_SUFFIX)
        _archive(path, target)
        reason = f"same bytes as load {load_id}; nothing loaded again"
    return FileResult(
        kind=kind,
        file_name=path.name,
        status=DUPLICATE,
        reason=reason,
        archive_path=target,
        sha256=scan.sha256,
        load_id=load_id,
    )


WAITING_PREFIXES = (".", "~$")
SKIPPED_REASON = (
    "hidden or temporary file (name starts with '.' or '~$': a partial upload or an editor's "
    "lock file), not loaded; it stays in the inbox"
)


def _inbox_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(files to load, files that wait) in an inbox, each in name order.

    Hidden files and Excel lock files (`~$...`) wait untouched: a partial upload or an open
    workbook must not be loaded or moved.
    """
    if not folder.is_dir():
        return [], []
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.name)
    waiting = [p for p in files if p.name.startswith(WAITING_PREFIXES)]
    return [p for p in files if not p.name.startswith(WAITING_PREFIXES)], waiting


# --- blocklist ---------------------------------------------------------------------------------

# The blocklist only matters to the kinds whose rules use it (rules.md: calls, texts).
BLOCKLISTED_KINDS = frozenset({"calls", "texts"})
BLOCKLIST_NOT_A_NUMBER = "is not a phone number (fewer than 7 digits, or a withheld-caller word)"


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
            raise readers.whole_file("the file is empty", "put the header `number` on line 1")
        encoding = opened.encoding
        for chunk in opened.chunks:
            numbers += chunk.frame["number"].tolist()
            rows += chunk.frame.index.tolist()
    except readers.FileRejected as rejection:
        log.extend(rejection.problems)
    text = pd.Series(numbers, index=rows, dtype=contracts.TEXT)
    normalised = identity.normalise_phones(text)
    for row, value in text[normalised.isna()].items():
        log.add(Problem(int(row), "number", value, BLOCKLIST_NOT_A_NUMBER, "remove or correct it"))
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
        con.rollback()
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


def _guarded_blocklist(con: duckdb.DuckDBPyConnection, path: Path, key: bytes) -> FileResult:
    """`load_blocklist`, where an unexpected error leaves the list as it was and is reported."""
    try:
        return load_blocklist(con, path, key)
    except WAREHOUSE_FAILURES:
        raise
    except Exception as error:
        problem = _unexpected(error)
        return FileResult(
            kind="blocklist",
            file_name=path.name,
            status=REJECTED,
            reason="blocklist not updated: " + problem.problem,
            problems=[problem],
            problem_count=1,
        )


# --- entry points ------------------------------------------------------------------------------


def ingest_inbox(
    paths: DataPaths,
    kinds: Sequence[str] | None = None,
    progress: Callable[[FileResult], None] | None = None,
    pii_key: bytes | None = None,
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES,
) -> list[FileResult]:
    """Load every file waiting in `inbox/<kind>/` (name order per kind) into `raw.<kind>`.

    When calls or texts are selected, also replaces `raw.blocklist` from `config/blocklist.csv`
    if that file is present (its result has kind `blocklist`; an absent file leaves the table
    as it is). One bad file never stops the others: any error while reading, checking or
    loading a file rejects that file. Hidden and temporary files (`.`, `~$`) stay in the inbox
    and are reported as `skipped`. Dates outside `accepted_dates` reject their rows. Returns
    one FileResult per file, in processing order.
    """
    selected = list(KINDS if kinds is None else kinds)
    unknown = [kind for kind in selected if kind not in EXTRACTS]
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}; expected {', '.join(KINDS)}")
    paths.ensure()
    settings = _Settings.resolve(paths, pii_key, accepted_dates)
    results: list[FileResult] = []

    def report(result: FileResult) -> None:
        results.append(result)
        if progress is not None:
            progress(result)

    with connect(paths.warehouse) as con:
        warehouse.ensure_raw_tables(con)
        if paths.blocklist.is_file() and BLOCKLISTED_KINDS & set(selected):
            report(_guarded_blocklist(con, paths.blocklist, settings.pii_key))
        for kind in selected:
            to_load, waiting = _inbox_files(paths.inbox(kind))
            for path in waiting:
                report(FileResult(kind, path.name, SKIPPED, reason=SKIPPED_REASON))
            for path in to_load:
                report(_ingest_file(con, paths, path, kind, settings))
    return results


@dataclass(frozen=True)
class _Archived:
    path: Path
    kind: str
    loaded_at: datetime
    original_name: str


def archived_files(paths: DataPaths) -> list[_Archived]:
    """Every accepted original in the archive, in load order (duplicates left out)."""
    found: list[_Archived] = []
    for kind in KINDS:
        folder = paths.archive(kind)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = _ARCHIVED_RE.match(path.name)
            if not path.is_file() or match is None or path.name.endswith(DUPLICATE_SUFFIX):
                continue
            loaded_at = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
            found.append(_Archived(path, kind, loaded_at, match.group(2)))
    return sorted(found, key=lambda a: (a.loaded_at, a.kind, a.original_name))


class RebuildError(RuntimeError):
    """An archived file no longer loads; the existing warehouse was kept."""


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
    """
    paths.ensure()
    settings = _Settings.resolve(paths, pii_key, accepted_dates)
    fresh = paths.warehouse.with_name(paths.warehouse.stem + ".rebuild.duckdb")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)  # a half-written rebuild of our own, never user data
    results: list[FileResult] = []
    failed: list[FileResult] = []
    with connect(fresh) as con:
        warehouse.ensure_raw_tables(con)
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
        error.results = results  # type: ignore[attr-defined]
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
    archived: _Archived,
    load_id: int,
    settings: _Settings,
    data_root: Path,
) -> FileResult:
    scan = readers.scan_bytes(archived.path)
    loaded = _load(
        con,
        archived.path,
        archived.kind,
        scan,
        settings,
        file_name=archived.original_name,
        data_root=data_root,
        place=lambda _: _Placement(load_id, archived.loaded_at, archived.path),
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
