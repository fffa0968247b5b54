"""Finance uploads: receive, check, place in the inbox, and follow each file's fate.

An upload is checked with `ingest.finance_summary.check_finance_file` (the verdict of
`ingest.pipeline.check_file`, the same code path as `o211 check FILE --kind finance`). Only an
accepted file is placed, atomically and never over another file, in `inbox/finance/` as
`upload-<id>-<safe name>`; its fate is read from where ingest moved it (portal.md, "Finance
upload"): still in the inbox = waiting, `archive/finance/<load stamp>__upload-<id>-...` =
loaded, `rejected/finance/upload-<id>-...` = rejected. The warehouse is never opened.

A portal killed mid-upload leaves the upload wholly absent or wholly recorded, never in between
(`record_upload`, and `finish_interrupted` when the portal starts again).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from exports.versions import sha256_file
from ingest.finance_summary import FinanceCheck, FinanceSummary, check_finance_file
from o211.paths import DataPaths
from portal import audit
from portal.db import Database
from portal.settings import PortalSettings

KIND = "finance"
WAITING, LOADED, REJECTED, DUPLICATE, MISSING = (
    "waiting",
    "loaded",
    "rejected",
    "duplicate",
    "missing",
)
STORED_PREFIX = "upload-"
MAX_SAFE_NAME_BYTES = 100
MAX_ORIGINAL_NAME_CHARS = 255
_UNSAFE = re.compile(r"[^\w.\-() –]+", re.UNICODE)
# Ingest's archive names: `<UTC load stamp>__<stored name>` (ingest/pipeline.py, STAMP_FORMAT).
_ARCHIVED = re.compile(r"^(\d{8}T\d{12}Z)__(upload-(\d+)-.*)$")
# The hidden file an upload is written to before it takes its name: `.<stored name>.<8 hex>.part`.
_PARTIAL = re.compile(rf"^\.({STORED_PREFIX}\d+-.+)\.[0-9a-f]{{8}}\.part$")
_COPY_BLOCK = 1 << 20
log = logging.getLogger("portal.uploads")


def safe_name(original: str) -> str:
    """A file name that is only a name: no folders, no control characters, no leading dot.

    The original name is never used as a path (portal.md); this one keeps its look (letters,
    digits, spaces, `.`, `-`, `_`) and its extension so people recognise their file.
    """
    name = unicodedata.normalize("NFC", original)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(" " if unicodedata.category(c).startswith("C") else c for c in name)
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix.lower()[:10]
    stem = re.sub(r"\s+", " ", stem).strip(" ._")
    # Bounded in bytes, so ingest never has to shorten the stored name (accents take two).
    room = MAX_SAFE_NAME_BYTES - len(suffix) - 1
    stem = stem.encode()[:room].decode("utf-8", "ignore").strip(" ._") or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def shown_name(original: str) -> str:
    """The name as sent, bounded, its invisible characters made visible as U+FFFD.

    A right-to-left override makes `gpj\u202e.csv` read as a different file on the page and
    in the audit; a line break would split a mail's subject or a log line.
    """
    name = unicodedata.normalize("NFC", original)[:MAX_ORIGINAL_NAME_CHARS]
    return "".join("\ufffd" if unicodedata.category(c).startswith("C") else c for c in name)


def stored_name(upload_id: int, safe: str) -> str:
    return f"{STORED_PREFIX}{upload_id}-{safe}"


class UploadTooLarge(Exception):
    pass


class Incoming:
    """An upload being received, in a private folder of the portal's own directory."""

    def __init__(self, paths: DataPaths, original_name: str, limit: int) -> None:
        # The name as sent, bounded: it is shown and stored, never used as a path.
        self.original_name = shown_name(original_name)
        self.safe_name = safe_name(original_name)
        self.limit = limit
        self.folder = incoming_folder(paths) / secrets.token_hex(8)
        self.folder.mkdir(parents=True, mode=0o700)
        # Held until `discard`: the clean-up at a portal's start (`finish_interrupted`) leaves
        # alone the folder of an upload that another portal process is still receiving.
        self._lock = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        # Checked under its safe name: ingest quotes the file name in its messages.
        self.path = self.folder / self.safe_name
        self._handle = self.path.open("xb")
        self.size = 0
        self._digest = hashlib.sha256()

    def write(self, block: bytes) -> None:
        self.size += len(block)
        if self.size > self.limit:
            raise UploadTooLarge()
        self._digest.update(block)
        self._handle.write(block)

    def finish(self) -> None:
        self._handle.close()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def discard(self) -> None:
        self._handle.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1


