"""The data directory's writer lock (`o211.locking`): one writer across processes, a bounded
wait with a message, a one-line refusal when the wait runs out, and a dead holder never blocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from o211.locking import (
    DataDirectoryBusy,
    busy_holder,
    lock_path,
    writer_lock,
)

HOLDER = """
import sys, time
from pathlib import Path
from o211.locking import writer_lock
with writer_lock(Path(sys.argv[1]), "o211 test-holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_in_child(root: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that takes the lock and keeps it for `seconds`."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_process_waits_for_the_holder_and_says_for_whom(tmp_path):
    child = hold_in_child(tmp_path, 1.5)
    try:
        assert busy_holder(tmp_path) is not None
        assert "o211 test-holder" in busy_holder(tmp_path)
        messages: list[str] = []
        started = time.monotonic()
        with writer_lock(tmp_path, "o211 second", wait_seconds=30, on_wait=messages.append):
            waited = time.monotonic() - started
            assert "o211 second" in lock_path(tmp_path).read_text()
        assert waited >= 0.5, "the lock was taken while the other process still held it"
        assert len(messages) == 1
        assert "waiting for o211 test-holder" in messages[0]
        assert f"pid {child.pid}" in messages[0]
    finally:
        child.wait(timeout=30)
    assert busy_holder(tmp_path) is None


def test_the_wait_is_bounded_with_a_one_line_refusal(tmp_path):
    child = hold_in_child(tmp_path, 30)
    try:
        with (
            pytest.raises(DataDirectoryBusy) as refused,
            writer_lock(tmp_path, "o211 second", wait_seconds=0.5, on_wait=None),
        ):
            pytest.fail("the lock was taken while another process held it")
        message = str(refused.value)
        assert "\n" not in message
        assert "o211 test-holder" in message and "O211_LOCK_WAIT_SECONDS" in message
    finally:
        child.kill()
        child.wait(timeout=30)


def test_a_killed_holder_gives_the_lock_back(tmp_path):
    child = hold_in_child(tmp_path, 60)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    with writer_lock(tmp_path, "o211 after", wait_seconds=5, on_wait=None):
        assert busy_holder(tmp_path) is None  # held by this thread: not someone else


def test_the_same_thread_takes_it_again_without_waiting_for_itself(tmp_path):
    with writer_lock(tmp_path, "o211 outer", wait_seconds=0, on_wait=None):
        with writer_lock(tmp_path, "o211 inner", wait_seconds=0, on_wait=None):
            pass
        # Leaving the inner block keeps the outer one's lock.
        child = subprocess.run(
            [sys.executable, "-c", HOLDER, str(tmp_path), "0"],
            env={**os.environ, "O211_LOCK_WAIT_SECONDS": "0.3"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert child.returncode != 0 and "DataDirectoryBusy" in child.stderr


def test_the_lock_file_is_the_owners_only(tmp_path):
    with writer_lock(tmp_path / "data", "o211 test", wait_seconds=0, on_wait=None):
        pass
    assert lock_path(tmp_path / "data").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
