"""A full disk: told apart from a bad file, and said in one line that names what stayed as it was.

A write that finds no room is the disk's fault, never the file's: ingest must not reject good
files for it, and a publish must not leave half a version. Python reports it as an OSError with
errno ENOSPC (or EDQUOT, a quota that is used up, which is the same thing to whoever runs the
command); DuckDB's C++ writes report it only in the text of its exception, which carries the
operating system's wording ("Could not write file "...": No space left on device"), and SQLite
(the Dagster instance, the portal) in its own words.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# The operating system's wording, as DuckDB quotes it (it has no errno of its own to look at),
# and SQLite's.
FULL_TEXTS = (*(os.strerror(number) for number in FULL_ERRNOS), "database or disk is full")
# Where the text is the only sign, it counts only from the errors a failed write raises (module,
# class), never from a check of a file's values: that text may quote anything the file holds.
WRITE_ERRORS = frozenset(
    {
        ("duckdb", "IOException"),
        ("duckdb", "TransactionException"),
        ("duckdb", "FatalException"),
        ("duckdb", "OutOfMemoryException"),  # DuckDB's temp folder, where it spills, is full
        ("sqlite3", "OperationalError"),
    }
)
# DuckDB names the file it could not write: `Could not write file "/.../o211.duckdb.wal": ...`.
_QUOTED_FILE = re.compile(r'file "([^"]+)"')


class DiskFull(OSError):
    """A command stopped because the disk it writes to is full; its text is the whole line.

    An OSError with errno ENOSPC, so that code which already treats a full disk as an OSError
    keeps doing so, and `is_disk_full` recognises it again one layer up.
    """

    def __init__(self, line: str) -> None:
        super().__init__(errno.ENOSPC, line)
        self.line = line

    def __str__(self) -> str:
        return self.line


def full_disk_cause(error: BaseException) -> BaseException | None:
    """The error that says the disk is full, in `error` or what caused it, else None.

    The causes are searched too: a rollback that fails after a commit that found no room, or a
    library wrapping the OSError, would otherwise hide why.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL_ERRNOS:
            return current
        if _is_write_error(current) and any(text in str(current) for text in FULL_TEXTS):
            return current
        current = current.__cause__ or current.__context__
    return None


def _is_write_error(error: BaseException) -> bool:
    kind = type(error)
    # DuckDB's classes live in `_duckdb` (2.x) or `duckdb.duckdb` (older): the package counts.
    package = kind.__module__.split(".")[0].lstrip("_")
    return (package, kind.__name__) in WRITE_ERRORS


def is_disk_full(error: BaseException) -> bool:
    return full_disk_cause(error) is not None


def _reason(cause: BaseException) -> str:
    if isinstance(cause, OSError) and cause.errno in FULL_ERRNOS:
        return os.strerror(cause.errno)
    text = str(cause)
    return next((words for words in FULL_TEXTS if words in text), FULL_TEXTS[0])


def _folder_named(cause: BaseException) -> Path | None:
    """The folder of the file the failed write was for, when the error names it."""
    if isinstance(cause, DiskFull):
        return None
    if isinstance(cause, OSError):
        # A rename or link names its target second: that is where the room was missing.
        named = cause.filename2 or cause.filename
        if named:
            return Path(os.fsdecode(named)).parent
    found = _QUOTED_FILE.search(str(cause))
    return Path(found.group(1)).parent if found else None


def disk_full_line(error: BaseException, folder: Path, consequence: str) -> str:
    """`the disk holding <folder> is full (<reason>); <consequence>; free space and run again`.

    `folder` is where the command was writing; the folder the error itself names wins (DuckDB
    and most OSErrors name the file). `consequence` says what stayed as it was.
    """
    cause = full_disk_cause(error) or error
    where = _folder_named(cause) or folder
    reason = _reason(cause)
    return f"the disk holding {where} is full ({reason}); {consequence}; free space and run again"


@contextmanager
def stop_when_full(folder: Path, consequence: str) -> Iterator[None]:
    """Turn a full disk met inside into DiskFull carrying its one line (see `disk_full_line`);
    a DiskFull already put in words inside passes as it is, and every other error too."""
    try:
        yield
    except Exception as error:
        if isinstance(error, DiskFull) or not is_disk_full(error):
            raise
        raise DiskFull(disk_full_line(error, folder, consequence)) from error