def incoming_folder(paths: DataPaths) -> Path:
    return paths.root / "portal" / "incoming"


def check(incoming: Incoming) -> FinanceCheck:
    return check_finance_file(incoming.path)


def recheck(upload: Upload) -> FinanceCheck | None:
    """The check again on a rejected upload's kept file: its problems, by code, for the page.

    Ingest's `.errors.txt` is English prose; the same check on the same bytes gives the coded
    problems the reader's language can render. None when the file is gone.
    """
    if upload.status != REJECTED or upload.path is None or not upload.path.is_file():
        return None
    return check_finance_file(upload.path)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_partial(paths: DataPaths, source: Path, name: str) -> Path:
    """Copy `source` to a hidden file of the finance inbox meant to become `name`, synced.

    Ingest waits on names starting with `.` (and ending in `.part`): it never takes this file.
    """
    inbox = paths.inbox(KIND)
    inbox.mkdir(parents=True, exist_ok=True)
    partial = inbox / f".{name}.{secrets.token_hex(4)}.part"
    try:
        with source.open("rb") as reading, partial.open("xb") as writing:
            while block := reading.read(_COPY_BLOCK):
                writing.write(block)
            writing.flush()
            os.fsync(writing.fileno())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial


def _link_into_place(partial: Path, target: Path) -> None:
    """Give the complete `partial` its final name; `link` fails rather than replace a file."""
    try:
        os.link(partial, target)
    except FileExistsError:
        # Already linked by another portal process's start-up (`finish_interrupted`): done.
        if not os.path.samefile(partial, target):
            partial.unlink(missing_ok=True)
            raise
    partial.unlink(missing_ok=True)
    _fsync_folder(target.parent)


@dataclass(frozen=True)
class Upload:
    id: int
    uploaded_at: str
    uploader: str
    original_name: str
    stored_name: str
    sha256: str
    size: int
    rows: int
    months: tuple[date, ...]
    totals: dict[str, Decimal]
    status: str = WAITING
    load_stamp: str | None = None  # ingest's load time prefix when loaded: orders the loads
    errors_txt: Path | None = None
    path: Path | None = None  # where the file is now (None: moved out of the pipeline's folders)
    in_force: tuple[date, ...] = field(default_factory=tuple)


def record_upload(
    db: Database, settings: PortalSettings, paths: DataPaths, incoming: Incoming,
    summary: FinanceSummary, uploader: str, address: str | None = None,
) -> Upload:  # fmt: skip
    """Take the next upload id, keep the row and its audit entry, place the file under a name
    carrying the id, whole or not at all, never over another file.

    The commit is the one moment an upload comes to be, so a kill at any point leaves it wholly
    absent or wholly recorded: inside the transaction the bytes go to a hidden temp file of the
    inbox (which ingest never takes) and are synced, and the row and its audit entry are
    written; only after the commit is the temp file linked to the upload's name. Killed before
    the commit, only the temp file remains and the next start deletes it (the person uploads
    again); killed after it, the next start links the recorded upload's temp file into place
    (`finish_interrupted`). So a file under a name ingest loads never exists without its row,
    and an upload id never names two files (an id rolled back is given again).

    Raises `SameBytes` when these bytes were uploaded meanwhile (two uploads at once): the
    transaction holds the write lock, so of two the second always sees the first. Raises
    `FileExistsError`, recording nothing, when the upload's name is taken in the inbox.
    """
    months = json.dumps([m.isoformat() for m in summary.months])
    totals = json.dumps({k: str(v) for k, v in sorted(summary.totals.items())})
    now = settings.clock()
    partial: Path | None = None
    try:
        with db.connect() as con:
            earlier = _earlier(con, incoming.sha256)
            if earlier is not None:
                raise SameBytes(*earlier)
            cursor = con.execute(
                "insert into finance_uploads (uploaded_at, uploader, original_name, stored_name,"
                " sha256, size, rows, months, totals) values (?, ?, ?, '', ?, ?, ?, ?, ?)",
                (
                    now.isoformat(), uploader, incoming.original_name,
                    incoming.sha256, incoming.size, summary.rows, months, totals,
                ),
            )  # fmt: skip
            upload_id = int(cursor.lastrowid or 0)
            name = stored_name(upload_id, incoming.safe_name)
            con.execute(
                "update finance_uploads set stored_name = ? where id = ?", (name, upload_id)
            )
            target = paths.inbox(KIND) / name
            if os.path.lexists(target):
                # The portal's database was replaced while the inbox was not: that file is
                # never overwritten, and this upload is not recorded.
                raise FileExistsError(target)
            partial = _write_partial(paths, incoming.path, name)
            audit.append(
                con, now, audit.UPLOAD_ACCEPTED, actor=uploader, address=address,
                details=f"upload {upload_id} {incoming.original_name!r} sha256 "
                f"{incoming.sha256} as {name}",
            )  # fmt: skip
    except BaseException:
        if partial is not None:  # nothing was committed: no trace of the upload stays
            partial.unlink(missing_ok=True)
        raise
    # Fails only if a file of this very name appeared since the check under the lock (another
    # portal process on a replaced database): the upload then stays recorded, listed as moved
    # out of the pipeline's folders, and that file is left as it is.
    _link_into_place(partial, target)
    found = uploads(db, paths, ids=[upload_id])
    return found[0]


