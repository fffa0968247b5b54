"""Real `o211` processes on a tiny sample year (issue 14, items 3, 6, 7 and 8):

- two `o211 run` at once on one data directory, each with its own Dagster instance (so only the
  data directory's writer lock keeps them apart): both finish, every file is loaded once, the
  figures are those of a single run;
- the modes of everything the product created in the data directory (owner-only);
- no process left in a command's process group after it exits, by itself or stopped with
  SIGTERM or Ctrl-C mid-build;
- `o211 backup` then `o211 restore` into an empty data directory: same reports, figures,
  manifest and portal database rows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ingest.sample import write_sample
from o211.locking import LOCK_NAME, busy_holder
from o211.paths import REPO_ROOT, DataPaths
from orchestration.settings import DAGSTER_YAML
from tests.fault.harness import (
    COMMAND_TIMEOUT,
    FISCAL_YEAR,
    SampleFile,
    Workspace,
    group_members,
    ledger_problems,
    load_problems,
    o211_executable,
    outbox_problems,
    sample_files,
    stage_csv_rows,
    start_o211,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reliability_runs")]

SCALE = "0.01"
SEED = "5"
PORTAL_PASSWORD = "a long enough portal password 42"


@dataclass(frozen=True)
class Finished:
    code: int
    output: str


def o211(workspace: Workspace, *args: str, env: dict[str, str] | None = None,
         stdin: str | None = None) -> Finished:  # fmt: skip
    """Run one command in its own session; after it exits, nothing of its group may remain."""
    process = subprocess.Popen(
        [str(o211_executable()), *args],
        env=env if env is not None else workspace.env(),
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output, _ = process.communicate(stdin, timeout=COMMAND_TIMEOUT)
    left = group_members(process.pid)
    assert left == [], f"o211 {' '.join(args)} left processes behind: {left}"
    return Finished(process.returncode, output)


def succeeded(workspace: Workspace, *args: str, env: dict[str, str] | None = None,
              stdin: str | None = None) -> str:  # fmt: skip
    done = o211(workspace, *args, env=env, stdin=stdin)
    assert done.code == 0, f"o211 {' '.join(args)} exited {done.code}:\n{done.output[-3000:]}"
    return done.output


def key_file_env(workspace: Workspace, **extra: str) -> dict[str, str]:
    """The workspace's environment without O211_PII_KEY: the key lives in `.pii_key`."""
    env = {k: v for k, v in workspace.env().items() if k != "O211_PII_KEY"}
    return {**env, **extra}


def figures(paths: DataPaths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(
            "select fiscal_year, stage, element_order, value, numerator, denominator "
            "from marts.service_data_schedule order by all"
        ).fetchall()


def portal_rows(database: Path) -> dict[str, list[tuple]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select name from sqlite_master where type = 'table' order by name"
            )
        ]
        return {t: con.execute(f'select * from "{t}" order by 1').fetchall() for t in tables}


def mode_problems(root: Path) -> list[str]:
    """Anything under the data directory another user could read (issue 14, item 6)."""
    problems = []
    for path in [root, *sorted(root.rglob("*"))]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        relative = path.relative_to(root)
        if path.is_dir():
            expected = {0o700}
        elif relative.parts[0] == "archive":
            expected = {0o400}
        else:
            expected = {0o600}
        if mode not in expected:
            problems.append(f"{relative or '.'}: {oct(mode)}")
    return problems


@dataclass(frozen=True)
class Reference:
    workspace: Workspace
    sample: list[SampleFile]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's inbox and config, written once for the module."""
    data = tmp_path_factory.mktemp("reliability-sample") / "data"
    write_sample(data, FISCAL_YEAR, float(SCALE), int(SEED))
    return data


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, pristine: Path) -> Iterator[Reference]:
    """One uninterrupted `o211 sample` + `o211 run` (the key in `.pii_key`), with a portal
    account, as a data team would have it."""
    workspace = Workspace(tmp_path_factory.mktemp("reliability-reference"))
    env = key_file_env(workspace)
    succeeded(workspace, "sample", "--fiscal-year", FISCAL_YEAR, "--scale", SCALE,
              "--seed", SEED, env=env)  # fmt: skip
    sample = sample_files(workspace.data)
    assert sorted(f.sha256 for f in sample) == sorted(f.sha256 for f in sample_files(pristine))
    succeeded(workspace, "run", env=env)
    succeeded(workspace, "user", "add", "approver1", "--role", "approver", env=env,
              stdin=PORTAL_PASSWORD + "\n")  # fmt: skip
    yield Reference(workspace, sample)


def test_what_the_product_creates_is_the_owners_only(reference):
    paths = reference.workspace.paths
    assert paths.pii_key_file.is_file() and paths.warehouse.is_file()
    assert any(paths.archive("calls").iterdir())
    assert (paths.root / "portal" / "portal.sqlite3").is_file()
    assert mode_problems(paths.root) == []


