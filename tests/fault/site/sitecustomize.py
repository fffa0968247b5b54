"""Fault injection for the kill tests, loaded only by child processes whose PYTHONPATH holds
this folder (never by the product or the test process itself).

With `O211_FAULT_PAUSE_BEFORE_PUBLISH=<seconds>` set, every fsync of a report temp file
(`outbox/.../.tmp-*`) is followed by a pause, so the temp file is complete on disk but not yet
published under its version name: the window a crash must survive (report.md, atomic writes) is
then wide enough for a test to kill the process inside it instead of hoping to.
"""

import os
import time

_PAUSE = os.environ.get("O211_FAULT_PAUSE_BEFORE_PUBLISH", "")

if _PAUSE:
    _real_fsync = os.fsync

    def _fsync_then_pause(descriptor: int) -> None:
        _real_fsync(descriptor)
        try:
            name = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            return
        if f"{os.sep}outbox{os.sep}" in name and os.path.basename(name).startswith(".tmp-"):
            time.sleep(float(_PAUSE))

    os.fsync = _fsync_then_pause