def finish_interrupted(db: Database, paths: DataPaths) -> list[str]:
    """Put right what a portal killed mid-upload left; run when the portal starts, before it
    serves. Returns what it did, one line each (also logged).

    - A folder of `portal/incoming/` that no upload holds any more (its lock is free): the
      upload it was receiving never finished; the finance file's copy has no reason to stay.
    - A temp file of `inbox/finance/` whose upload was committed (killed between the commit and
      the link): linked into place, unless that upload's file is already in the inbox, loaded
      or rejected (killed after the link); then, and for a temp file of an upload that was never
      committed (killed before the commit), deleted.

    The temp files are looked at under the database's write lock: an upload of another portal
    process on this data directory is never between its row and its commit meanwhile.
    """
    done: list[str] = []
    incoming = incoming_folder(paths)
    for folder in sorted(incoming.iterdir()) if incoming.is_dir() else ():
        if folder.is_dir() and _remove_unless_held(folder):
            done.append(f"removed the unfinished upload folder {folder.name}")
    inbox = paths.inbox(KIND)
    partials = [
        (path, found[1])
        for path in (sorted(inbox.iterdir()) if inbox.is_dir() else ())
        if (found := _PARTIAL.match(path.name))
    ]
    if not partials:
        return done
    with db.connect() as con:
        recorded = {
            str(row["stored_name"]): (int(row["id"]), str(row["sha256"]))
            for row in con.execute("select id, stored_name, sha256 from finance_uploads")
        }
        fates = _fates(paths)
        for partial, name in partials:
            row = recorded.get(name)
            if row is None:
                done.append(f"removed {partial.name}: its upload was never recorded")
            elif row[0] in fates:
                done.append(f"removed {partial.name}: upload {row[0]} is already placed")
            elif sha256_file(partial) != row[1]:
                # Cannot happen (the file is synced before the commit); never place it.
                done.append(f"removed {partial.name}: its bytes are not upload {row[0]}'s")
            else:
                try:
                    _link_into_place(partial, inbox / name)
                    done.append(f"placed upload {row[0]} as {name} (its placing was interrupted)")
                except FileExistsError:
                    done.append(f"removed {partial.name}: another file took the name {name}")
            partial.unlink(missing_ok=True)
        _fsync_folder(inbox)
    for line in done:
        log.warning("finance uploads at start: %s", line)
    return done


def _remove_unless_held(folder: Path) -> bool:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # an upload in progress in another portal process
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)


class SameBytes(Exception):
    """An upload with the same bytes was recorded first: `earlier_id`, `earlier_at`."""

    def __init__(self, earlier_id: int, earlier_at: str) -> None:
        super().__init__(earlier_id, earlier_at)
        self.earlier_id = earlier_id
        self.earlier_at = earlier_at


