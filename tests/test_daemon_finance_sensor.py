"""The finance inbox sensor, for real: `o211 serve` on loopback, a file dropped in the inbox,
the daemon's run followed through the Dagster GraphQL API, then the archive, the rejected folder
and the warehouse checked on disk.
"""

from __future__ import annotations

import csv
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.sensors import file_sha256
from tests.live.finance import (
    SENSOR,
    UNKNOWN_FUNDING_SOURCE,
    LedgerLine,
    drop_in_inbox,
    funding_sources,
    log_text,
    rejection_check,
    require_success,
    wait_for_sensor_run,
)
from tests.live.server import LiveDagster, shared_server

pytestmark = pytest.mark.slow

WAREHOUSE_LOCK_SECONDS = 60.0


@pytest.fixture(scope="session")
def live_dagster(request, tmp_path_factory) -> LiveDagster:
    return shared_server(request, tmp_path_factory)


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
    run_log = f"\nRun log:\n{log_text(events)}"
    archived = [p for p in server.paths.archive("finance").iterdir() if p.name.endswith(good_name)]
    assert len(archived) == 1, (
        f"archive/finance holds {archived}, expected {good_name} once{run_log}"
    )
    assert archived[0].read_bytes() == good_bytes, "the archived original differs from the upload"
    assert not good_path.exists(), f"the accepted file is still in the inbox{run_log}"
    loaded = finance_rows(server, good_name)
    assert loaded == [
        (line.period, line.account, line.funding_source, line.amount) for line in good
    ], f"raw.finance holds {loaded} from {good_name}{run_log}"
    accepted = [e for e in events if good_name in e.message and "accepted" in e.message.lower()]
    assert accepted, f"no run-log line tells finance staff {good_name} was accepted{run_log}"
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
    run_log = f"\nRun log:\n{log_text(events)}"
    rejected = server.paths.rejected("finance") / bad_name
    assert rejected.is_file(), f"{bad_name} is not in rejected/finance{run_log}"
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
    assert reasons, f"no ERROR line in the run log says {bad_name} was rejected{run_log}"
    assert any("funding_source" in r or "funding source" in r for r in reasons), (
        f"the run log does not give the reason (an unknown funding source): {reasons}"
    )
    check = rejection_check(events)
    assert check["success"] is False and bad_name in (check["description"] or ""), check
