"""A full disk stops a publish or an ingest in one line and changes nothing (issue 14 item 4).

operations.md "Failure behaviour": a publish (`o211 report`) or an ingest that finds no room
("No space left on device") exits non-zero with one line that says so, leaves the outbox, the
inbox, the archive and the rejected files as they were (no temp file, no half version, no good
file in `rejected/`, nothing lost), and the same command run again once there is room gives the
figures of an uninterrupted run.

Three ways in, from the most real to the most reachable:
- a real small filesystem: a tmpfs in a user and mount namespace of its own (`unshare -rm`, no
  privilege needed where the kernel allows it), filled with a filler file but for a little room;
  the real `o211` runs inside it (`nsenter`), the test looks in through `/proc/<pid>/root`. Where
  the kernel or the container refuses such a namespace, these tests skip and say why;
- fault injection in the real `o211` child process (`tests/fault/site/sitecustomize.py`,
  `O211_FAULT_DISK_FULL`): ENOSPC from the writes under a folder of the data directory after
  some bytes, or from their fsync, and a DuckDB commit that finds no room; always runs;
- in process: the detection itself, and one ingest whose commit fails the way DuckDB's does.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest import staging
from ingest.pipeline import ACCEPTED
from o211.full_disk import DiskFull, disk_full_line, is_disk_full
from o211.locking import COMMAND_ENV, lock_path, writer_lock
from o211.paths import REPO_ROOT, DataPaths
from orchestration.execution import describe_failure
from tests.corpus.hostile_files import good_csv
from tests.fault.harness import (
    COMMAND_TIMEOUT,
    FISCAL_YEAR,
    Reference,
    Workspace,
    deliver,
    fault_env,
    files_in,
    ledger_problems,
    load_problems,
    o211_executable,
    outbox_problems,
    run_o211,
    sha256_of,
    stage_csv_rows,
    tree_state,
    warehouse_rows,
)
from tests.test_ingest_pipeline import counts, data_dir, drop, ingest, query

# Read by `tests/fault/site/sitecustomize.py` in the child process only.
DISK_FULL_ENV = "O211_FAULT_DISK_FULL"
DISK_FULL_ROOM_ENV = "O211_FAULT_DISK_FULL_ROOM"
DISK_FULL_AT_ENV = "O211_FAULT_DISK_FULL_AT"

NO_SPACE = os.strerror(errno.ENOSPC)
REPORT_Q3 = ("report", "--fiscal-year", FISCAL_YEAR, "--stage", "Q3")
LOAD_LOG = "select load_id, sha256, archive_path from raw.load_log order by load_id"


# --- running o211 and reading what it left ------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """What the command said, every non-blank line of both streams."""
        return [line for line in (self.stdout + self.stderr).splitlines() if line.strip()]


def o211(
    workspace: Workspace,
    *args: str,
    env: dict[str, str] | None = None,
    inside: Sequence[str] = (),
) -> Finished:
    """Run one o211 command to its end (inside `inside`, a command prefix such as nsenter)."""
    done = subprocess.run(
        [*inside, str(o211_executable()), *args],
        env=workspace.env(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def full_disk(folders: str, room: int = 0, at: str = "") -> dict[str, str]:
    settings = {DISK_FULL_ENV: folders, DISK_FULL_ROOM_ENV: str(room)}
    return fault_env(**settings, **({DISK_FULL_AT_ENV: at} if at else {}))


def refused_writes(workspace: Workspace) -> list[str]:
    """The files the injected full disk refused, in order (the injection notes each)."""
    marker = workspace.fault_reached
    return marker.read_text().splitlines() if marker.exists() else []


FILLER_FOLDER = ".disk-filler"


def outbox_state(paths: DataPaths) -> dict[str, tuple[str, str]]:
    """Every file in the outbox but the empty lock file a publish takes (it holds nothing) and
    the filler of a small disk."""
    state = tree_state(paths, ("outbox",))
    return {
        name: value
        for name, value in state.items()
        if not name.endswith(".manifest.lock") and FILLER_FOLDER not in Path(name).parts
    }


@dataclass(frozen=True)
class Before:
    folders: dict[str, tuple[str, str]]  # inbox, archive, rejected
    outbox: dict[str, tuple[str, str]]
    load_log: list[tuple]


def before(paths: DataPaths) -> Before:
    return Before(tree_state(paths), outbox_state(paths), warehouse_rows(paths, LOAD_LOG))


def assert_stopped_in_one_line(done: Finished, *words: str) -> str:
    assert done.code != 0, done
    assert len(done.lines) == 1, f"one line, not {len(done.lines)}: {done.lines}"
    (line,) = done.lines
    assert line.startswith("o211: the disk holding "), line
    assert f"is full ({NO_SPACE})" in line and line.endswith("free space and run again"), line
    for word in words:
        assert word in line, (word, line)
    return line


def assert_as_before(paths: DataPaths, was: Before) -> None:
    """Nothing moved, rejected, lost or half written; the outbox and the load log as they were."""
    assert tree_state(paths) == was.folders, "inbox/, archive/ and rejected/ as they were"
    assert outbox_state(paths) == was.outbox, "no new version, no half version"
    assert outbox_problems(paths, FISCAL_YEAR) == [], "no temp or unlisted file in the outbox"
    assert warehouse_rows(paths, LOAD_LOG) == was.load_log, "nothing loaded"


def assert_uninterrupted_outcome(paths: DataPaths, reference: Reference) -> None:
    assert stage_csv_rows(paths, FISCAL_YEAR) == reference.csv_rows
    assert outbox_problems(paths, FISCAL_YEAR) == []
    assert ledger_problems(paths, reference.sample) == []
    assert load_problems(paths, reference.sample) == []


# --- a real small filesystem ----------------------------------------------------------------------


class SmallDisk:
    """A tmpfs of `size` bytes on `mount_point`, seen only by one user and mount namespace.

    `unshare --user --map-root-user --mount` makes the namespace without privilege; a process
    in it (it waits on its stdin, so it ends with the test, whatever happens) holds the mount.
    Commands run in it through `nsenter` (`inside`); the test reads and writes the small disk
    at `view(path)`, the same folder seen through that process's root.
    """

    def __init__(self, mount_point: Path, size: int) -> None:
        self.mount_point = mount_point
        missing = [tool for tool in ("unshare", "nsenter") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"no real small filesystem here: {', '.join(missing)} not installed")
        mount_point.mkdir(parents=True, exist_ok=True)
        script = 'mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$2" && echo mounted && exec cat'
        self.holder = subprocess.Popen(
            ["unshare", "--user", "--map-root-user", "--mount",
             "sh", "-c", script, "sh", str(size), str(mount_point)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.holder.stdout is not None
        if self.holder.stdout.readline().strip() != "mounted":
            _out, refused = self.holder.communicate(timeout=30)
            pytest.skip(
                "no real small filesystem here: the kernel refused an unprivileged tmpfs mount "
                f"in a user namespace ({' '.join(refused.split()) or 'no reason given'})"
            )

    @property
    def inside(self) -> list[str]:
        return ["nsenter", f"--target={self.holder.pid}", "--user", "--mount", f"--wd={REPO_ROOT}"]

    def view(self, path: Path) -> Path:
        return Path(f"/proc/{self.holder.pid}/root{path}")

    def copy_out(self, data: Path, target: Path) -> DataPaths:
        """A copy of the data directory on the small disk, filler left out. DuckDB opens a file
        by its real path, which leaves `/proc/<pid>/root` and so the small disk: a warehouse on
        it is read from the copy."""
        ignore = shutil.ignore_patterns(FILLER_FOLDER)
        shutil.copytree(self.view(data), target, symlinks=True, ignore=ignore)
        return DataPaths(target)

    def room(self) -> int:
        stats = os.statvfs(self.view(self.mount_point))
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int) -> Path:
        """Take all the room but `leave` bytes (rounded to whole pages, as tmpfs counts)."""
        # In a folder of its own, where no check of the product's folders looks.
        filler = self.view(self.mount_point) / FILLER_FOLDER / "filler"
        filler.parent.mkdir(exist_ok=True)
        with filler.open("wb") as handle:
            handle.truncate(0)
            block = b"\0" * (1 << 20)
            wanted = self.room() - leave
            while wanted > 0:
                wanted -= handle.write(block[: min(len(block), wanted)])
            handle.flush()
        assert self.room() <= leave + os.sysconf("SC_PAGE_SIZE"), self.room()
        return filler

    def close(self) -> None:
        if self.holder.poll() is None:
            self.holder.communicate(timeout=30)  # EOF on its stdin: the namespace goes


@pytest.fixture
def small_disks() -> Iterator[list[SmallDisk]]:
    made: list[SmallDisk] = []
    yield made
    for disk in made:
        disk.close()


# --- the publish ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def q2_published(fault_reference: Reference, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built reference with its Q2 report written: a full disk then meets a manifest that
    already lists a version (it must stay as it was)."""
    workspace = Workspace.from_data(
        tmp_path_factory.mktemp("q2-published"), fault_reference.snapshots["built"]
    )
    run_o211(workspace, "report", "--fiscal-year", FISCAL_YEAR, "--stage", "Q2")
    return workspace.data


