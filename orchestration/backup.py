"""`o211 backup DEST` and `o211 restore SRC`: a consistent copy of a data directory, and back.

A backup holds what cannot be made again: the inbox, the archive (the warehouse is rebuilt
from it), rejected files with their reasons, config, the outbox (reports and their
manifests), the PII key (without it, identities loaded later no longer match the archive's)
and the portal (its SQLite database copied through SQLite's backup API, so a write in progress
is never half-copied). The warehouse comes along only with `--with-warehouse`. The Dagster
instance (`.dagster/`: run history, sensor cursors) is not kept; a restore starts a fresh one.

The backup is written while holding the data directory's writer lock (`o211.locking`), so no
ingest, build or report changes a file halfway through the copy. `backup-manifest.json`,
written last, lists every file with its SHA-256; a restore checks every one before copying.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from o211.locking import LOCK_NAME, writer_lock
from o211.paths import DataPaths

MANIFEST_NAME = "backup-manifest.json"
FORMAT = 1
# Folders and files of the data directory a backup keeps (the warehouse only when asked).
KEPT = ("inbox", "archive", "rejected", "config", "outbox", "portal", ".pii_key")
PORTAL_DATABASE = PurePosixPath("portal/portal.sqlite3")
# SQLite's companions of a live database: the backup API copy replaces them.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
WAREHOUSE_FILES = ("o211.duckdb", "o211.duckdb.wal")
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why in one line."""


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    files: int
    bytes: int
    with_warehouse: bool
    has_pii_key: bool
    has_portal_database: bool


def _mode_for(relative: PurePosixPath) -> int:
    """Archive originals stay read-only; everything else is the owner's to read and write."""
    return 0o400 if relative.parts[0] == "archive" else 0o600


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _copy(source: Path, target: Path, mode: int) -> tuple[str, int]:
    """Copy bytes into a new owner-only file; returns (SHA-256, size) of what was written."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as reading, os.fdopen(descriptor, "wb") as writing:
        while block := reading.read(CHUNK):
            digest.update(block)
            size += len(block)
            writing.write(block)
        writing.flush()
        os.fsync(writing.fileno())
    os.chmod(target, mode)
    return digest.hexdigest(), size


def _is_empty(folder: Path, ignore: tuple[str, ...] = ()) -> bool:
    return not folder.exists() or not [p for p in folder.iterdir() if p.name not in ignore]


def _files_to_keep(paths: DataPaths, with_warehouse: bool) -> Iterator[PurePosixPath]:
    root = paths.root
    for name in KEPT:
        top = root / name
        candidates = [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []
        for path in candidates:
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if not path.is_file() or path.is_symlink():
                continue
            if relative == PORTAL_DATABASE or any(
                str(relative) == f"{PORTAL_DATABASE}{end}" for end in SQLITE_COMPANIONS
            ):
                continue  # copied through the backup API
            yield relative
    if with_warehouse:
        for name in WAREHOUSE_FILES:
            if (paths.warehouse_dir / name).is_file():
                yield PurePosixPath("warehouse") / name


def _backup_portal_database(source: Path, target: Path) -> None:
    """A consistent copy of the live portal database (SQLite's online backup)."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(descriptor)
        writing = sqlite3.connect(target)
        try:
            reading.backup(writing)
        finally:
            writing.close()
    finally:
        reading.close()
    os.chmod(target, 0o600)


def write_backup(paths: DataPaths, destination: Path, *, with_warehouse: bool) -> BackupSummary:
    """Copy the data directory's kept files into `destination` (new or empty) and list them."""
    root = paths.root
    if not root.is_dir():
        raise BackupError(f"there is no data directory at {root} to back up")
    if destination == root or root in destination.parents:
        raise BackupError(f"the backup folder {destination} is inside the data directory {root}")
    if not _is_empty(destination):
        raise BackupError(f"the backup folder {destination} is not empty; choose a new folder")
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    listed: list[dict[str, object]] = []
    with writer_lock(root, "o211 backup"):
        for relative in _files_to_keep(paths, with_warehouse):
            sha256, size = _copy(root / relative, destination / relative, _mode_for(relative))
            listed.append({"path": str(relative), "sha256": sha256, "bytes": size})
        portal_database = root / PORTAL_DATABASE
        if portal_database.is_file():
            _backup_portal_database(portal_database, destination / PORTAL_DATABASE)
            copied = destination / PORTAL_DATABASE
            listed.append(
                {
                    "path": str(PORTAL_DATABASE),
                    "sha256": _sha256(copied),
                    "bytes": copied.stat().st_size,
                }
            )
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_directory": str(root),
        "with_warehouse": with_warehouse,
        "files": sorted(listed, key=lambda entry: str(entry["path"])),
    }
    temp = destination / f".{MANIFEST_NAME}.part"
    temp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.chmod(temp, 0o600)
    # Written last, under its final name only when complete: a folder without it is no backup.
    os.replace(temp, destination / MANIFEST_NAME)
    return BackupSummary(
        folder=destination,
        files=len(listed),
        bytes=sum(int(str(entry["bytes"])) for entry in listed),
        with_warehouse=any(str(e["path"]).startswith("warehouse/") for e in listed),
        has_pii_key=any(e["path"] == ".pii_key" for e in listed),
        has_portal_database=any(e["path"] == str(PORTAL_DATABASE) for e in listed),
    )


def _read_manifest(source: Path) -> list[tuple[PurePosixPath, str]]:
    manifest_file = source / MANIFEST_NAME
    if not manifest_file.is_file():
        raise BackupError(f"{source} holds no {MANIFEST_NAME}: not a complete o211 backup")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{MANIFEST_NAME} has format {manifest.get('format')!r}, not 1")
        entries = [(PurePosixPath(e["path"]), str(e["sha256"])) for e in manifest["files"]]
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{MANIFEST_NAME} in {source} is not readable ({error})") from error
    for relative, _sha256 in entries:
        # A manifest names files inside the backup only: never an absolute path or `..`.
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise BackupError(f"{MANIFEST_NAME} names a file outside the backup: {relative}")
    return entries


def verify_backup(source: Path) -> list[tuple[PurePosixPath, str]]:
    """Every listed file present with its SHA-256, or a one-line refusal naming the first."""
    entries = _read_manifest(source)
    bad = []
    for relative, sha256 in entries:
        path = source / relative
        if not path.is_file():
            bad.append(f"{relative} is missing")
        elif _sha256(path) != sha256:
            bad.append(f"{relative} does not match its SHA-256")
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise BackupError(f"the backup in {source} is damaged: {bad[0]}{more}; nothing restored")
    return entries


def restore_backup(source: Path, paths: DataPaths) -> bool:
    """Copy a verified backup into an empty data directory; True when it held the warehouse."""
    root = paths.root
    if not _is_empty(root, ignore=(LOCK_NAME,)):
        raise BackupError(
            f"the data directory {root} is not empty; restore only into a new folder "
            "(set O211_DATA_DIR to one)"
        )
    entries = verify_backup(source)
    with writer_lock(root, "o211 restore"):
        if not _is_empty(root, ignore=(LOCK_NAME,)):
            raise BackupError(f"the data directory {root} filled up while restoring; stopped")
        os.chmod(root, 0o700)
        for relative, sha256 in entries:
            written, _size = _copy(source / relative, root / relative, _mode_for(relative))
            if written != sha256:
                raise BackupError(f"{relative} changed while it was restored; restore again")
        paths.ensure()
    return any(relative.parts[0] == "warehouse" for relative, _sha in entries)
