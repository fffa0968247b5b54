"""`o211 run` skips its ingest only when an ingest would change nothing (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.blocklist import load_blocklist
from ingest.identity import resolve_pii_key
from ingest.warehouse import ensure_raw_tables
from o211.paths import DataPaths
from o211.warehouse import connect
from orchestration import runner
from orchestration.quiet_inbox import nothing_to_ingest


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    monkeypatch.setenv("O211_PII_KEY", "quiet-inbox-test-key")
    data = DataPaths(tmp_path / "data").ensure()
    data.blocklist.parent.mkdir(parents=True, exist_ok=True)
    data.blocklist.write_text("number\n416-555-0101\n1 (905) 555-0199\n", encoding="utf-8")
    with connect(data.warehouse) as con:
        ensure_raw_tables(con)
        load_blocklist(con, data.blocklist, resolve_pii_key(data))
    return data


def test_an_empty_inbox_with_the_blocklist_loaded_needs_no_ingest(paths):
    assert nothing_to_ingest(paths)


@pytest.mark.parametrize("name", ["calls_2025-04-01.csv", ".partial_upload.csv", "~$ledger.xlsx"])
def test_any_file_in_the_inbox_needs_an_ingest(paths, name):
    (paths.inbox("calls") / name).write_text("x", encoding="utf-8")
    assert not nothing_to_ingest(paths)


def test_an_edited_blocklist_needs_an_ingest(paths):
    paths.blocklist.write_text("number\n416-555-0101\n", encoding="utf-8")
    assert not nothing_to_ingest(paths)


def test_a_bad_blocklist_needs_an_ingest_to_report_it(paths):
    paths.blocklist.write_text("number\nanonymous\n", encoding="utf-8")
    assert not nothing_to_ingest(paths)


def test_another_key_needs_an_ingest(paths, monkeypatch):
    monkeypatch.setenv("O211_PII_KEY", "another key")
    assert not nothing_to_ingest(paths)


def test_no_warehouse_needs_an_ingest(paths):
    paths.warehouse.unlink()
    assert not nothing_to_ingest(paths)


def test_runner_ingest_starts_no_run_when_nothing_waits(paths, monkeypatch):
    jobs: list[str] = []
    monkeypatch.setattr(runner, "execute", lambda job, **_: jobs.append(job))
    assert runner.ingest(paths) == []
    assert jobs == []
    (paths.inbox("texts") / "texts_2025-04-01.csv").write_text("x", encoding="utf-8")
    with pytest.raises(AttributeError):  # the fake run has no events: it was started
        runner.ingest(paths)
    assert jobs == ["ingest"]
