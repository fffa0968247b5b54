"""Fault injection for the kill tests, loaded only by child processes whose PYTHONPATH holds
this folder (never by the product or the test process itself).

Two pauses widen a window that a crash must survive until a test can kill the process inside
it, instead of hoping to hit a few microseconds; `O211_FAULT_REACHED=<path>` names a file
written when a pause begins, so the test knows the moment exactly.

- `O211_FAULT_PAUSE_BEFORE_PUBLISH=<seconds>`: after the fsync of a report temp file
  (`outbox/.../.tmp-*`): complete on disk, not yet under its version name (report.md). With
  `O211_FAULT_PUBLISH_SUFFIX=.xlsx|.csv|.json`, only at the temp file of the workbook, the CSV
  or the manifest.
- `O211_FAULT_PAUSE_BEFORE_ARCHIVE=<seconds>` with `O211_FAULT_ARCHIVE_NAME=<file name>` or
  `O211_FAULT_ARCHIVE_KIND=<kind>` (its first file): before that inbox file moves to
  `archive/`, i.e. after its load committed (operations.md: re-running loads the file once). The
  marker's second line names the file.
- `O211_FAULT_PAUSE_IN_FILE=<seconds>` with `O211_FAULT_IN_FILE_KIND=<kind>`: after the first
  chunk of that kind's first file is staged (`ingest.staging.stage`, or `stage_rows` for a CSV
  DuckDB reads itself), before its commit.

And one slow-down, so a kill lands in the middle of a file rather than between files:

- `O211_FAULT_SLOW_INGEST=<seconds>`: ingest reads chunks of `SLOW_CHUNK_ROWS` rows and sleeps
  that long after staging each one (`ingest.staging.stage` or `stage_rows`), patched in once the
  module loads.
"""

import importlib.abc
import importlib.machinery
import os
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType

_PUBLISH = os.environ.get("O211_FAULT_PAUSE_BEFORE_PUBLISH", "")
_ARCHIVE = os.environ.get("O211_FAULT_PAUSE_BEFORE_ARCHIVE", "")
_PUBLISH_SUFFIX = os.environ.get("O211_FAULT_PUBLISH_SUFFIX", "")
_ARCHIVE_NAME = os.environ.get("O211_FAULT_ARCHIVE_NAME", "")
_ARCHIVE_KIND = os.environ.get("O211_FAULT_ARCHIVE_KIND", "")
_IN_FILE = os.environ.get("O211_FAULT_PAUSE_IN_FILE", "")
_IN_FILE_KIND = os.environ.get("O211_FAULT_IN_FILE_KIND", "")
_REACHED = os.environ.get("O211_FAULT_REACHED", "")
_SLOW_INGEST = os.environ.get("O211_FAULT_SLOW_INGEST", "")
SLOW_CHUNK_ROWS = 1_000


def _pause(seconds: str, detail: str = "") -> None:
    if _REACHED:
        with open(_REACHED, "w") as marker:
            marker.write(f"{os.getpid()}\n{detail}")
    time.sleep(float(seconds))


if _PUBLISH:
    _real_fsync = os.fsync

    def _fsync_then_pause(descriptor: int) -> None:
        _real_fsync(descriptor)
        try:
            name = os.readlink(f"/proc/self/fd/{descriptor}")
        except (OSError, TypeError):
            return
        base = os.path.basename(name)
        in_outbox = f"{os.sep}outbox{os.sep}" in name
        if in_outbox and base.startswith(".tmp-") and base.endswith(_PUBLISH_SUFFIX):
            _pause(_PUBLISH, name)

    os.fsync = _fsync_then_pause

