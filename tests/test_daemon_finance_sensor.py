"""The finance inbox sensor, for real: `o211 serve` on loopback, a file dropped in the inbox,
the daemon's run followed through the Dagster GraphQL API, then the archive, the rejected folder
and the warehouse checked on disk.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.sensors import file_sha256, inbox_run_key
from orchestration.settings import DBT_PROJECT_DIR
from tests.live.server import TERMINAL_RUN_STATUSES, LiveDagster, RunEvent, shared_server

pytestmark = pytest.mark.slow

SENSOR = "inbox_finance"
# The sensor ticks every 15 s; a run then waits for the daemon to launch a worker that loads the
# code location, which on a loaded 2-core machine takes a minute or more.
RUN_SECONDS = 240.0
WAREHOUSE_LOCK_SECONDS = 60.0
UNKNOWN_FUNDING_SOURCE = "Lottery Winnings"


@pytest.fixture(scope="session")
def live_dagster(request, tmp_path_factory) -> LiveDagster:
    return shared_server(request, tmp_path_factory)


@dataclass(frozen=True)
class LedgerLine:
    period: date
    account: str
    description: str
    funding_source: str
    amount: Decimal


def funding_sources() -> list[str]:
    with (DBT_PROJECT_DIR / "seeds" / "funding_sources.csv").open(encoding="utf-8") as handle:
        return [row["funding_source"] for row in csv.DictReader(handle)]


def write_finance_csv(path: Path, lines: list[LedgerLine]) -> None:
    """A finance upload as finance staff save it: month as YYYY-MM, amounts with separators."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["period", "account", "description", "funding_source", "amount"])
        for line in lines:
            writer.writerow(
                [
                    line.period.strftime("%Y-%m"),
                    line.account,
                    line.description,
                    line.funding_source,
                    f"{line.amount:,}",
                ]
            )


def drop_in_inbox(server: LiveDagster, name: str, lines: list[LedgerLine]) -> Path:
    """Write the file beside the inbox, then move it in whole so the sensor never sees half."""
    inbox = server.paths.inbox("finance")
    inbox.mkdir(parents=True, exist_ok=True)
    staging = server.data_dir.parent / f"{name}.part"  # same file system: the move is atomic
    write_finance_csv(staging, lines)
    target = inbox / name
    staging.rename(target)
    return target


def wait_for_sensor_run(server: LiveDagster, file_name: str, content_sha256: str) -> dict[str, Any]:
    """The finished run the finance sensor launched for this file (found by its tags)."""

    def finished_run() -> dict[str, Any] | None:
        runs = server.runs({"dagster/sensor_name": SENSOR, "o211/file": file_name})
        done = [r for r in runs if r["status"] in TERMINAL_RUN_STATUSES]
        return done[0] if done else None

    def explain() -> str:
        runs = server.runs({"dagster/sensor_name": SENSOR})
        listed = "\n".join(
            f"  {r['runId']} {r['status']} tags={ {t['key']: t['value'] for t in r['tags']} }"
            for r in runs
        )
        inbox = sorted(p.name for p in server.paths.inbox("finance").iterdir())
        return (
            f"{server.describe_ticks(SENSOR)}\nRuns of {SENSOR}:\n{listed or '  (none)'}\n"
            f"inbox/finance now holds: {inbox}"
        )

    run = server.wait_for(
        f"the {SENSOR} sensor's run for {file_name} to finish",
        finished_run,
        RUN_SECONDS,
        explain,
    )
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags.get("dagster/run_key") == inbox_run_key("finance", content_sha256), (
        f"the run for {file_name} is not keyed by the file's content hash: {tags}"
    )
    return run


def log_text(events: list[RunEvent]) -> str:
    return "\n".join(f"  [{e.level}] {e.kind}: {e.message}" for e in events)


def require_success(server: LiveDagster, run: dict[str, Any], events: list[RunEvent]) -> None:
    if run["status"] != "SUCCESS":
        pytest.fail(
            server.failure(
                f"Run {run['runId']} ended {run['status']}, expected SUCCESS. Run log:\n"
                f"{log_text(events)}"
            )
        )


def rejection_check(events: list[RunEvent]) -> dict[str, Any]:
    checks = [e.check for e in events if e.check and e.check["checkName"] == "no_rejected_files"]
    assert len(checks) == 1, (
        f"expected one no_rejected_files evaluation, run log:\n{log_text(events)}"
    )
    return checks[0]


