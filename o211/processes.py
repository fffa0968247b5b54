"""Leaving no process behind: what a command started ends before the command does.

A run started processes of its own that can outlive it: the multiprocessing resource tracker
(dbt's manifest makes a lock from the `spawn` context, which starts one), Dagster's compute-log
`tail -F` processes and their `watch_orphans.py` watchers, and dbt itself when the command is
stopped mid-build. A scheduler that waits for the process group, or a container that stops
when its main process exits, meets them. `stop_children` ends each of them before exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live process (Linux /proc; empty elsewhere)."""
    parents: dict[int, int] = {}
    if not PROC.is_dir():
        return parents
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The fields after the command name (which may hold spaces) start after the last ")".
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parents[int(entry.name)] = int(parent)
    return parents


def descendants(pid: int) -> list[int]:
    """Live children, grandchildren... of `pid`, parents before their children."""
    parents = _parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = sorted(p for p, parent in parents.items() if parent == current)
        found.extend(children)
        frontier.extend(children)
    return found


def _stop_resource_tracker() -> None:
    """End the resource tracker the way multiprocessing does at exit, but now.

    It ignores SIGTERM and SIGINT and leaves only when its pipe closes; first the finalizers that
    unlink this process's named semaphores run, so the tracker has nothing left to warn about.
    """
    from multiprocessing import resource_tracker, util

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    if tracker is None or getattr(tracker, "_pid", None) is None:
        return
    # The semaphores' unlink finalizers: multiprocessing's own exit step, private but stable
    # since Python 3.4, and the only way to run them before the tracker is stopped.
    util._run_finalizers(0)  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        tracker._stop()  # closes its pipe and waits for it


def _reap() -> None:
    """Collect the exit status of finished children so none is left a zombie."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_children(grace_seconds: float = 5.0) -> list[int]:
    """Terminate every descendant of this process (SIGTERM, then SIGKILL after the grace).

    Returns the pids that had to be stopped. Safe to call when there are none.
    """
    _stop_resource_tracker()
    stopped = descendants(os.getpid())
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    remaining = stopped
    while remaining and time.monotonic() < deadline:
        _reap()
        time.sleep(0.05)
        alive = set(_parents())
        remaining = [pid for pid in remaining if pid in alive]
    for pid in remaining:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace_seconds
    while remaining and time.monotonic() < deadline:
        _reap()
        alive = set(_parents())
        remaining = [pid for pid in remaining if pid in alive]
        time.sleep(0.02)
    return stopped
