"""Where files go: inbox listing, archive names that sort in load order, moves, rejections.

Accepted originals move to `archive/<kind>/`, read-only, under a name that starts with the UTC
load time; rejected ones to `rejected/<kind>/` with `.errors.csv` and `.errors.txt`. A file
moves only after its load committed: if the process dies in between, the next run finds the
file's SHA-256 in the load log and only finishes the move (a duplicate, "recovered"). A
duplicate (bytes already loaded) moves to the archive under the load-time prefix with a
`.duplicate` ending, so the inbox empties, nothing is deleted, and a rebuild skips it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest import readers
from ingest.problems import ProblemLog, one_line_reason, summary_text, write_errors_csv
from ingest.results import DUPLICATE, REJECTED, FileResult
from o211.full_disk import is_disk_full
from o211.paths import DataPaths

STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
ARCHIVED_RE = re.compile(r"^(\d{8}T\d{12}Z)__(.+)$")
DUPLICATE_SUFFIX = ".duplicate"

# A file name may be at most 255 bytes; the longest ending ingest adds is `.errors.csv` after a
# `.<n>` numbering, or a 26-character load-time prefix and `.duplicate` in the archive.
NAME_MAX_BYTES = 255
NAME_ROOM_BYTES = 48

WAITING_PREFIXES = (".", "~$")
WAITING_SUFFIXES = (".part", ".tmp")
SKIPPED_REASON = (
    "hidden or temporary file (name starts with '.' or '~$' or ends in '.part' or '.tmp': a "
    "partial upload or an editor's lock file), not loaded; it stays in the inbox"
)
STILL_WRITING_REASON = (
    "still being written (it changed a moment ago), not loaded; it stays in the inbox and the "
    "next run loads it"
)
SETTLE_ENV = "O211_INBOX_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 1.0


def settle_seconds_from_env() -> float:
    configured = os.environ.get(SETTLE_ENV, "").strip()
    return float(configured) if configured else DEFAULT_SETTLE_SECONDS


def is_temporary(path: Path) -> bool:
    """A name an uploader or editor uses while a file is not finished (the portal and careful
    copies write `.name.part`, then rename), or an Excel lock file."""
    return path.name.startswith(WAITING_PREFIXES) or path.name.endswith(WAITING_SUFFIXES)


def waiting_reason(path: Path) -> str:
    return SKIPPED_REASON if is_temporary(path) else STILL_WRITING_REASON


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_size, status.st_mtime_ns


def inbox_files(folder: Path, settle_seconds: float | None = None) -> tuple[list[Path], list[Path]]:
    """(files to load, files that wait) in an inbox, each in name order: the one rule of what
    is ready, used by ingest and by the inbox sensors.

    Temporary names wait untouched (`is_temporary`). So does a file still being written by a
    plain copy: one is ready once its size and modification time have stayed the same for
    `settle_seconds` (default 1 s, `O211_INBOX_SETTLE_SECONDS`). A file last changed longer ago
    is ready at once; one changed within that time is looked at again when its time is up, so a
    listing waits at most `settle_seconds`.
    """
    settle = settle_seconds_from_env() if settle_seconds is None else settle_seconds
    if not folder.is_dir():
        return [], []
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: p.name)
    waiting = [p for p in files if is_temporary(p)]
    candidates = [p for p in files if not is_temporary(p)]
    first = {p: _signature(p) for p in candidates}
    now_ns = time.time_ns()
    recent = {
        p: signature
        for p, signature in first.items()
        if signature is not None and now_ns - signature[1] < settle * 1e9
    }
    if recent:
        newest_ns = max(signature[1] for signature in recent.values())
        time.sleep(min(settle, max(0.0, settle - (now_ns - newest_ns) / 1e9)))
    unsettled = {p for p, signature in recent.items() if _signature(p) != signature}
    gone = {p for p, signature in first.items() if signature is None}
    waiting = sorted(waiting + list(unsettled), key=lambda p: p.name)
    return [p for p in candidates if p not in unsettled and p not in gone], waiting


def storable_name(name: str) -> str:
    """`name`, or a shortened `name` that leaves room for every ending ingest adds.

    A shortened name keeps the start of the stem, a digest of the full name (two long names
    sharing a start stay apart) and the extension; the original name stays in the load log,
    the errors summary and the FileResult.
    """
    limit = NAME_MAX_BYTES - NAME_ROOM_BYTES
    if len(name.encode("utf-8", "surrogateescape")) <= limit:
        return name
    suffix = Path(name).suffix
    if len(suffix.encode("utf-8", "surrogateescape")) > 16:
        suffix = ""
    tag = "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    room = limit - len(tag.encode()) - len(suffix.encode("utf-8", "surrogateescape"))
    stem = name[: len(name) - len(suffix)] if suffix else name
    head = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return f"{head}{tag}{suffix}"


def free_name(folder: Path, name: str) -> Path:
    """`name`, or `stem.2.ext`, `stem.3.ext`... : never overwrite what is already there."""
    name = storable_name(name)
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while candidate.exists() or Path(f"{candidate}.errors.csv").exists():
        candidate = folder / f"{stem}.{number}{suffix}"
        number += 1
    return candidate


def archive_name(loaded_at: datetime, name: str) -> str:
    return f"{loaded_at.strftime(STAMP_FORMAT)}__{storable_name(name)}"


def archive(path: Path, target: Path) -> None:
    """Move an original into the archive, read-only and the owner's only from then on (it
    holds caller numbers in clear; a moved file keeps the mode its uploader gave it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    os.chmod(target, stat.S_IRUSR)


