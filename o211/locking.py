"""One writer at a time on a data directory, across processes and Dagster instances.

The Dagster pool `duckdb_warehouse` only serialises the runs of one Dagster instance, and DuckDB
refuses a second writing process with an error in the middle of its work. An exclusive `flock`
on `<data directory>/.o211.lock`, taken by every op that opens the warehouse and by every
command that writes outside Dagster (backup, restore), makes the next writer wait its turn. The
kernel drops the lock when its holder dies (kill -9, power cut), so a dead holder never blocks.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from o211.full_disk import is_disk_full

LOCK_NAME = ".o211.lock"
WAIT_ENV = "O211_LOCK_WAIT_SECONDS"
# Set by the o211 command line to its own name ("o211 run"), for the waiting message.
COMMAND_ENV = "O211_COMMAND"
# A scale-1 year builds in about a minute; a nightly run over several years takes longer.
DEFAULT_WAIT_SECONDS = 1800.0
POLL_SECONDS = 0.2

# Locks this thread already holds (lock file -> depth): an op inside a command that holds the
# lock must not wait for itself, since a second flock on a new descriptor would block.
_held = threading.local()


class DataDirectoryBusy(RuntimeError):
    """Another process kept the data directory's writer lock for longer than we would wait."""


def lock_path(root: Path) -> Path:
    return root / LOCK_NAME


def wait_seconds_from_env() -> float:
    configured = os.environ.get(WAIT_ENV, "").strip()
    return float(configured) if configured else DEFAULT_WAIT_SECONDS


def _depths() -> dict[Path, int]:
    if not hasattr(_held, "depths"):
        _held.depths = {}
    return _held.depths


def _describe_holder(path: Path) -> str:
    """What the holder wrote into the lock file when it took the lock."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another o211 command"
    return text or "another o211 command"


def _open(path: Path) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def busy_holder(root: Path) -> str | None:
    """Who holds the writer lock right now, or None when it is free (nothing is taken)."""
    path = lock_path(root)
    if not path.exists() or _depths().get(path):
        return None
    descriptor = _open(path)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe_holder(path)
    finally:
        os.close(descriptor)  # closing also gives back a lock this probe happened to take
    return None


def waiting_message(holder: str, wait_seconds: float) -> str:
    return (
        f"waiting for {holder} to finish writing to the data directory "
        f"(at most {wait_seconds:.0f} s)"
    )


def print_waiting(message: str) -> None:
    print(f"o211: {message}", file=sys.stderr, flush=True)


@contextmanager
def writer_lock(
    root: Path,
    purpose: str,
    *,
    wait_seconds: float | None = None,
    on_wait: Callable[[str], None] | None = print_waiting,
) -> Iterator[None]:
    """Hold the data directory's writer lock; wait at most `wait_seconds` for it.

    `purpose` (e.g. "o211 run") is written into the lock file so that whoever waits can say for
    what. Raises `DataDirectoryBusy` with a one-line message when the wait runs out.
    """
    path = lock_path(root)
    depths = _depths()
    if depths.get(path):
        depths[path] += 1
        try:
            yield
        finally:
            depths[path] -= 1
        return
    limit = wait_seconds_from_env() if wait_seconds is None else wait_seconds
    descriptor = _open(path)
    try:
        deadline = time.monotonic() + limit
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _describe_holder(path)
                if time.monotonic() >= deadline:
                    raise DataDirectoryBusy(
                        f"{holder} is writing to the data directory {root}; waited "
                        f"{limit:.0f} s (set {WAIT_ENV} to wait longer). Try again when it "
                        "has finished"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(waiting_message(holder, limit))
                    told = True
                time.sleep(POLL_SECONDS)
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(descriptor, 0)
        try:
            os.pwrite(descriptor, f"{purpose} (pid {os.getpid()}, since {since})\n".encode(), 0)
        except OSError as error:
            # The name is for whoever waits; the flock is the lock. On a full disk it cannot be
            # written, and the command must still run far enough to say the disk is full.
            if not is_disk_full(error):
                raise
        depths[path] = 1
        try:
            yield
        finally:
            del depths[path]
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # closing the descriptor releases the flock
