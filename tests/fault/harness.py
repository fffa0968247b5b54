"""Run the real `o211` commands as child processes, kill them at chosen points, and inspect what
they leave behind (the fault-tolerance and rebuild tests).

Each workspace has its own data directory, Dagster home and temp folder (dbt's scratch target
lands there, which is how a test sees dbt writing models). Children start in a new session so
one `killpg` takes dbt and any other grandchild down with them, as a power cut would.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import openpyxl

from ingest.reading import FINANCE_SHEET
from ingest.sample import write_sample
from o211.kinds import KINDS
from o211.paths import REPO_ROOT, DataPaths
from orchestration.settings import DAGSTER_YAML

FISCAL_YEAR = "2025-26"
STAGES = ("Q2", "Q3", "final")
SAMPLE_SCALE = 0.05
SAMPLE_SEED = 11
PII_KEY = "fault-tests-fixed-pii-key"
# Fault injection read by `tests/fault/site/sitecustomize.py` in the child processes only.
PAUSE_BEFORE_PUBLISH_ENV = "O211_FAULT_PAUSE_BEFORE_PUBLISH"
PAUSE_BEFORE_ARCHIVE_ENV = "O211_FAULT_PAUSE_BEFORE_ARCHIVE"
PUBLISH_SUFFIX_ENV = "O211_FAULT_PUBLISH_SUFFIX"
ARCHIVE_NAME_ENV = "O211_FAULT_ARCHIVE_NAME"
ARCHIVE_KIND_ENV = "O211_FAULT_ARCHIVE_KIND"
PAUSE_IN_FILE_ENV = "O211_FAULT_PAUSE_IN_FILE"
IN_FILE_KIND_ENV = "O211_FAULT_IN_FILE_KIND"
REACHED_ENV = "O211_FAULT_REACHED"
SLOW_INGEST_ENV = "O211_FAULT_SLOW_INGEST"
FAULT_ENVS = (
    PAUSE_BEFORE_PUBLISH_ENV,
    PUBLISH_SUFFIX_ENV,
    PAUSE_BEFORE_ARCHIVE_ENV,
    ARCHIVE_NAME_ENV,
    ARCHIVE_KIND_ENV,
    PAUSE_IN_FILE_ENV,
    IN_FILE_KIND_ENV,
    REACHED_ENV,
    SLOW_INGEST_ENV,
)
FAULT_SITE = Path(__file__).resolve().parent / "site"
COMMAND_TIMEOUT = 600.0
REPORT_NAME_PREFIX = "ON211_ServiceDataSchedule_"


def o211_executable() -> Path:
    return Path(sys.executable).with_name("o211")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- workspaces and commands --------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """One isolated installation: data directory, Dagster instance and temp folder."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def paths(self) -> DataPaths:
        return DataPaths(self.data)

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def scratch(self) -> Path:
        return self.root / "tmp"

    @property
    def fault_reached(self) -> Path:
        """Written by an injected pause when it begins (see `fault_env`)."""
        return self.root / "fault-reached"

    @classmethod
    def from_data(cls, root: Path, data: Path) -> Workspace:
        """A new workspace whose data directory is a copy of `data` (fresh Dagster instance)."""
        workspace = cls(root)
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(data, workspace.data, symlinks=True)
        return workspace

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        for folder in (self.dagster_home, self.scratch):
            folder.mkdir(parents=True, exist_ok=True)
        link = self.dagster_home / "dagster.yaml"
        if not link.is_symlink():
            link.symlink_to(DAGSTER_YAML)
        base = {k: v for k, v in os.environ.items() if k not in ("O211_DEBUG", *FAULT_ENVS)}
        return {
            **base,
            "O211_DATA_DIR": str(self.data),
            "DAGSTER_HOME": str(self.dagster_home),
            "O211_PII_KEY": PII_KEY,
            "TMPDIR": str(self.scratch),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            REACHED_ENV: str(self.fault_reached),
            **(extra or {}),
        }


class CommandFailed(AssertionError):
    pass