if _ARCHIVE and (_ARCHIVE_NAME or _ARCHIVE_KIND):
    _real_replace = os.replace
    _archive_paused: list[str] = []

    def _aimed_at(source: str, destination: str) -> bool:
        if _archive_paused or f"{os.sep}inbox{os.sep}" not in source:
            return False
        if _ARCHIVE_NAME:
            return os.path.basename(source) == _ARCHIVE_NAME and (
                f"{os.sep}archive{os.sep}" in destination
            )
        return f"{os.sep}archive{os.sep}{_ARCHIVE_KIND}{os.sep}" in destination

    def _pause_then_replace(source, destination, **kwargs):  # type: ignore[no-untyped-def]
        if _aimed_at(os.fspath(source), os.fspath(destination)):
            _archive_paused.append(os.fspath(source))
            _pause(_ARCHIVE, os.fspath(source))
        return _real_replace(source, destination, **kwargs)

    os.replace = _pause_then_replace


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `patch` on a module right after it is first imported (the import stays lazy, so
    processes that never load it, dbt's for one, pay nothing)."""

    def __init__(self, name: str, patch: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.patch = patch

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                self._wrap(spec.loader)
                return spec
        return None

    def _wrap(self, loader: importlib.abc.Loader) -> None:
        real_exec = loader.exec_module

        def exec_then_patch(module: ModuleType) -> None:
            real_exec(module)
            self.patch(module)

        loader.exec_module = exec_then_patch  # type: ignore[method-assign]


def _slow_readers(readers: ModuleType) -> None:
    readers.CHUNK_ROWS = SLOW_CHUNK_ROWS


# Both ways of staging a chunk: typed pandas frames (`stage`) and, for the CSVs DuckDB reads
# itself (`ingest.sql_reading`), chunks of text rows typed in SQL (`stage_rows`).
_STAGING_FUNCTIONS = ("stage", "stage_rows")


def _slow_staging(staging: ModuleType) -> None:
    def sleeping(real_stage: Callable[..., None]) -> Callable[..., None]:
        def stage_then_sleep(*args, **kwargs):  # type: ignore[no-untyped-def]
            real_stage(*args, **kwargs)
            time.sleep(float(_SLOW_INGEST))

        return stage_then_sleep

    for name in _STAGING_FUNCTIONS:
        setattr(staging, name, sleeping(getattr(staging, name)))


def _pause_in_file(staging: ModuleType) -> None:
    paused: list[bool] = []

    def pausing(real_stage: Callable[..., None]) -> Callable[..., None]:
        def stage_then_pause(con, kind, *args, **kwargs):  # type: ignore[no-untyped-def]
            real_stage(con, kind, *args, **kwargs)
            if kind == _IN_FILE_KIND and not paused:
                paused.append(True)
                _pause(_IN_FILE, kind)

        return stage_then_pause

    for name in _STAGING_FUNCTIONS:
        setattr(staging, name, pausing(getattr(staging, name)))


if _IN_FILE and _IN_FILE_KIND:
    sys.meta_path.insert(0, _AfterImport("ingest.staging", _pause_in_file))

if _SLOW_INGEST:
    sys.meta_path.insert(0, _AfterImport("ingest.readers", _slow_readers))
    sys.meta_path.insert(0, _AfterImport("ingest.staging", _slow_staging))


# --- The portal: a pause at the commit of one of its SQLite transactions ---------------------
#
# - `O211_FAULT_PORTAL_PAUSE=<seconds>` with `O211_FAULT_PORTAL_TABLE=<table>` and
#   `O211_FAULT_PORTAL_WHEN=before-commit|after-commit`: in the first transaction of
#   `portal.db.Database.connect` that inserts into that table (`finance_uploads` for an upload,
#   `report_decisions` for an approval, `report_deliveries` for a sending), once its block has
#   done all its work but before the commit, or right after the commit (before whatever the
#   request does next). The marker's second line is `<table> <when>`.
#
# Self-contained (its own names and helpers) so it stays apart from the pipeline's pauses above.
# The statements are seen through sqlite3's trace callback, so the product code runs unchanged.

_PORTAL_PAUSE = os.environ.get("O211_FAULT_PORTAL_PAUSE", "")
_PORTAL_TABLE = os.environ.get("O211_FAULT_PORTAL_TABLE", "")
_PORTAL_WHEN = os.environ.get("O211_FAULT_PORTAL_WHEN", "")


def _pause_portal_commit(db: ModuleType) -> None:
    import contextlib
    import re
    import threading

    real_connect = db.Database.connect
    inserts = re.compile(rf"\binsert\s+(?:or\s+\w+\s+)?into\s+{re.escape(_PORTAL_TABLE)}\b", re.I)
    # Requests run in worker threads: the first one to get there pauses, and only it.
    once = threading.Lock()
    paused: list[bool] = []

    @contextlib.contextmanager
    def connect(self):  # type: ignore[no-untyped-def]
        touched: list[bool] = []

        def seen(statement: str) -> None:
            if inserts.search(statement):
                touched.append(True)

        def due() -> bool:
            with once:
                if touched and not paused:
                    paused.append(True)
                    return True
                return False

        with real_connect(self) as con:
            con.set_trace_callback(seen)
            yield con
            con.set_trace_callback(None)
            if _PORTAL_WHEN == "before-commit" and due():
                _pause(_PORTAL_PAUSE, f"{_PORTAL_TABLE} {_PORTAL_WHEN}")
        if _PORTAL_WHEN == "after-commit" and due():
            _pause(_PORTAL_PAUSE, f"{_PORTAL_TABLE} {_PORTAL_WHEN}")

    db.Database.connect = connect


if _PORTAL_PAUSE and _PORTAL_TABLE and _PORTAL_WHEN:
    sys.meta_path.insert(0, _AfterImport("portal.db", _pause_portal_commit))


# --- A full disk: ENOSPC from the writes under some folders of the data directory --------------
#
# - `O211_FAULT_DISK_FULL=<folder>[,<folder>...]`, folders of `$O211_DATA_DIR` (`outbox`,
#   `archive`, `rejected`): the disk under them has `O211_FAULT_DISK_FULL_ROOM=<bytes>` (default
#   0) of room left. A write past it writes what fits and fails with ENOSPC, as a real disk does
#   (so a half-written file is left for the product to clean up); once the room is used up,
#   renaming or linking a file into them fails with ENOSPC too. With
#   `O211_FAULT_DISK_FULL_AT=fsync` the writes succeed and the fsync past the room fails instead
#   (delayed allocation, as ext4, XFS and NFS report a full disk).
# - `warehouse` among the folders: DuckDB writes in C++, out of Python's reach, so the commit of
#   every file's load fails as DuckDB's does when it finds no room for its write-ahead log: the
#   transaction is ended and undone, and a TransactionException quotes "No space left on device".
#
# Self-contained (its own names; only `_AfterImport` comes from above). Python's own file writes
# are seen by opening the files through a FileIO that counts bytes (`open`, `Path.open`,
# `os.fdopen` all go through `io.open`).

_FULL_FOLDERS = [f for f in os.environ.get("O211_FAULT_DISK_FULL", "").split(",") if f]
_FULL_ROOM = int(os.environ.get("O211_FAULT_DISK_FULL_ROOM", "") or 0)
_FULL_AT_FSYNC = os.environ.get("O211_FAULT_DISK_FULL_AT", "") == "fsync"


def _note_full(name: object) -> None:
    """Append the file a full disk refused to `O211_FAULT_REACHED` (the test sees where)."""
    import contextlib

    if isinstance(name, int):
        with contextlib.suppress(OSError):
            name = os.readlink(f"/proc/self/fd/{name}")
    if _REACHED:
        with open(_REACHED, "a") as marker:
            marker.write(f"{os.fsdecode(name)}\n")  # type: ignore[arg-type]


def _install_full_disk() -> None:
    import builtins
    import errno
    import io

    data = os.path.realpath(os.environ.get("O211_DATA_DIR", "data"))
    roots = tuple(os.path.join(data, folder) + os.sep for folder in _FULL_FOLDERS)
    used = [0]

    def full(name: object) -> OSError:
        _note_full(name)
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def on_full_disk(name: object) -> bool:
        try:
            if isinstance(name, int):
                name = os.readlink(f"/proc/self/fd/{name}")
            path = os.path.realpath(os.fsdecode(name))  # type: ignore[arg-type]
        except (OSError, TypeError):
            return False
        return path.startswith(roots)

    class FullDiskFile(io.FileIO):
        def write(self, data):  # type: ignore[no-untyped-def]
            size = memoryview(data).nbytes
            room = max(0, _FULL_ROOM - used[0])
            if _FULL_AT_FSYNC or size <= room:
                written = super().write(data)
                used[0] += written or 0
                return written
            if room:
                used[0] += super().write(memoryview(data).cast("B")[:room]) or 0
            raise full(self.name)

    real_open = io.open

    def open_on_full_disk(file, mode="r", buffering=-1, encoding=None, errors=None,  # type: ignore[no-untyped-def]
                          newline=None, closefd=True, opener=None):  # fmt: skip
        if not set(mode) & set("wax+") or not on_full_disk(file):
            return real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
        raw = FullDiskFile(file, "".join(c for c in mode if c in "rwxa+"), closefd, opener)
        if buffering == 0:
            return raw
        buffered = (io.BufferedRandom if "+" in mode else io.BufferedWriter)(raw)
        if "b" in mode:
            return buffered
        text = io.TextIOWrapper(buffered, encoding, errors, newline, line_buffering=buffering == 1)
        text.mode = mode
        return text

    io.open = builtins.open = open_on_full_disk

    def naming(real):  # type: ignore[no-untyped-def]
        def name_on_full_disk(source, destination, **kwargs):  # type: ignore[no-untyped-def]
            if used[0] >= _FULL_ROOM and on_full_disk(destination):
                _note_full(destination)
                raise OSError(
                    errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(source),
                    None, os.fspath(destination),
                )  # fmt: skip
            return real(source, destination, **kwargs)

        return name_on_full_disk

    os.replace, os.rename, os.link = naming(os.replace), naming(os.rename), naming(os.link)

    real_fsync = os.fsync

    def fsync_on_full_disk(descriptor):  # type: ignore[no-untyped-def]
        if _FULL_AT_FSYNC and used[0] > _FULL_ROOM and on_full_disk(descriptor):
            raise full(descriptor)
        return real_fsync(descriptor)

    os.fsync = fsync_on_full_disk


def _full_warehouse(staging: ModuleType) -> None:
    real_publish = staging.publish
    data = os.path.realpath(os.environ.get("O211_DATA_DIR", "data"))
    log = os.path.join(data, "warehouse", "o211.duckdb.wal")

    def publish_then_fail(con, *args, **kwargs):  # type: ignore[no-untyped-def]
        import duckdb

        real_publish(con, *args, **kwargs)
        _note_full(log)
        con.rollback()  # a failed commit leaves no transaction open
        raise duckdb.TransactionException(
            f'TransactionContext Error: Failed to commit: Could not write file "{log}": '
            "No space left on device"
        )

    staging.publish = publish_then_fail


if set(_FULL_FOLDERS) - {"warehouse"}:
    _install_full_disk()
if "warehouse" in _FULL_FOLDERS:
    sys.meta_path.insert(0, _AfterImport("ingest.staging", _full_warehouse))
