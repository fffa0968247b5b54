"""Fault injection for the kill tests, loaded only by child processes whose PYTHONPATH holds
this folder (never by the product or the test process itself).

Two pauses widen a window that a crash must survive until a test can kill the process inside
it, instead of hoping to hit a few microseconds; `O211_FAULT_REACHED=<path>` names a file
written when a pause begins, so the test knows the moment exactly.

- `O211_FAULT_PAUSE_BEFORE_PUBLISH=<seconds>`: after the fsync of a report temp file
  (`outbox/.../.tmp-*`): complete on disk, not yet under its version name (report.md).
- `O211_FAULT_PAUSE_BEFORE_ARCHIVE=<seconds>` with `O211_FAULT_ARCHIVE_NAME=<file name>`:
  before that inbox file moves to `archive/`, i.e. after its load committed (operations.md:
  re-running loads the file once).

And one slow-down, so a kill lands in the middle of a file rather than between files:

- `O211_FAULT_SLOW_INGEST=<seconds>`: ingest reads chunks of `SLOW_CHUNK_ROWS` rows and sleeps
  that long after staging each one (`ingest.staging.stage`), patched in once the module loads.
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
_ARCHIVE_NAME = os.environ.get("O211_FAULT_ARCHIVE_NAME", "")
_REACHED = os.environ.get("O211_FAULT_REACHED", "")
_SLOW_INGEST = os.environ.get("O211_FAULT_SLOW_INGEST", "")
SLOW_CHUNK_ROWS = 1_000


def _pause(seconds: str) -> None:
    if _REACHED:
        with open(_REACHED, "w") as marker:
            marker.write(str(os.getpid()))
    time.sleep(float(seconds))


if _PUBLISH:
    _real_fsync = os.fsync

    def _fsync_then_pause(descriptor: int) -> None:
        _real_fsync(descriptor)
        try:
            name = os.readlink(f"/proc/self/fd/{descriptor}")
        except (OSError, TypeError):
            return
        if f"{os.sep}outbox{os.sep}" in name and os.path.basename(name).startswith(".tmp-"):
            _pause(_PUBLISH)

    os.fsync = _fsync_then_pause

if _ARCHIVE and _ARCHIVE_NAME:
    _real_replace = os.replace

    def _pause_then_replace(source, destination, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(
            os.fspath(source)
        ) == _ARCHIVE_NAME and f"{os.sep}archive{os.sep}" in os.fspath(destination):
            _pause(_ARCHIVE)
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


def _slow_staging(staging: ModuleType) -> None:
    real_stage = staging.stage

    def stage_then_sleep(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_stage(*args, **kwargs)
        time.sleep(float(_SLOW_INGEST))

    staging.stage = stage_then_sleep


if _SLOW_INGEST:
    sys.meta_path.insert(0, _AfterImport("ingest.readers", _slow_readers))
    sys.meta_path.insert(0, _AfterImport("ingest.staging", _slow_staging))
