"""A real `o211 serve` (Dagster webserver and daemon) for tests.

The server runs in its own process group on a free loopback port, with its own data directory
and Dagster instance; tests talk to it through the Dagster GraphQL API and it is always stopped,
the whole process group, at the end. Every wait polls a condition against a deadline, and a
failure quotes the last lines of the server's log so a CI failure can be read without a rerun.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from o211.paths import REPO_ROOT, DataPaths

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
# A quiet machine loads the code location and starts the daemon in about 20 s; a loaded 2-core
# CI runner (dbt builds beside it) can take several times that.
STARTUP_SECONDS = 240.0
STOP_SECONDS = 30.0
POLL_SECONDS = 2.0
TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
# Sensors, schedules and the run queue must tick for the tests to mean anything.
REQUIRED_DAEMONS = frozenset({"SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR"})

READY_QUERY = """
query Ready {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } }
}
"""

RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status jobName tags { key value } } }
    ... on PythonError { message }
    ... on InvalidPipelineRunsFilterError { message }
  }
}
"""

LOGS_QUERY = """
query RunLogs($runId: ID!, $cursor: String) {
  logsForRun(runId: $runId, afterCursor: $cursor) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message level }
        ... on AssetCheckEvaluationEvent {
          evaluation { checkName success description assetKey { path } }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

SENSOR_QUERY = """
query Sensor($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor {
      name
      sensorState {
        status
        ticks(limit: 5) { status timestamp skipReason runIds error { message } }
      }
    }
    ... on SensorNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

START_SENSOR_MUTATION = """
mutation StartSensor($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on SensorNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

ADD_PARTITION_MUTATION = """
mutation AddPartition($key: String!, $name: String!, $repo: RepositorySelector!) {
  addDynamicPartition(partitionKey: $key, partitionsDefName: $name, repositorySelector: $repo) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


class GraphQLError(RuntimeError):
    """The server answered, but with errors (or an error type where data was expected)."""


def free_port() -> int:
    """A loopback port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunEvent:
    """One event of a run's log, as the Dagster UI shows it."""

    kind: str
    level: str
    message: str
    check: dict[str, Any] | None = None


@dataclass
class LiveDagster:
    """A running `o211 serve` and the ways a test talks to it."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    dagster_home: Path
    log_path: Path
    location: str = ""
    repository: str = ""
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def paths(self) -> DataPaths:
        return DataPaths(self.data_dir)

    @property
    def repository_selector(self) -> dict[str, str]:
        return {"repositoryLocationName": self.location, "repositoryName": self.repository}

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            return f"(server log unreadable: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, message: str) -> str:
        """A failure message that carries the end of the server's log."""
        return (
            f"{message}\n--- last lines of the o211 serve log ({self.log_path}) ---\n"
            f"{self.log_tail()}"
        )

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise GraphQLError(json.dumps(payload["errors"])[:2000])
        return dict(payload["data"])

    def wait_for(
        self,
        what: str,
        probe: Callable[[], T | None],
        timeout: float,
        explain: Callable[[], str] | None = None,
    ) -> T:
        """Poll `probe` until it returns something other than None, or fail saying `what`.

        Connection errors and GraphQL errors count as "not yet" (the server may be starting);
        the last one is quoted if time runs out. `explain` adds what the test knows (for
        example the sensor's last ticks) to the failure.
        """
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            code = self.process.poll()
            if code is not None:
                pytest.fail(self.failure(f"o211 serve exited (code {code}) before {what}."))
            try:
                result = probe()
            except (OSError, GraphQLError) as error:  # URLError is an OSError
                result, last_error = None, error
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                details = ""
                if explain is not None:
                    try:
                        details = "\n" + explain()
                    except Exception as error:  # the explanation must not hide the timeout
                        details = f"\n(could not explain: {error})"
                pytest.fail(
                    self.failure(
                        f"Timed out after {timeout:.0f} s waiting for {what}."
                        f"{f' Last error: {last_error}.' if last_error else ''}{details}"
                    )
                )
            time.sleep(POLL_SECONDS)

    def wait_until_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        """Wait for the code location to load and the daemons that make sensors tick."""

        def ready() -> bool | None:
            data = self.graphql(READY_QUERY)
            workspace = data["workspaceOrError"]
            if workspace["__typename"] != "Workspace":
                raise GraphQLError(str(workspace.get("message")))
            for entry in workspace["locationEntries"]:
                location = entry.get("locationOrLoadError") or {}
                if location.get("__typename") == "PythonError":
                    pytest.fail(
                        self.failure(
                            f"The code location {entry['name']} failed to load: "
                            f"{location.get('message')}"
                        )
                    )
                if entry["loadStatus"] == "LOADED" and location.get("repositories"):
                    self.location = entry["name"]
                    self.repository = location["repositories"][0]["name"]
            statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
            healthy = {s["daemonType"] for s in statuses if s["healthy"]}
            return True if self.location and healthy >= REQUIRED_DAEMONS else None

        self.wait_for("the code location and the daemon to be up", ready, timeout)

    def sensor_selector(self, name: str) -> dict[str, str]:
        return {**self.repository_selector, "sensorName": name}

    def sensor(self, name: str) -> dict[str, Any]:
        result = self.graphql(SENSOR_QUERY, {"selector": self.sensor_selector(name)})
        sensor = result["sensorOrError"]
        if sensor["__typename"] != "Sensor":
            raise GraphQLError(f"sensor {name}: {sensor.get('message', sensor['__typename'])}")
        return dict(sensor)

    def ensure_sensor_running(self, name: str) -> None:
        """Start the sensor through the API when the instance has it stopped."""
        if self.sensor(name)["sensorState"]["status"] == "RUNNING":
            return
        started = self.graphql(START_SENSOR_MUTATION, {"selector": self.sensor_selector(name)})
        result = started["startSensor"]
        if result["__typename"] != "Sensor" or result["sensorState"]["status"] != "RUNNING":
            pytest.fail(self.failure(f"Could not start sensor {name}: {result}"))

    def describe_ticks(self, name: str) -> str:
        ticks = self.sensor(name)["sensorState"]["ticks"]
        lines = [
            f"  {t['status']} at {time.strftime('%H:%M:%S', time.gmtime(t['timestamp']))} UTC"
            f" runs={t['runIds']} skip={t['skipReason']!r}"
            f" error={(t['error'] or {}).get('message', '')[:300]!r}"
            for t in ticks
        ]
        return f"Last ticks of sensor {name}:\n" + ("\n".join(lines) or "  (none)")

    def runs(self, tags: dict[str, str]) -> list[dict[str, Any]]:
        run_filter = {"tags": [{"key": k, "value": v} for k, v in tags.items()]}
        result = self.graphql(RUNS_QUERY, {"filter": run_filter})["runsOrError"]
        if result["__typename"] != "Runs":
            raise GraphQLError(str(result.get("message")))
        return list(result["results"])

    def run_events(self, run_id: str) -> list[RunEvent]:
        """Every event of a run's log, in order (paged through `logsForRun`)."""
        return list(self._iter_run_events(run_id))

    def _iter_run_events(self, run_id: str) -> Iterator[RunEvent]:
        cursor: str | None = None
        while True:
            data = self.graphql(LOGS_QUERY, {"runId": run_id, "cursor": cursor})
            connection = data["logsForRun"]
            if connection["__typename"] != "EventConnection":
                raise GraphQLError(f"logs of run {run_id}: {connection.get('message')}")
            for event in connection["events"]:
                yield RunEvent(
                    kind=event["__typename"],
                    level=str(event.get("level", "")),
                    message=str(event.get("message", "")),
                    check=event.get("evaluation"),
                )
            if not connection["hasMore"] or connection["cursor"] == cursor:
                return
            cursor = connection["cursor"]

    def add_fiscal_year_partition(self, partitions_def: str, key: str) -> None:
        """Register a dynamic partition key; one that exists already is fine."""
        data = self.graphql(
            ADD_PARTITION_MUTATION,
            {"key": key, "name": partitions_def, "repo": self.repository_selector},
        )
        kind = data["addDynamicPartition"]["__typename"]
        if kind not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
            pytest.fail(self.failure(f"Could not add partition {key}: {data}"))

    def process_group_alive(self) -> bool:
        self.process.poll()  # reap our own child so it does not linger as a zombie
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self) -> None:
        """Stop the whole process group (webserver, daemon, code servers, run workers).

        SIGINT first, as Ctrl-C in a terminal: `dagster dev` shuts its services down cleanly in
        seconds. SIGTERM can leave it hanging; whatever is left after the grace period is killed.
        """
        if self.stopped:
            return
        self.stopped = True
        for sig in (signal.SIGINT, signal.SIGKILL):
            if not self.process_group_alive():
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + STOP_SECONDS
            while self.process_group_alive() and time.monotonic() < deadline:
                time.sleep(0.2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_SECONDS)


def start_server(root: Path) -> LiveDagster:
    """Start `o211 serve` with a data directory and Dagster instance under `root`.

    The caller must call `stop()` (also when waiting for readiness fails).
    """
    data_dir, dagster_home = root / "data", root / "dagster_home"
    data_dir.mkdir(parents=True, exist_ok=True)
    dagster_home.mkdir(parents=True, exist_ok=True)
    log_path = root / "o211-serve.log"
    # The caller's own data directory, instance or PII key must not leak into the test.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("O211_DATA_DIR", "DAGSTER_HOME", "O211_PII_KEY", "O211_DEBUG")
    }
    env.update(
        O211_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(dagster_home),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    o211 = Path(sys.executable).parent / "o211"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(o211), "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LiveDagster(process, port, data_dir, dagster_home, log_path)


class _Shared:
    """One server per test session, whichever test module asks first."""

    server: LiveDagster | None = None
    failure: str | None = None


def shared_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> LiveDagster:
    """The session's live server, started on first use and stopped when the session ends.

    Each test module declares its own session fixture calling this, so the modules can run
    alone or together and still share one server (starting one costs tens of seconds).
    """
    if _Shared.server is not None:
        return _Shared.server
    if _Shared.failure is not None:
        pytest.fail(
            f"The live Dagster server failed to start earlier in this session:\n{_Shared.failure}"
        )
    try:
        # The code location reads the dbt manifest when it loads (tests/conftest.py rebuilds it
        # when the dbt project changed since).
        request.getfixturevalue("dbt_manifest")
    except Exception as error:
        _Shared.failure = str(error)
        pytest.fail(f"Cannot prepare the dbt manifest for the code location: {error}")
    server = start_server(tmp_path_factory.mktemp("live_dagster"))
    request.addfinalizer(server.stop)
    try:
        server.wait_until_ready()
    except BaseException as error:
        _Shared.failure = str(error)
        raise
    _Shared.server = server
    return server


def stop_shared_server() -> None:
    """Stop the session's live server now (its last test has run): left idle until the session
    ends, its daemon and code servers would take CPU from the tests still running."""
    if _Shared.server is not None:
        _Shared.server.stop()
        _Shared.server = None
