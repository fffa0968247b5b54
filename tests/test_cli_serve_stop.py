"""`o211 serve` stops as a whole: SIGTERM to the `o211` process (what a service manager or
`kill PID` sends) ends `dagster dev` with its webserver, daemon and code servers within seconds.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.live.server import start_server

pytestmark = pytest.mark.slow

STOP_WITHIN_SECONDS = 20.0


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended while we looked
        return None
    # Fields after the command name (which may hold spaces) in parentheses: state, ppid.
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> set[int]:
    """Every live process below `root` (children, grandchildren...), found through /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in found:
                found.add(child)
                queue.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_to_o211_serve_stops_webserver_daemon_and_code_servers(tmp_path):
    server = start_server(tmp_path)
    try:
        server.wait_until_ready()
        pid = server.process.pid
        family = descendants(pid)
        # dagster dev runs at least the webserver and the daemon under it.
        assert len(family) >= 2, server.failure(f"expected dagster dev's services, got {family}")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WITHIN_SECONDS
        while time.monotonic() < deadline:
            server.process.poll()
            left = {p for p in family | {pid} if alive(p)}
            if not left:
                break
            time.sleep(0.5)
        assert not left, server.failure(
            f"{STOP_WITHIN_SECONDS:.0f} s after SIGTERM to o211 ({pid}) these processes still "
            f"run: {sorted(left)}"
        )
        assert server.process.wait(timeout=5) is not None
    finally:
        server.stop()
