"""The build stamp: what the last successful full `dbt build` was built from.

A build's result depends only on the raw tables and the dbt project (models, seeds with the
rule mappings, vars, macros, tests, profile): the models read no clock and no environment but
the warehouse path. So when the load log, the blocklist and the project files are exactly what
the last successful build saw, building again would give the same marts, and `o211 build` skips
dbt (seconds of Dagster and dbt start-up, minutes at scale) and says so.

The stamp lives inside the warehouse file (`o211_build.stamp`), never beside it: a warehouse
rebuilt from the archive is a new file without a stamp, and a warehouse restored from a backup
brings the stamp of the build it was backed up with. The stamp is written only after dbt
succeeded over every model, so a failed, killed or partial build leaves the previous one, whose
fingerprint then no longer matches.

No Dagster here: the check runs before the command line loads the Dagster definitions.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from o211.locking import DataDirectoryBusy, writer_lock
from o211.paths import DBT_PROJECT_DIR, DataPaths
from o211.warehouse import connect

STAMP_TABLE = "o211_build.stamp"
# What dbt reads from the project folder (as orchestration.manifest's PROJECT_INPUTS, plus the
# packages file should one appear); `target/`, `logs/` and `dbt_packages/` are outputs.
PROJECT_INPUTS = (
    "models",
    "seeds",
    "macros",
    "tests",
    "snapshots",
    "analyses",
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
)


def project_fingerprint(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """SHA-256 over the names and bytes of every dbt project file (contents, not times: a
    checkout that touches files without changing them does not force a build)."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for name in PROJECT_INPUTS:
        path = project_dir / name
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if not file.is_file():
            continue
        content = file.read_bytes()
        relative = file.relative_to(project_dir).as_posix().encode()
        digest.update(len(relative).to_bytes(8, "big") + relative)
        digest.update(len(content).to_bytes(8, "big") + hashlib.sha256(content).digest())
    return digest.hexdigest()


def warehouse_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """SHA-256 over the whole load log and blocklist: every ingest, rebuild or blocklist change
    alters one of them (a load adds a log row; the blocklist is replaced as a whole)."""
    digest = hashlib.sha256()
    for row in con.execute("select * from raw.load_log order by load_id").fetchall():
        digest.update(repr(row).encode() + b"\n")
    digest.update(b"blocklist\n")
    for (number_hash,) in con.execute(
        "select number_hash from raw.blocklist order by number_hash"
    ).fetchall():
        digest.update(f"{number_hash}\n".encode())
    return digest.hexdigest()


def build_inputs(con: duckdb.DuckDBPyConnection, project_dir: Path = DBT_PROJECT_DIR) -> str:
    """The fingerprint a build of this warehouse with this project is stamped with."""
    return hashlib.sha256(
        f"{project_fingerprint(project_dir)}:{warehouse_fingerprint(con)}".encode()
    ).hexdigest()


def recorded_stamp(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute(f"select fingerprint from {STAMP_TABLE}").fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else str(row[0])


def record_stamp(
    con: duckdb.DuckDBPyConnection, fingerprint: str, built_at: datetime | None = None
) -> None:
    """Replace the stamp in one transaction (a kill leaves the old stamp or the new one)."""
    when = built_at or datetime.now(UTC)
    con.execute("create schema if not exists o211_build")
    con.execute(
        f"create table if not exists {STAMP_TABLE} (fingerprint varchar, built_at timestamptz)"
    )
    con.begin()
    try:
        con.execute(f"delete from {STAMP_TABLE}")
        con.execute(f"insert into {STAMP_TABLE} values (?, ?)", [fingerprint, when])
        con.commit()
    except BaseException:
        con.rollback()
        raise


def build_is_current(paths: DataPaths, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """True when the last successful build saw exactly today's raw tables and project.

    Any doubt (no warehouse, no stamp, a writer holding the file, a missing raw table) answers
    False: the caller then builds, which is never wrong, only slower.
    """
    if not paths.warehouse.is_file():
        return False
    try:
        with connect(paths.warehouse, read_only=True, retry_seconds=0) as con:
            stamp = recorded_stamp(con)
            return stamp is not None and stamp == build_inputs(con, project_dir)
    except duckdb.Error:
        return False


def inputs_before_build(paths: DataPaths) -> str | None:
    """The fingerprint to stamp once the build about to start succeeds.

    Taken before the build: a load that lands between the build and the stamp then makes the
    stamp stale (one build too many) instead of hiding that load (a build too few).
    """
    from ingest.warehouse import ensure_raw_tables

    try:
        with writer_lock(paths.root, "o211 build (build stamp)"), connect(paths.warehouse) as con:
            ensure_raw_tables(con)  # as the build does: the first build stamps an empty load log
            return build_inputs(con)
    except (duckdb.Error, DataDirectoryBusy):
        return None


def stamp_after_build(paths: DataPaths, fingerprint: str | None) -> bool:
    """Record a successful build of `fingerprint`; False when it could not be (no fingerprint,
    the warehouse busy): the build still succeeded, and the next one simply runs dbt again."""
    if fingerprint is None:
        return False
    try:
        with writer_lock(paths.root, "o211 build (build stamp)"), connect(paths.warehouse) as con:
            record_stamp(con, fingerprint)
    except (duckdb.Error, DataDirectoryBusy):
        return False
    return True