def test_two_runs_at_once_take_turns_and_load_every_file_once(tmp_path, pristine, reference):
    workspace = Workspace.from_data(tmp_path / "two-runs", pristine)
    second_instance = tmp_path / "second-dagster-home"
    second_instance.mkdir()
    (second_instance / "dagster.yaml").symlink_to(DAGSTER_YAML)
    first = start_o211(workspace, "run")
    second = start_o211(workspace, "run", extra_env={"DAGSTER_HOME": str(second_instance)})
    codes = [process.wait(timeout=COMMAND_TIMEOUT) for process in (first, second)]
    log = (workspace.root / "killed-command.log").read_text(errors="replace")
    assert codes == [0, 0], log[-4000:]
    # One of them met the other's lock and said so while it waited.
    assert "waiting for o211 run" in log, log[-4000:]
    for process in (first, second):
        assert group_members(process.pid) == []
    paths = workspace.paths
    assert ledger_problems(paths, reference.sample) == []
    assert load_problems(paths, reference.sample) == []
    assert outbox_problems(paths, FISCAL_YEAR) == []
    assert stage_csv_rows(paths, FISCAL_YEAR) == stage_csv_rows(
        reference.workspace.paths, FISCAL_YEAR
    )
    assert figures(paths) == figures(reference.workspace.paths)
    assert busy_holder(paths.root) is None


def dbt_running(group: int) -> bool:
    return any(" build" in command and "dbt" in command for _pid, command in group_members(group))


@pytest.mark.parametrize(
    ("signal_number", "whole_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-to-the-command", "ctrl-c-to-the-group"],
)
def test_a_run_stopped_mid_build_leaves_no_process_behind(
    tmp_path, pristine, signal_number, whole_group
):
    workspace = Workspace.from_data(tmp_path / "stopped", pristine)
    process = start_o211(workspace, "run")
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while not dbt_running(process.pid):
        assert process.poll() is None, "the run ended before dbt started"
        assert time.monotonic() < deadline, "dbt never started"
        time.sleep(0.1)
    time.sleep(1.0)  # inside the build, not at its first instant
    if whole_group:
        os.killpg(process.pid, signal_number)  # what a terminal's Ctrl-C does
    else:
        os.kill(process.pid, signal_number)  # what a scheduler's stop does
    code = process.wait(timeout=120)
    left = group_members(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # never leave them to the next test
    assert left == [], left
    assert code != 0
    log = (workspace.root / "killed-command.log").read_text(errors="replace")
    last = log.strip().splitlines()[-1]
    assert last.startswith("o211: ") and "interrupted" in last, log[-3000:]
    # Ctrl-C also reaches Dagster's compute-log watcher, which prints its own KeyboardInterrupt;
    # the command itself unwinds without a traceback.
    frames = [line for line in log.splitlines() if line.strip().startswith("File ")]
    assert not [f for f in frames if "/orchestration/" in f or "/o211/" in f], log[-3000:]
    assert busy_holder(workspace.data) is None


def test_backup_then_restore_gives_the_same_reports_figures_and_portal(tmp_path, reference):
    source = reference.workspace
    backup = tmp_path / "backup"
    output = succeeded(source, "backup", str(backup), env=key_file_env(source))
    assert "Backup written" in output and ".pii_key" in output
    listed = (backup / "backup-manifest.json").read_text()
    assert '"archive/calls/' in listed and '"portal/portal.sqlite3"' in listed
    assert '"warehouse/' not in listed and LOCK_NAME not in listed
    assert mode_problems(backup) == []

    target = Workspace(tmp_path / "restored")
    env = key_file_env(target)
    restored = succeeded(target, "restore", str(backup), env=env)
    assert "rebuilt from the archive" in restored
    before, after = source.paths, target.paths
    assert after.pii_key_file.read_bytes() == before.pii_key_file.read_bytes()
    folder = Path("outbox") / FISCAL_YEAR
    assert sorted(p.name for p in (after.root / folder).iterdir()) == sorted(
        p.name for p in (before.root / folder).iterdir()
    )
    for path in (before.root / folder).iterdir():
        assert (after.root / folder / path.name).read_bytes() == path.read_bytes(), path.name
    assert figures(after) == figures(before)
    portal = Path("portal") / "portal.sqlite3"
    assert portal_rows(after.root / portal) == portal_rows(before.root / portal)
    assert mode_problems(after.root) == []
    # The rebuilt warehouse agrees with the restored reports: nothing is due again.
    report = succeeded(target, "report", "--fiscal-year", FISCAL_YEAR, "--stage", "final", env=env)
    assert "unchanged" in report
    assert sorted(p.name for p in (after.root / folder).iterdir()) == sorted(
        p.name for p in (before.root / folder).iterdir()
    )

    # A used data directory is refused, and so is a damaged backup; neither changes anything.
    again = o211(target, "restore", str(backup), env=env)
    assert again.code == 1 and "not empty" in again.output
    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-a", str(backup), str(damaged)], check=True)
    victim = next((damaged / "outbox" / FISCAL_YEAR).glob("*.csv"))
    victim.chmod(0o600)
    victim.write_bytes(victim.read_bytes() + b"x")
    fresh = Workspace(tmp_path / "fresh")
    refused = o211(fresh, "restore", str(damaged), env=key_file_env(fresh))
    assert refused.code == 1 and "damaged" in refused.output and victim.name in refused.output
    left = [p.name for p in fresh.data.iterdir()] if fresh.data.exists() else []
    assert left in ([], [LOCK_NAME]), left
