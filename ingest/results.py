"""What ingest reports about each file: the result types and the statuses they carry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest import readers
from ingest.problems import Problem

ACCEPTED, REJECTED, DUPLICATE, SKIPPED = "accepted", "rejected", "duplicate", "skipped"


@dataclass
class FileResult:
    """What happened to one file.

    status: `accepted` (loaded; `archive_path` set), `rejected` (nothing loaded; the original is
    at `rejected_path`, problems listed), `duplicate` (same bytes already loaded; nothing
    loaded). `reason` is one line for a table; `problems` are the detailed rows (a bounded list;
    `problem_count` is the exact total). The `config/blocklist.csv` result has kind `blocklist`
    and is never moved.
    """

    kind: str
    file_name: str
    status: str
    rows: int = 0
    reason: str = ""
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    archive_path: Path | None = None
    rejected_path: Path | None = None
    sha256: str = ""
    load_id: int | None = None
    extra_columns: list[str] = field(default_factory=list)
    encoding: str | None = None

    @property
    def errors_txt(self) -> Path | None:
        """The plain-language summary beside a rejected file."""
        return None if self.rejected_path is None else Path(f"{self.rejected_path}.errors.txt")

    @property
    def errors_csv(self) -> Path | None:
        return None if self.rejected_path is None else Path(f"{self.rejected_path}.errors.csv")


@dataclass
class CheckResult:
    """A validation without loading: the same problems a rejection would give."""

    kind: str
    file_name: str
    rows: int
    problems: list[Problem]
    problem_count: int
    encoding: str | None
    extra_columns: list[str]
    summary: str

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    # A CheckResult also reads as its list of problems (empty = the file would load).
    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)


def unreadable(error: Exception) -> Problem:
    """The whole-file problem of a file that a library could not read."""
    return Problem(None, None, None, "file.unreadable", _error_params(error))


def unexpected(error: Exception) -> Problem:
    """The whole-file problem of an error ingest did not foresee (it rejects only that file)."""
    return Problem(None, None, None, "file.unexpected_error", _error_params(error))


def _error_params(error: Exception) -> dict[str, str]:
    return {"error_type": type(error).__name__, "error": readers.plain_error(error)}