def published_rows(reference: Reference) -> dict[str, list[list[str]]]:
    return {stage: reference.csv_rows[stage] for stage in ("Q2", "Q3")}


def publish_sizes(reference: Reference) -> dict[str, int]:
    """The byte size of the reference's Q3 workbook and CSV (a rerun differs by a few bytes:
    the workbook records when it was written)."""
    folder = DataPaths(reference.snapshots["reported"]).outbox / FISCAL_YEAR
    return {
        suffix: (folder / f"ON211_ServiceDataSchedule_{FISCAL_YEAR}_Q3_v1{suffix}").stat().st_size
        for suffix in (".xlsx", ".csv")
    }


# Where the room runs out (from the reference's Q3 file sizes), and the temp file that then
# meets the full disk: the workbook's, the CSV's once the workbook is published, the manifest's
# once both are, or the workbook's fsync (the writes went through).
PUBLISH_FAULTS: dict[str, tuple[str, Callable[[dict[str, int]], int], str]] = {
    "nothing_fits": ("", lambda size: 0, ".xlsx"),
    "workbook_fits_not_csv": ("", lambda size: size[".xlsx"] + 32 + size[".csv"] // 2, ".csv"),
    "files_fit_not_manifest": ("", lambda size: size[".xlsx"] + size[".csv"] + 4096, ".json"),
    "fsync_of_the_workbook": ("fsync", lambda size: 0, ".xlsx"),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(PUBLISH_FAULTS))
def test_a_publish_that_finds_the_disk_full_publishes_nothing_and_a_rerun_does(
    fault: str, fault_reference: Reference, q2_published: Path, tmp_path: Path
) -> None:
    at, room_for, refused_suffix = PUBLISH_FAULTS[fault]
    room = room_for(publish_sizes(fault_reference))
    workspace = Workspace.from_data(tmp_path, q2_published)
    paths = workspace.paths
    was = before(paths)

    done = o211(workspace, *REPORT_Q3, env=full_disk("outbox", room, at))

    line = assert_stopped_in_one_line(
        done, str(paths.outbox / FISCAL_YEAR), "nothing was published", "2025-26 Q3"
    )
    refused = [Path(name) for name in refused_writes(workspace)]
    assert refused and refused[0].name.startswith(".tmp-"), refused
    assert refused[0].suffix == refused_suffix, f"the fault hit {refused[0]}, not {fault}: {line}"
    assert_as_before(paths, was)

    run_o211(workspace, *REPORT_Q3)
    assert stage_csv_rows(paths, FISCAL_YEAR) == published_rows(fault_reference)
    assert outbox_problems(paths, FISCAL_YEAR) == []
    assert not (paths.outbox / FISCAL_YEAR / ".incomplete").exists(), "nothing to set aside"


@pytest.mark.slow
def test_a_publish_on_a_real_full_disk_publishes_nothing_and_a_rerun_does(
    fault_reference: Reference, q2_published: Path, tmp_path: Path, small_disks: list[SmallDisk]
) -> None:
    """outbox/ on a real 2 MiB tmpfs with room for the Q3 workbook and CSV but not for the
    manifest (about 250 KB here): the files are published, the manifest is not, and the files
    are taken back."""
    workspace = Workspace.from_data(tmp_path, q2_published)
    outbox = workspace.paths.outbox
    kept = tmp_path / "outbox-before"
    shutil.move(outbox, kept)
    disk = SmallDisk(outbox, 2 << 20)
    small_disks.append(disk)
    shutil.copytree(kept, disk.view(outbox), dirs_exist_ok=True)
    paths = DataPaths(disk.view(workspace.data))  # the test's way into the small disk
    was = before(paths)
    sizes = publish_sizes(fault_reference)
    filler = disk.fill(leave=sizes[".xlsx"] + sizes[".csv"] + (64 << 10))

    done = o211(workspace, *REPORT_Q3, inside=disk.inside)

    assert_stopped_in_one_line(done, str(outbox / FISCAL_YEAR), "nothing was published")
    assert_as_before(paths, was)

    filler.unlink()
    rerun = o211(workspace, *REPORT_Q3, inside=disk.inside)
    assert rerun.code == 0, rerun
    assert stage_csv_rows(paths, FISCAL_YEAR) == published_rows(fault_reference)
    assert outbox_problems(paths, FISCAL_YEAR) == []


# --- the ingest -----------------------------------------------------------------------------------


def finance_delivered(reference: Reference, root: Path) -> Workspace:
    """The reference before its last delivery, with that delivery (finance) in the inbox."""
    workspace = Workspace.from_data(root, reference.snapshots["before_finance"])
    deliver(workspace.paths, ("finance",), reference.shelf)
    return workspace


@pytest.mark.slow
def test_an_ingest_whose_commit_finds_the_disk_full_rejects_nothing_and_a_rerun_loads(
    fault_reference: Reference, tmp_path: Path
) -> None:
    """DuckDB's commit finds no room for its write-ahead log: a warehouse failure, so the good
    finance file stays in the inbox instead of landing in rejected/ as if it were bad."""
    workspace = finance_delivered(fault_reference, tmp_path)
    paths = workspace.paths
    waiting = files_in(paths.inbox("finance"))[0]  # the first loaded
    was = before(paths)

    done = o211(workspace, "ingest", env=full_disk("warehouse"))

    assert_stopped_in_one_line(
        done, str(paths.warehouse_dir), f"finance file {waiting.name} stays in the inbox"
    )
    assert refused_writes(workspace) == [str(paths.warehouse) + ".wal"]
    assert_as_before(paths, was)

    run_o211(workspace, "run")
    assert_uninterrupted_outcome(paths, fault_reference)


@pytest.mark.slow
def test_an_ingest_that_cannot_move_a_loaded_file_to_a_full_archive_stops_and_a_rerun_finishes(
    fault_reference: Reference, tmp_path: Path
) -> None:
    """The load committed, then the move to archive/ found no room: the file stays in the inbox
    (nothing lost, nothing rejected), the line says the next run finishes its move, and it does:
    the file is loaded once."""
    workspace = finance_delivered(fault_reference, tmp_path)
    paths = workspace.paths
    waiting = files_in(paths.inbox("finance"))[0]  # the first loaded
    was = before(paths)

    done = o211(workspace, "ingest", env=full_disk("archive"))

    assert_stopped_in_one_line(
        done, str(paths.archive("finance")), "is loaded but could not be moved to archive/"
    )
    assert tree_state(paths) == was.folders, "inbox/, archive/ and rejected/ as they were"
    (loaded,) = warehouse_rows(paths, LOAD_LOG)[len(was.load_log) :]
    assert loaded[1] == sha256_of(waiting), "the one change: the file's load, committed"

    # The figures come from the loads: every file loaded once, archived once, is the
    # uninterrupted run's warehouse (the test above builds and reports from such a state).
    run_o211(workspace, "ingest")
    assert ledger_problems(paths, fault_reference.sample) == []
    assert load_problems(paths, fault_reference.sample) == []


@pytest.mark.slow
def test_a_bad_file_meeting_a_full_disk_stays_in_the_inbox_without_half_its_reasons(
    fault_reference: Reference, tmp_path: Path
) -> None:
    """The reasons of a bad file (`.errors.csv`, `.errors.txt`) cannot be written: the file stays
    in the inbox with nothing half written beside it in rejected/, and is rejected in full by
    the rerun."""
    workspace = Workspace.from_data(tmp_path, fault_reference.snapshots["ingested"])
    paths = workspace.paths
    header = next(iter(files_in(fault_reference.shelf / "calls"))).read_text().splitlines()[0]
    bad = paths.inbox("calls") / "calls_header_only.csv"
    bad.write_text(header + "\n", encoding="utf-8")
    was = before(paths)

    done = o211(workspace, "ingest", env=full_disk("rejected", room=100))

    assert_stopped_in_one_line(done, f"calls file {bad.name} stays in the inbox")
    # The room takes the `.errors.csv`, the `.errors.txt` is half written: neither is left.
    # (Closing the half-written file tries its buffer again: the same file may be refused twice.)
    assert set(refused_writes(workspace)) == {f"{paths.rejected('calls') / bad.name}.errors.txt"}
    assert_as_before(paths, was)

    rerun = o211(workspace, "ingest")
    assert rerun.code == 0, rerun
    rejected = paths.rejected("calls")
    assert sorted(p.name for p in files_in(rejected)) == [
        bad.name, f"{bad.name}.errors.csv", f"{bad.name}.errors.txt"
    ]  # fmt: skip
    assert not files_in(paths.inbox("calls"))


@pytest.mark.slow
def test_an_ingest_on_a_real_full_disk_rejects_nothing_and_a_rerun_loads(
    fault_reference: Reference, tmp_path: Path, small_disks: list[SmallDisk]
) -> None:
    """The whole data directory on a real tmpfs with no room left: DuckDB itself finds the disk
    full. Nothing is loaded, moved or rejected; with room again, `o211 run` gives the figures of
    the uninterrupted run."""
    workspace = Workspace(tmp_path / "workspace")
    source = fault_reference.snapshots["before_finance"]
    size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    disk = SmallDisk(workspace.data, size + (96 << 20))
    small_disks.append(disk)
    shutil.copytree(source, disk.view(workspace.data), symlinks=True, dirs_exist_ok=True)
    deliver(DataPaths(disk.view(workspace.data)), ("finance",), fault_reference.shelf)
    was = before(disk.copy_out(workspace.data, tmp_path / "before"))
    filler = disk.fill(leave=0)

    done = o211(workspace, "ingest", inside=disk.inside)

    # The first write of the run to find no room is DuckDB's (the blocklist's reload, when the
    # calls step comes first, or the first finance file's load): the line names its folder.
    assert_stopped_in_one_line(done, f"the disk holding {workspace.paths.warehouse_dir} is full")
    assert_as_before(disk.copy_out(workspace.data, tmp_path / "stopped"), was)

    filler.unlink()
    rerun = o211(workspace, "run", inside=disk.inside)
    assert rerun.code == 0, rerun
    assert_uninterrupted_outcome(disk.copy_out(workspace.data, tmp_path / "rerun"), fault_reference)


# --- in process -----------------------------------------------------------------------------------


def test_a_full_disk_is_told_apart_from_a_file_that_quotes_the_words() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, NO_SPACE))
    assert is_disk_full(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)))
    commit = duckdb.TransactionException(
        'TransactionContext Error: Failed to commit: Could not write file "/d/w.duckdb.wal": '
        f"{NO_SPACE}"
    )
    assert is_disk_full(commit)
    try:
        try:
            raise commit
        except duckdb.TransactionException:
            # The rollback after a failed commit fails in its turn: what it hides still counts.
            raise duckdb.TransactionException(  # noqa: B904 (chained implicitly, as in ingest)
                "cannot rollback - no transaction is active"
            )
    except duckdb.TransactionException as masked:
        assert is_disk_full(masked)
    # A value of a bad file may say anything: a conversion error quoting it is the file's.
    assert not is_disk_full(
        duckdb.ConversionException(f"Could not convert string '{NO_SPACE}' to INT32")
    )
    assert not is_disk_full(ValueError(f'file "/x": {NO_SPACE}'))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    line = disk_full_line(commit, Path("/data"), "nothing was loaded")
    assert line == (
        f"the disk holding /d is full ({NO_SPACE}); nothing was loaded; free space and run again"
    )