def finance_rows(server: LiveDagster, file_name: str) -> list[tuple[date, str, str, Decimal]]:
    """The raw.finance lines loaded from one file, read after the run let go of the warehouse.

    Only this test's runs write this data directory, and they have finished; the short retry
    covers a run worker that is still closing its connection as its status turns SUCCESS.
    """
    query = """
        select period, account, funding_source, amount
        from raw.finance where _source_file = ? order by account
    """
    deadline = time.monotonic() + WAREHOUSE_LOCK_SECONDS
    while True:
        try:
            with duckdb.connect(str(server.paths.warehouse), read_only=True) as con:
                return [tuple(row) for row in con.execute(query, [file_name]).fetchall()]
        except duckdb.IOException as error:
            if time.monotonic() >= deadline:
                pytest.fail(server.failure(f"The warehouse stayed locked: {error}"))
            time.sleep(1.0)


def test_finance_file_dropped_in_the_inbox_is_loaded_and_a_bad_one_rejected(
    live_dagster: LiveDagster,
) -> None:
    server = live_dagster
    server.ensure_sensor_running(SENSOR)
    known = funding_sources()
    assert "MCCSS" in known and UNKNOWN_FUNDING_SOURCE not in known

    # --- a good upload: loaded, archived unchanged, its amounts in raw.finance
    good = [
        LedgerLine(date(2025, 10, 1), "5100", "Salaires d'été", "MCCSS", Decimal("12345.67")),
        LedgerLine(date(2025, 10, 1), "5200", "Loyer", known[-1], Decimal("-89.0125")),
        LedgerLine(date(2025, 11, 1), "5300", "Téléphonie", known[0], Decimal("0.01")),
    ]
    good_name = "finance_2025-10_live.csv"
    good_path = drop_in_inbox(server, good_name, good)
    good_bytes, good_sha = good_path.read_bytes(), file_sha256(good_path)

    run = wait_for_sensor_run(server, good_name, good_sha)
    events = server.run_events(run["runId"])
    require_success(server, run, events)
    archived = [p for p in server.paths.archive("finance").iterdir() if p.name.endswith(good_name)]
    assert len(archived) == 1, f"archive/finance holds {archived}, expected {good_name} once"
    assert archived[0].read_bytes() == good_bytes, "the archived original differs from the upload"
    assert not good_path.exists(), "the accepted file is still in the inbox"
    assert finance_rows(server, good_name) == [
        (line.period, line.account, line.funding_source, line.amount) for line in good
    ]
    accepted = [e for e in events if good_name in e.message and "accepted" in e.message.lower()]
    assert accepted, (
        f"no run-log line tells finance staff {good_name} was accepted:\n{log_text(events)}"
    )
    assert rejection_check(events)["success"] is True

    # --- a bad upload: nothing loaded, the original and its reasons in rejected/, the reason
    # in the run log
    bad = [
        LedgerLine(date(2025, 12, 1), "5100", "Salaries", "MCCSS", Decimal("100.00")),
        LedgerLine(date(2025, 12, 1), "5400", "Raffle", UNKNOWN_FUNDING_SOURCE, Decimal("250")),
    ]
    bad_name = "finance_2025-12_live.csv"
    bad_path = drop_in_inbox(server, bad_name, bad)
    bad_bytes, bad_sha = bad_path.read_bytes(), file_sha256(bad_path)

    run = wait_for_sensor_run(server, bad_name, bad_sha)
    events = server.run_events(run["runId"])
    # A refused file is an expected outcome, not a crash: the run succeeds and says why.
    require_success(server, run, events)
    rejected = server.paths.rejected("finance") / bad_name
    assert rejected.read_bytes() == bad_bytes, "rejected/finance does not hold the original"
    errors_csv = Path(f"{rejected}.errors.csv")
    errors_txt = Path(f"{rejected}.errors.txt")
    assert errors_csv.is_file() and errors_txt.is_file(), (
        f"the reasons are not beside the rejected file: {sorted(rejected.parent.iterdir())}"
    )
    with errors_csv.open(encoding="utf-8-sig", newline="") as handle:
        problems = list(csv.DictReader(handle))
    assert any(UNKNOWN_FUNDING_SOURCE in row.values() for row in problems), problems
    assert UNKNOWN_FUNDING_SOURCE in errors_txt.read_text(encoding="utf-8")
    assert not bad_path.exists(), "the rejected file is still in the inbox"
    assert finance_rows(server, bad_name) == [], "rows of a rejected file reached raw.finance"

    reasons = [
        e.message
        for e in events
        if bad_name in e.message and "rejected" in e.message.lower() and e.level == "ERROR"
    ]
    assert reasons, (
        f"no ERROR line in the run log says {bad_name} was rejected:\n{log_text(events)}"
    )
    assert any("funding_source" in r or "funding source" in r for r in reasons), (
        f"the run log does not give the reason (an unknown funding source): {reasons}"
    )
    check = rejection_check(events)
    assert check["success"] is False and bad_name in (check["description"] or ""), check