def _earlier(con: sqlite3.Connection, sha256: str) -> tuple[int, str] | None:
    row = con.execute(
        "select id, uploaded_at from finance_uploads where sha256 = ? order by id limit 1",
        (sha256,),
    ).fetchone()
    return None if row is None else (row["id"], row["uploaded_at"])


def earlier_upload_of(db: Database, sha256: str) -> tuple[int, str] | None:
    """(id, time) of an earlier upload with these exact bytes: ingest would skip it."""
    with db.connect() as con:
        return _earlier(con, sha256)


@dataclass(frozen=True)
class _Fate:
    status: str
    load_stamp: str | None = None
    errors_txt: Path | None = None
    path: Path | None = None


def _fates(paths: DataPaths) -> dict[int, _Fate]:
    """upload id -> its fate, from where its file now is."""
    fates: dict[int, _Fate] = {}
    id_of = re.compile(rf"^{STORED_PREFIX}(\d+)-")

    def names(folder: Path) -> Iterable[str]:
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else ()

    for name in names(paths.inbox(KIND)):
        if match := id_of.match(name):
            fates[int(match[1])] = _Fate(WAITING, path=paths.inbox(KIND) / name)
    for name in names(paths.rejected(KIND)):
        if (match := id_of.match(name)) and not name.endswith((".errors.csv", ".errors.txt")):
            errors = paths.rejected(KIND) / f"{name}.errors.txt"
            fates[int(match[1])] = _Fate(
                REJECTED,
                errors_txt=errors if errors.exists() else None,
                path=paths.rejected(KIND) / name,
            )
    for name in names(paths.archive(KIND)):
        if match := _ARCHIVED.match(name):
            status = DUPLICATE if name.endswith(".duplicate") else LOADED
            fates[int(match[3])] = _Fate(status, match[1], path=paths.archive(KIND) / name)
    return fates


def _row_upload(row: dict[str, object], fate: _Fate) -> Upload:
    return Upload(
        id=int(str(row["id"])),
        uploaded_at=str(row["uploaded_at"]),
        uploader=str(row["uploader"]),
        original_name=str(row["original_name"]),
        stored_name=str(row["stored_name"]),
        sha256=str(row["sha256"]),
        size=int(str(row["size"])),
        rows=int(str(row["rows"])),
        months=tuple(date.fromisoformat(m) for m in json.loads(str(row["months"]))),
        totals={k: Decimal(v) for k, v in json.loads(str(row["totals"])).items()},
        status=fate.status,
        load_stamp=fate.load_stamp,
        errors_txt=fate.errors_txt,
        path=fate.path,
    )


def uploads(db: Database, paths: DataPaths, ids: Iterable[int] | None = None) -> list[Upload]:
    """Every upload (newest first) with its fate and the months in which it is in force.

    A month's figures come from the latest load that contains it (extracts.md, "Revisions"):
    among loaded uploads, the one with the latest load stamp wins that month.
    """
    with db.connect() as con:
        rows = [dict(r) for r in con.execute("select * from finance_uploads order by id desc")]
    fates = _fates(paths)
    listed = [_row_upload(row, fates.get(int(str(row["id"])), _Fate(MISSING))) for row in rows]
    latest: dict[date, Upload] = {}
    for upload in sorted(
        (u for u in listed if u.status == LOADED), key=lambda u: (u.load_stamp or "", u.id)
    ):
        for month in upload.months:
            latest[month] = upload
    in_force: dict[int, list[date]] = {}
    for month, upload in latest.items():
        in_force.setdefault(upload.id, []).append(month)
    result = [
        Upload(**{**u.__dict__, "in_force": tuple(sorted(in_force.get(u.id, ())))}) for u in listed
    ]
    if ids is not None:
        wanted = set(ids)
        result = [u for u in result if u.id in wanted]
    return result


def months_in_force(listed: Iterable[Upload]) -> list[tuple[date, Upload]]:
    """(month, the upload whose lines count for it), oldest month first."""
    pairs = [(month, u) for u in listed for month in u.in_force]
    return sorted(pairs, key=lambda pair: pair[0])