def reject(paths: DataPaths, path: Path, kind: str, log: ProblemLog) -> Path:
    folder = paths.rejected(kind)
    folder.mkdir(parents=True, exist_ok=True)
    target = free_name(folder, path.name)
    summary = summary_text(path.name, kind, log, kept_as=target.name)
    errors_csv, errors_txt = Path(f"{target}.errors.csv"), Path(f"{target}.errors.txt")
    try:
        # Reasons first: a reader who sees the rejected file also finds why beside it.
        write_errors_csv(errors_csv, log.listed)
        errors_txt.write_text(summary, encoding="utf-8")
        os.replace(path, target)
    except Exception:
        # The file stays in the inbox (a full disk, say): reasons beside no file, or half
        # written, would only mislead; the next run writes them again.
        for written in (errors_csv, errors_txt):
            written.unlink(missing_ok=True)
        raise
    os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)  # caller numbers in clear: the owner's only
    return target


def rejected(
    paths: DataPaths,
    path: Path,
    kind: str,
    log: ProblemLog,
    *,
    sha256: str,
    rows: int = 0,
    encoding: str | None = None,
    extra_columns: list[str] | None = None,
) -> FileResult:
    """Move the file to `rejected/<kind>/` with its errors files, and say so."""
    result = FileResult(
        kind=kind,
        file_name=path.name,
        status=REJECTED,
        rows=rows,
        reason=one_line_reason(log),
        problems=list(log.listed),
        problem_count=log.total,
        sha256=sha256,
        encoding=encoding,
        extra_columns=extra_columns or [],
    )
    try:
        result.rejected_path = reject(paths, path, kind, log)
    except Exception as error:
        if is_disk_full(error):
            raise  # not this file's doing: the ingest stops and says so (ingest.pipeline)
        # The file cannot be moved (permissions): it stays where it is, and the result says
        # so rather than stopping the files after it.
        result.reason += (
            f"; it could not be moved to rejected/{kind}/ ({readers.plain_error(error)}) and "
            "stays in the inbox"
        )
    return result


def settle_duplicate(
    paths: DataPaths,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    known: tuple[int, str | None],
) -> FileResult:
    """Archive a file whose bytes are already loaded, finishing an interrupted move if need be."""
    load_id, recorded_archive = known
    # The load log keeps the archive path relative to the data directory (movable).
    recorded = paths.root / recorded_archive if recorded_archive else None
    if recorded is not None and recorded.parent == paths.archive(kind) and not recorded.exists():
        # The load committed but the process stopped before the move: finish it now.
        archive(path, recorded)
        reason = f"already loaded (load {load_id}); the interrupted move to the archive is done"
        target = recorded
    else:
        stamp = datetime.now(UTC)
        target = paths.archive(kind) / (archive_name(stamp, path.name) + DUPLICATE_SUFFIX)
        archive(path, target)
        reason = f"same bytes as load {load_id}; nothing loaded again"
    return FileResult(
        kind=kind,
        file_name=path.name,
        status=DUPLICATE,
        reason=reason,
        archive_path=target,
        sha256=scan.sha256,
        load_id=load_id,
    )
