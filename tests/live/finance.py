"""Finance uploads for live tests: write a ledger file, drop it in the inbox, and follow the
run the finance inbox sensor starts for it through the Dagster GraphQL API.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from o211.paths import DBT_PROJECT_DIR
from orchestration.sensors import inbox_run_key
from tests.live.server import TERMINAL_RUN_STATUSES, LiveDagster, RunEvent

SENSOR = "inbox_finance"
# The sensor ticks every 15 s; a run then waits for the daemon to launch a worker that loads the
# code location, which on a loaded 2-core machine takes a minute or more.
RUN_SECONDS = 240.0
UNKNOWN_FUNDING_SOURCE = "Lottery Winnings"


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