def run_o211(workspace: Workspace, *args: str) -> str:
    """Run one o211 command to completion; its output, or a failure that quotes it."""
    done = subprocess.run(
        [str(o211_executable()), *args],
        env=workspace.env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise CommandFailed(
            f"o211 {' '.join(args)} exited {done.returncode} in {workspace.root}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def start_o211(
    workspace: Workspace, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start an o211 command as the leader of its own process group."""
    log = (workspace.root / "killed-command.log").open("ab")
    try:
        return subprocess.Popen(
            [str(o211_executable()), *args],
            env=workspace.env(extra_env),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()  # the child holds its own copy


def group_members(group: int) -> list[tuple[int, str]]:
    """Live (non-zombie) processes of a process group, with their command lines."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start after the last ")".
        state, _parent, process_group = stat.rsplit(")", 1)[1].split()[:3]
        if int(process_group) == group and state != "Z":
            members.append((int(entry.name), command))
    return members


@dataclass
class Kill:
    """Where a SIGKILL landed."""

    point: str
    marker_seen: bool
    interrupted: bool  # the command was still running and died of the signal
    seconds: float
    processes: list[str] = field(default_factory=list)  # the group's command lines at the kill
    survivors: list[str] = field(default_factory=list)  # members still alive afterwards


Marker = Callable[[], bool]


def kill_when(process: subprocess.Popen[bytes], point: str, marker: Marker, timeout: float) -> Kill:
    """SIGKILL the whole process group as soon as `marker()` holds (or at `timeout`).

    A command that finishes on its own first is not interrupted; the caller counts those so a
    test cannot silently stop testing anything.
    """
    started = time.monotonic()
    seen = False
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            return Kill(point, seen, False, time.monotonic() - started)
        if marker():
            seen = True
            break
        time.sleep(0.02)
    members = [command for _pid, command in group_members(process.pid)]
    with contextlib.suppress(ProcessLookupError):  # the whole group already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    elapsed = time.monotonic() - started
    deadline = time.monotonic() + 30
    survivors = group_members(process.pid)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.1)
        survivors = group_members(process.pid)
    return Kill(
        point,
        seen,
        process.returncode == -signal.SIGKILL,
        elapsed,
        members,
        [command for _pid, command in survivors],
    )


# --- kill-point markers -------------------------------------------------------------------------


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def archived_at_least(paths: DataPaths, kind: str, count: int) -> Marker:
    return lambda: len(files_in(paths.archive(kind))) >= count


def step_started(dagster_home: Path, step_key: str) -> Marker:
    """True once any run of the instance has logged STEP_START for `step_key`."""

    def started() -> bool:
        for database in (dagster_home / "history" / "runs").glob("*.db"):
            if database.name == "index.db":
                continue
            try:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.2) as con:
                    found = con.execute(
                        "select 1 from event_logs where dagster_event_type = 'STEP_START' "
                        "and step_key = ? limit 1",
                        [step_key],
                    ).fetchall()
            except sqlite3.Error:
                continue  # created but not yet written: look again on the next poll
            if found:
                return True
        return False

    return started


def dbt_writing(scratch: Path, layer: str) -> Marker:
    """True once dbt (in its scratch target under TMPDIR) has started a model of `layer`."""
    return lambda: any(scratch.glob(f"o211-dbt-target-*/run/*/models/{layer}/*.sql"))


def fault_env(**settings: str) -> dict[str, str]:
    """Environment that loads the fault-injection `sitecustomize` with these settings."""
    existing = os.environ.get("PYTHONPATH", "")
    return {**settings, "PYTHONPATH": os.pathsep.join(p for p in (str(FAULT_SITE), existing) if p)}


def fault_reached(workspace: Workspace) -> Marker:
    return workspace.fault_reached.exists


def held(marker: Marker, seconds: float) -> Marker:
    """`marker`, `seconds` after it first held (to land inside a pause, not at its edge)."""
    first: list[float] = []

    def check() -> bool:
        if not first:
            if not marker():
                return False
            first.append(time.monotonic())
        return time.monotonic() - first[0] >= seconds

    return check


# --- the sample and its independent row counts ----------------------------------------------------


@dataclass(frozen=True)
class SampleFile:
    kind: str
    name: str
    sha256: str
    rows: int  # data rows, counted here without the product's readers


def data_rows(path: Path) -> int:
    """Rows below the header that hold any value (CSV in any 8-bit encoding, or the xlsx).

    Counted without the product's readers: `#` comment lines (web analytics exports open with
    some) are not data, and the header is the first row of two or more values (a title above it,
    as finance uploads have, holds one).
    """
    if path.suffix.lower() == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows = [
                ["" if v is None else str(v) for v in r]
                for r in book[FINANCE_SHEET].iter_rows(values_only=True)
            ]
        finally:
            book.close()
    else:
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("latin-1"))))
    filled = [r for r in rows if any(v.strip() for v in r) and not r[0].startswith("#")]
    header = next(i for i, r in enumerate(filled) if sum(bool(v.strip()) for v in r) >= 2)
    return len(filled) - header - 1


def sample_files(data: Path) -> list[SampleFile]:
    paths = DataPaths(data)
    return [
        SampleFile(kind, path.name, sha256_of(path), data_rows(path))
        for kind in KINDS
        for path in files_in(paths.inbox(kind))
    ]


