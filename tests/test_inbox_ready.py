"""A file being written into the inbox is never loaded half-written (issue 14, item 3).

One rule (`ingest.filing.inbox_files`) says which inbox files are ready, for ingest and for the
inbox sensors: temporary names wait, and a file waits until its size and time have stayed the
same for the settle time. Tested with a real slow writer in another process while ingest runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb

from ingest.filing import STILL_WRITING_REASON, inbox_files
from ingest.pipeline import ingest_inbox
from o211.paths import DataPaths

KEY = b"inbox-ready-test-key"
HEADER = (
    "contact_id,segment_id,started_at,queued_at,answered_at,ended_at,caller_number,queue,"
    "disposition,language\n"
)
CALLS = 400

# Writes the calls file line by line with short pauses (a slow copy over a network share).
SLOW_WRITER = """
import sys, time
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w", encoding="utf-8", newline="") as out:
    out.write(sys.argv[3])
    out.flush()
    for i in range(rows):
        out.write(
            f"c{i},,2025-04-01T10:{i % 60:02d}:00-04:00,,2025-04-01T10:{i % 60:02d}:05-04:00,"
            f"2025-04-01T10:{i % 60:02d}:50-04:00,416555{i:04d},211_EN,Service,en\\n"
        )
        out.flush()
        time.sleep(0.01)
"""


def loaded_rows(paths: DataPaths) -> list[tuple[str, int]]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute("select file_name, rows from raw.load_log order by load_id").fetchall()


def test_temporary_names_wait_and_an_old_file_is_ready_at_once(tmp_path):
    for name in ("b.csv", "a.xlsx", ".hidden.csv", "~$a.xlsx", "c.csv.part", "d.tmp"):
        (tmp_path / name).write_text("x")
    (tmp_path / "folder").mkdir()
    old = time.time() - 60
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    started = time.monotonic()
    ready, waiting = inbox_files(tmp_path, settle_seconds=5)
    assert time.monotonic() - started < 2, "files unchanged for a minute need no second look"
    assert [p.name for p in ready] == ["a.xlsx", "b.csv"]
    assert [p.name for p in waiting] == [".hidden.csv", "c.csv.part", "d.tmp", "~$a.xlsx"]
    assert inbox_files(tmp_path / "missing") == ([], [])


def test_a_file_just_finished_is_ready_after_the_settle_time(tmp_path):
    (tmp_path / "a.csv").write_text("x")
    started = time.monotonic()
    ready, waiting = inbox_files(tmp_path, settle_seconds=0.5)
    assert [p.name for p in ready] == ["a.csv"] and waiting == []
    assert time.monotonic() - started >= 0.3  # it was looked at again before it counted


def test_a_file_written_slowly_while_ingest_runs_is_never_loaded_half_written(tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    target = paths.inbox("calls") / "calls_slow.csv"
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target), str(CALLS), HEADER])
    try:
        deadline = time.monotonic() + 30
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        attempts = []
        while writer.poll() is None:
            results = [r for r in ingest_inbox(paths, kinds=["calls"], pii_key=KEY)
                       if r.kind == "calls"]  # fmt: skip
            attempts.append([(r.file_name, r.status, r.reason) for r in results])
        assert writer.wait(timeout=60) == 0
    finally:
        writer.kill()
    during = [entry for attempt in attempts for entry in attempt]
    assert during, "ingest never ran while the file was being written"
    # While it grew, each look saw it still being written; nothing of it was loaded or moved.
    assert ("calls_slow.csv", "skipped", STILL_WRITING_REASON) in during
    assert all(status == "skipped" for _name, status, _reason in during[:-1])
    if not paths.warehouse.exists() or not loaded_rows(paths):
        results = ingest_inbox(paths, kinds=["calls"], pii_key=KEY)
        assert [(r.file_name, r.status) for r in results if r.kind == "calls"] == [
            ("calls_slow.csv", "accepted")
        ]
    # Loaded once, whole: every row the writer wrote.
    assert loaded_rows(paths) == [("calls_slow.csv", CALLS)]
    assert not target.exists()
