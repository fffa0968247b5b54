"""A load killed half-way leaves the warehouse as it was; the next run loads the file once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from ingest.pipeline import ACCEPTED, ingest_inbox
from o211.paths import REPO_ROOT, DataPaths
from tests.test_ingest_pipeline import GOOD, KEY, counts, drop

CHUNKS = 40
CHUNK_ROWS = 1_000
PAUSE_SECONDS = 0.25

# The child slows itself down (small chunks, a pause after each staged one) so that the kill
# lands in the middle of the file; the product has no such hook.
CHILD = f"""
import sys
import time
from pathlib import Path
from ingest import readers, staging
from ingest.pipeline import ingest_inbox
from o211.paths import DataPaths

readers.CHUNK_ROWS = {CHUNK_ROWS}
real_stage, real_stage_rows = staging.stage, staging.stage_rows


def slow_stage(*args):
    real_stage(*args)
    time.sleep({PAUSE_SECONDS})


def slow_stage_rows(*args):  # the SQL way (ingest.sql_reading) stages chunks of text rows
    real_stage_rows(*args)
    time.sleep({PAUSE_SECONDS})


staging.stage = slow_stage
staging.stage_rows = slow_stage_rows
print("ready", flush=True)
ingest_inbox(DataPaths(Path(sys.argv[1])), kinds=["calls"], pii_key=sys.argv[2].encode())
print("finished", flush=True)
"""


def big_calls_file(rows: int) -> str:
    lines = ["contact_id,segment_id,started_at,queued_at,answered_at,ended_at,caller_number,queue"]
    for n in range(rows):
        minute = n % 50
        lines.append(
            f"k{n},s1,2025-05-01T10:{minute:02d}:00-04:00,,,2025-05-01T10:{minute:02d}:30-04:00,"
            f"416555{n % 10_000:04d},211_EN"
        )
    return "\n".join(lines) + "\n"


def test_killed_mid_file_then_loaded_exactly_once(tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    drop(paths, "chats", *GOOD["chats"])
    ingest_inbox(paths, kinds=["chats"], pii_key=KEY)
    before = counts(paths)
    rows = CHUNK_ROWS * CHUNKS
    big = drop(paths, "calls", "calls_big.csv", big_calls_file(rows))

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(paths.root), KEY.decode()],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        # Loading takes CHUNKS * PAUSE_SECONDS (10 s); kill well inside it.
        time.sleep(3)
        assert child.poll() is None, "the load finished before it could be interrupted"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert "finished" not in child.stdout.read()

    assert big.exists()  # still waiting in the inbox
    assert counts(paths) == before  # nothing of the half-read file is visible

    (result,) = ingest_inbox(paths, kinds=["calls"], pii_key=KEY)
    assert result.status == ACCEPTED and result.rows == rows
    assert counts(paths)["calls"] == rows
    assert ingest_inbox(paths, kinds=["calls"], pii_key=KEY) == []
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        distinct = con.execute("select count(distinct contact_id) from raw.calls").fetchone()[0]
    assert distinct == rows
    assert not Path(big).exists()