def hold_back(paths: DataPaths, kinds: Iterable[str], shelf: Path) -> None:
    """Move the inbox files of `kinds` to `shelf` (a later delivery)."""
    for kind in kinds:
        for path in files_in(paths.inbox(kind)):
            (shelf / kind).mkdir(parents=True, exist_ok=True)
            shutil.move(path, shelf / kind / path.name)


def deliver(paths: DataPaths, kinds: Iterable[str], shelf: Path) -> None:
    """Copy the held-back files of `kinds` into the inbox."""
    for kind in kinds:
        paths.inbox(kind).mkdir(parents=True, exist_ok=True)
        for path in files_in(shelf / kind):
            shutil.copy2(path, paths.inbox(kind) / path.name)


# --- reading the outcome --------------------------------------------------------------------------


def manifest_of(paths: DataPaths, fiscal_year: str) -> dict:
    manifest = paths.outbox / fiscal_year / "manifest.json"
    return json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}


def latest_versions(paths: DataPaths, fiscal_year: str) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for entry in manifest_of(paths, fiscal_year).get("versions", []):
        if entry["stage"] not in latest or entry["version"] > latest[entry["stage"]]["version"]:
            latest[entry["stage"]] = entry
    return latest


def stage_csv_rows(paths: DataPaths, fiscal_year: str) -> dict[str, list[list[str]]]:
    """The rows of each stage's latest CSV (by the manifest): the figures, compared by content."""
    folder = paths.outbox / fiscal_year
    rows = {}
    for stage, entry in latest_versions(paths, fiscal_year).items():
        text = (folder / entry["files"]["csv"]["name"]).read_text(encoding="utf-8-sig")
        rows[stage] = list(csv.reader(io.StringIO(text)))
    return rows


def outbox_problems(paths: DataPaths, fiscal_year: str) -> list[str]:
    """Temp or unlisted files in the outbox, listed files missing or not matching their hash."""
    folder = paths.outbox / fiscal_year
    problems = []
    listed: set[str] = set()
    for entry in manifest_of(paths, fiscal_year).get("versions", []):
        for record in entry["files"].values():
            listed.add(record["name"])
            path = folder / record["name"]
            if not path.is_file():
                problems.append(f"{record['name']} is in manifest.json but not in the outbox")
            elif sha256_of(path) != record["sha256"]:
                problems.append(f"{record['name']} does not match its SHA-256 in manifest.json")
    for path in files_in(paths.outbox) + files_in(folder):
        if path.name in (".manifest.lock", "manifest.json") and path.parent == folder:
            continue
        if path.name.startswith(".tmp-") or path.name.endswith((".tmp", ".part")):
            problems.append(f"temp file left in the outbox: {path.relative_to(paths.root)}")
        elif path.name not in listed:
            problems.append(f"report file not listed in manifest.json: {path.name}")
    return problems


def ledger_problems(paths: DataPaths, sample: list[SampleFile]) -> list[str]:
    """No file lost: every sample file archived exactly once, nothing rejected, inbox empty."""
    problems = [
        f"left in the inbox: {path.relative_to(paths.root)}"
        for kind in KINDS
        for path in files_in(paths.inbox(kind))
    ]
    problems += [
        f"rejected: {path.relative_to(paths.root)}"
        for kind in KINDS
        for path in files_in(paths.rejected(kind))
    ]
    archived = Counter(sha256_of(path) for kind in KINDS for path in files_in(paths.archive(kind)))
    for file in sample:
        if archived[file.sha256] != 1:
            problems.append(f"{file.kind}/{file.name} is in archive/ {archived[file.sha256]} times")
    known = {file.sha256 for file in sample}
    problems += [
        f"archive/ holds a file not in the sample ({sha})" for sha in archived.keys() - known
    ]
    return problems


