"""Under `o211 serve`, sensors and schedules run by themselves (operations.md, "Dagster").

On a fresh instance nobody has opened the UI to switch anything on: every sensor must already be
running and tick without errors, and every schedule must be running with its next tick at the
hour its cron says, read in America/Toronto (the nightly ingest and build at 03:00).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.live.server import LiveDagster, shared_server

pytestmark = pytest.mark.slow

TORONTO = "America/Toronto"
NIGHTLY_HOUR = 3
# The slowest sensor (restatements) ticks every 60 s; the first ticks come at daemon start.
FIRST_TICK_SECONDS = 180.0

AUTOMATION_QUERY = """
query Automation($repo: RepositorySelector!) {
  repositoryOrError(repositorySelector: $repo) {
    __typename
    ... on Repository {
      sensors {
        name
        sensorState {
          status
          ticks(limit: 3) { status skipReason error { message } }
        }
      }
      schedules {
        name
        cronSchedule
        executionTimezone
        scheduleState { status }
        futureTicks(limit: 1) { results { timestamp } }
      }
    }
    ... on PythonError { message }
    ... on RepositoryNotFoundError { message }
  }
}
"""


@pytest.fixture(scope="session")
def live_dagster(request, tmp_path_factory) -> LiveDagster:
    return shared_server(request, tmp_path_factory)


def automation(server: LiveDagster) -> dict[str, Any]:
    data = server.graphql(AUTOMATION_QUERY, {"repo": server.repository_selector})
    repository = data["repositoryOrError"]
    assert repository["__typename"] == "Repository", repository
    return dict(repository)


def test_every_sensor_runs_from_the_start_and_ticks_without_error(
    live_dagster: LiveDagster,
) -> None:
    server = live_dagster
    sensors = automation(server)["sensors"]
    assert sensors, "the code location has no sensor"
    stopped = [s["name"] for s in sensors if s["sensorState"]["status"] != "RUNNING"]
    assert not stopped, (
        f"o211 serve starts with these sensors stopped: {stopped}. Files dropped in the inbox "
        "would wait until someone switches them on in the UI (default_status=RUNNING)."
    )

    def all_ticked() -> list[dict[str, Any]] | None:
        current = automation(server)["sensors"]
        return current if all(s["sensorState"]["ticks"] for s in current) else None

    def explain() -> str:
        return "\n".join(server.describe_ticks(s["name"]) for s in sensors)

    ticked = server.wait_for("every sensor to tick once", all_ticked, FIRST_TICK_SECONDS, explain)
    failures = {
        s["name"]: [(t["error"] or {}).get("message", "")[:500] for t in s["sensorState"]["ticks"]]
        for s in ticked
        if any(t["status"] == "FAILURE" for t in s["sensorState"]["ticks"])
    }
    assert not failures, server.failure(f"sensor ticks failed in the daemon: {failures}")


def test_every_schedule_runs_on_toronto_time(live_dagster: LiveDagster) -> None:
    schedules = automation(live_dagster)["schedules"]
    assert schedules, "the code location has no schedule"
    hours = set()
    for schedule in schedules:
        name = schedule["name"]
        assert schedule["scheduleState"]["status"] == "RUNNING", f"{name} starts stopped"
        assert schedule["executionTimezone"] == TORONTO, schedule
        minute, hour = schedule["cronSchedule"].split()[:2]
        ticks = schedule["futureTicks"]["results"]
        assert ticks and ticks[0]["timestamp"], f"{name} has no next tick"
        local = datetime.fromtimestamp(ticks[0]["timestamp"], ZoneInfo(TORONTO))
        if minute.isdigit() and hour.isdigit():
            assert (local.hour, local.minute) == (int(hour), int(minute)), (
                f"{name} ({schedule['cronSchedule']}) next runs at {local.isoformat()}"
            )
            hours.add(local.hour)
    assert NIGHTLY_HOUR in hours, f"no schedule runs at {NIGHTLY_HOUR:02d}:00 Toronto time"
