"""Shared fixtures, and how the suite runs in parallel.

The manifest fixture is not autouse: only tests that load the Dagster definitions need it, and
a dbt project mid-edit should not stop tests that never touch Dagster.

`scripts/test.sh` runs the suite on pytest-xdist workers (`-n N --dist loadgroup`). Each worker is
a process of its own (own basetemp, own environment), so the rules here are about what workers
share: the repository (the dbt manifest) and whatever is built once for the whole run.
The groups are handed to xdist's scheduler here (`pytest_xdist_make_scheduler`), not through
xdist's `@group` suffix on test ids, which pytest 9's structured node ids no longer carry.
- A test that reads a module-scoped fixture keeps its module on one worker (that fixture is then
  built once, not once per worker), unless its module is marked `independent`.
- Every test that uses the live Dagster server runs on one worker: the server is per process.
- Expensive data built once for the whole run (`fault_reference`) is made under a file lock in
  the folder all workers share; the first worker builds it, the others wait and read it.
- Groups holding slow tests are handed out first, so the longest work does not start last.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from o211.paths import DataPaths
from orchestration.manifest import MANIFEST, manifest_is_stale, prepare_manifest
from orchestration.settings import DAGSTER_YAML

if TYPE_CHECKING:
    from tests.fault.harness import Reference

T = TypeVar("T")

# Modules whose tests share a live `o211 serve` (tests/live/server.py starts one per process).
LIVE_SERVER_FIXTURE = "live_dagster"
LIVE_SERVER_GROUP = "live_dagster"
# Where workers write each test's group for the controller's scheduler (set by the controller).
GROUPS_DIR_ENV = "O211_TEST_GROUPS_DIR"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "independent: each test of the module stands alone, so parallel workers may split it",
    )
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        os.environ[GROUPS_DIR_ENV] = tempfile.mkdtemp(prefix="o211-test-groups-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and GROUPS_DIR_ENV in os.environ:
        shutil.rmtree(os.environ.pop(GROUPS_DIR_ENV), ignore_errors=True)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` with the groups the workers worked out from the tests' fixtures and
    marks (see `pytest_collection_modifyitems`); a test of no group is a unit of its own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                self.groups = {}
                groups_dir = os.environ.get(GROUPS_DIR_ENV)
                for written in Path(groups_dir).glob("*.json") if groups_dir else ():
                    self.groups.update(json.loads(written.read_text(encoding="utf-8")))
            return self.groups.get(nodeid.split("@")[0], nodeid)

    return GroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test its xdist group and, on a worker, put the groups holding slow tests first
    (`--no-loadscope-reorder` keeps the order) and write the groups for the scheduler."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if _uses_live_server(item):
            item.add_marker(pytest.mark.xdist_group(LIVE_SERVER_GROUP))
        elif _has_module_state(item) and item.get_closest_marker("independent") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        slow_in_group = Counter(_group(item) for item in items if item.get_closest_marker("slow"))
        items.sort(key=lambda item: -slow_in_group[_group(item)])
        groups_dir = os.environ.get(GROUPS_DIR_ENV)
        if groups_dir:  # unset when the workers were not started by this conftest's controller
            groups = {item.nodeid: _group(item) for item in items}
            (Path(groups_dir) / f"{worker}.json").write_text(json.dumps(groups), encoding="utf-8")


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """On a worker the live-server tests run one after another (their group): the last of them
    stops the server. Not in a serial run, where other modules come between them."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not _uses_live_server(item):
        return
    if nextitem is None or not _uses_live_server(nextitem):
        from tests.live.server import stop_shared_server

        stop_shared_server()


def _uses_live_server(item: pytest.Item) -> bool:
    return LIVE_SERVER_FIXTURE in getattr(item, "fixturenames", ())


def _has_module_state(item: pytest.Item) -> bool:
    """Whether the test reads a fixture that lives longer than one test but not the session."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definitions[-1].scope in ("class", "module", "package")
        for definitions in info.name2fixturedefs.values()
    )


def _group(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return item.nodeid
    return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if missing) across processes."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder every worker of this run shares (a worker's basetemp sits inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]
) -> T:
    """`build(folder)` run once for the whole run, whatever the number of workers; its result is
    pickled beside the folder for the workers that did not build it. A build that failed is
    tried again by the next worker that asks (and fails there too, with its own message)."""
    folder = run_root(tmp_path_factory) / name
    result_file = folder.with_name(f"{name}.pickle")
    with _exclusive(folder.with_name(f"{name}.lock")):
        if result_file.is_file():
            with result_file.open("rb") as handle:
                loaded: T = pickle.load(handle)
            return loaded
        result = build(folder)
        with result_file.open("wb") as handle:
            pickle.dump(result, handle)
        return result


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt_project/target/manifest.json`, rebuilt (`o211 prepare`) when missing or older than
    any file of the dbt project. Only the default target counts: runs with their own
    `--target-path` never refresh what Dagster reads. Locked beside the manifest, because
    parallel workers (and other pytest runs in this tree) would otherwise parse at once."""
    with _exclusive(MANIFEST.parent / ".o211-prepare.lock"):
        if manifest_is_stale():
            prepare_manifest(DataPaths(tmp_path_factory.mktemp("manifest-data")))
    return MANIFEST


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Dagster instance of its own for the session, configured by the repository's
    dagster.yaml (one-writer pool), so tests never touch the developer's `.dagster/`."""
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").symlink_to(DAGSTER_YAML)
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


@pytest.fixture(scope="session")
def fault_reference(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Reference:
    """The uninterrupted run of tests/fault/harness.py (a small sample loaded in three
    deliveries, built, and reported for every stage), made once for the whole run. Its
    snapshots are read-only: a test copies one (`Workspace.from_data`) before changing it."""
    from tests.fault.harness import reference_run

    return built_once(tmp_path_factory, "fault-reference", reference_run)