def load_problems(paths: DataPaths, sample: list[SampleFile]) -> list[str]:
    """Each file loaded exactly once: one load_log row per SHA-256, raw rows = the file's rows."""
    problems = []
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        log = con.execute("select kind, sha256, rows from raw.load_log").fetchall()
        raw_rows: dict[str, int] = {}
        for kind in KINDS:
            for sha, count in con.execute(
                f"select _source_sha256, count(*) from raw.{kind} group by 1"
            ).fetchall():
                raw_rows[sha] = raw_rows.get(sha, 0) + count
        archived = con.execute(
            "select file_name, sha256, archive_path from raw.load_log"
        ).fetchall()
    for name, sha, archive_path in archived:
        # A rebuild reads exactly these paths: each must hold the bytes that were loaded.
        target = paths.root / archive_path
        if not target.is_file() or sha256_of(target) != sha:
            problems.append(f"{name}: load_log archive_path {archive_path} missing or different")
    logged = Counter(sha for _kind, sha, _rows in log)
    problems += [f"load_log has {n} rows for {sha}" for sha, n in logged.items() if n != 1]
    logged_rows = {sha: rows for _kind, sha, rows in log}
    for file in sample:
        where = f"{file.kind}/{file.name}"
        if file.sha256 not in logged:
            problems.append(f"{where} is not in raw.load_log")
            continue
        if logged_rows[file.sha256] != file.rows:
            problems.append(f"{where}: load_log rows {logged_rows[file.sha256]} != {file.rows}")
        if raw_rows.get(file.sha256, 0) != file.rows:
            problems.append(f"{where}: raw.{file.kind} holds {raw_rows.get(file.sha256, 0)} rows"
                            f" of it, the file has {file.rows}")  # fmt: skip
    extra = logged.keys() - {file.sha256 for file in sample}
    problems += [f"load_log lists a file not in the sample ({sha})" for sha in extra]
    return problems


def tree_state(paths: DataPaths, folders: Iterable[str] = ("inbox", "archive", "rejected")) -> dict:
    """Every file under the given folders: relative path -> (SHA-256, permission bits)."""
    state = {}
    for name in folders:
        for path in sorted((paths.root / name).rglob("*")):
            if path.is_file():
                mode = path.stat().st_mode & 0o777
                state[str(path.relative_to(paths.root))] = (sha256_of(path), oct(mode))
    return state


def warehouse_rows(paths: DataPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# --- the uninterrupted reference run ------------------------------------------------------------

# Deliveries in the order ingest loads kinds (KINDS), each named for the state it leaves: the
# snapshots are where later kill points start, so no scenario pays for loading what it does not
# test. Loading in deliveries is how the extracts arrive in real life anyway.
DELIVERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("before_surveys", ("calls", "chats", "emails", "texts")),
    ("before_finance", ("surveys", "web")),
    ("ingested", ("finance",)),
)


@dataclass(frozen=True)
class Reference:
    sample_data: Path  # pristine: inbox/ and config/ as the generator wrote them
    sample: list[SampleFile]
    snapshots: dict[str, Path]  # state name -> data directory copy
    shelf: Path  # the sample's inbox files by kind, for delivering held-back kinds
    csv_rows: dict[str, list[list[str]]]
    seconds: float


_reference_lock = threading.Lock()
_reference: dict[Path, Reference] = {}


def reference_run(base: Path) -> Reference:
    """The sample, loaded in three deliveries, built, and reported for every stage, with no
    interruption; made once per base folder (per test session)."""
    with _reference_lock:
        if base not in _reference:
            _reference[base] = _make_reference(base)
        return _reference[base]


def _make_reference(base: Path) -> Reference:
    started = time.monotonic()
    sample_data = base / "sample"
    summary = write_sample(sample_data, FISCAL_YEAR, SAMPLE_SCALE, SAMPLE_SEED)
    sample = sample_files(sample_data)
    for kind in KINDS:  # the independent counter agrees with the generator
        counted = sum(f.rows for f in sample if f.kind == kind)
        assert counted == summary.rows[kind], (kind, counted, summary.rows[kind])
    shelf = base / "shelf"
    for kind in KINDS:
        shutil.copytree(DataPaths(sample_data).inbox(kind), shelf / kind)

    workspace = Workspace.from_data(base / "reference", sample_data)
    hold_back(workspace.paths, KINDS, base / "reference-held")
    snapshots: dict[str, Path] = {}
    for state, kinds in DELIVERIES:
        deliver(workspace.paths, kinds, shelf)
        run_o211(workspace, "ingest")
        snapshots[state] = _snapshot(workspace, base / "snapshots" / state)
    run_o211(workspace, "build")
    snapshots["built"] = _snapshot(workspace, base / "snapshots" / "built")
    for stage in STAGES:
        run_o211(workspace, "report", "--fiscal-year", FISCAL_YEAR, "--stage", stage)
    snapshots["reported"] = _snapshot(workspace, base / "snapshots" / "reported")
    paths = workspace.paths
    problems = (
        outbox_problems(paths, FISCAL_YEAR)
        + ledger_problems(paths, sample)
        + load_problems(paths, sample)
    )
    assert problems == [], problems
    csv_rows = stage_csv_rows(paths, FISCAL_YEAR)
    assert sorted(csv_rows) == sorted(STAGES), csv_rows.keys()
    return Reference(sample_data, sample, snapshots, shelf, csv_rows, time.monotonic() - started)


def _snapshot(workspace: Workspace, target: Path) -> Path:
    shutil.copytree(workspace.data, target, symlinks=True)
    return target
