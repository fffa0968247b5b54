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