def test_a_commit_that_finds_no_room_stops_the_ingest_and_rejects_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: DuckDB ends the transaction of a commit it could not write; the rollback
    after it must not hide why, and no good file is rejected: both stay in the inbox."""
    paths = data_dir(tmp_path)
    first = drop(paths, "calls", "calls_a.csv", good_csv("calls", first=1))
    second = drop(paths, "calls", "calls_b.csv", good_csv("calls", first=10))
    real_publish = staging.publish

    def no_room(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> None:
        real_publish(con, *args, **kwargs)
        con.rollback()  # as DuckDB leaves a commit that failed
        raise duckdb.TransactionException(
            f'Failed to commit: Could not write file "{paths.warehouse}.wal": {NO_SPACE}'
        )

    monkeypatch.setattr(staging, "publish", no_room)
    with pytest.raises(DiskFull) as stopped:
        ingest(paths)
    assert str(stopped.value) == (
        f"the disk holding {paths.warehouse_dir} is full ({NO_SPACE}); calls file calls_a.csv "
        "stays in the inbox, as do the calls files after it; free space and run again"
    )
    assert first.is_file() and second.is_file()
    assert not files_in(paths.rejected("calls")) and not files_in(paths.archive("calls"))
    assert query(paths, "select count(*) from raw.load_log") == [(0,)]
    assert counts(paths)["calls"] == 0

    monkeypatch.undo()
    assert [r.status for r in ingest(paths)] == [ACCEPTED, ACCEPTED]


def test_the_writer_lock_holds_on_a_full_disk_without_its_holders_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name in `.o211.lock` is for whoever waits: a full disk that refuses it must not stop
    a command before it can say the disk is full."""

    def no_room(*args: object) -> int:
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(os, "pwrite", no_room)
    probe = "import sys; from pathlib import Path; from o211.locking import busy_holder; "
    probe += "print(busy_holder(Path(sys.argv[1])))"
    with writer_lock(tmp_path, "o211 ingest"):
        assert lock_path(tmp_path).read_text() == ""
        seen = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path)],
            capture_output=True, text=True, check=True, cwd=REPO_ROOT,
        )  # fmt: skip
        assert seen.stdout.strip() == "another o211 command", "held, by an unnamed holder"


def test_a_full_disk_no_step_put_in_words_still_gets_the_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's own SQLite (its home is the data directory's `.dagster/` by default) or dbt's
    DuckDB: the same line, naming the data directory and the command."""
    monkeypatch.setenv("O211_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(COMMAND_ENV, "o211 build")
    line = describe_failure(sqlite3.OperationalError("database or disk is full"))
    assert line == (
        f"the disk holding {tmp_path} is full (database or disk is full); o211 build stopped "
        "before it finished; the next run picks up from there; free space and run again"
    )
    assert describe_failure(DiskFull("already in words")) == "already in words"
