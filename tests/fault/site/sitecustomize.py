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
"""

import os
import time

_PUBLISH = os.environ.get("O211_FAULT_PAUSE_BEFORE_PUBLISH", "")
_ARCHIVE = os.environ.get("O211_FAULT_PAUSE_BEFORE_ARCHIVE", "")
_ARCHIVE_NAME = os.environ.get("O211_FAULT_ARCHIVE_NAME", "")
_REACHED = os.environ.get("O211_FAULT_REACHED", "")


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
