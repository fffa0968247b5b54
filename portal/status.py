"""The data team's status page, read from the folders the pipeline publishes (portal.md).

Never the warehouse and never the Dagster instance: the last load of each kind comes from
`archive/<kind>/` (names start with the UTC load time, so they sort in load order), rejected
files from `rejected/<kind>/`, warnings from the newest report's published workbook, and runs
from what the portal itself was told (run-failure notices) and the manifests' times.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from o211.calendar import fiscal_year_label, fiscal_year_of, stage_end_months, stage_period_end
from o211.kinds import KINDS
from o211.paths import DataPaths
from portal.reports import ReportVersion, all_versions

ARCHIVE_STAMP = "%Y%m%dT%H%M%S%fZ"
ERROR_SUFFIXES = (".errors.csv", ".errors.txt")
DUPLICATE_SUFFIX = ".duplicate"


@dataclass(frozen=True)
class LastLoad:
    kind: str
    file_name: str | None  # None: nothing of this kind was ever loaded
    loaded_at: datetime | None
    files_loaded: int


@dataclass(frozen=True)
class RejectedFile:
    kind: str
    file_name: str
    rejected_at: datetime
    first_problem: str


@dataclass(frozen=True)
class StageStatus:
    fiscal_year: str
    stage: str
    period_end: date
    due_on: date  # when the schedule writes it: period end + the report delay
    state: str  # "upcoming", "due", "overdue" or "written"
    latest: ReportVersion | None


def _archived(name: str) -> tuple[datetime, str] | None:
    """(load time, original name) of an archive file, None for a duplicate or a stray file."""
    stamp, separator, original = name.partition("__")
    if not separator or name.endswith(DUPLICATE_SUFFIX):
        return None
    try:
        return datetime.strptime(stamp, ARCHIVE_STAMP).replace(tzinfo=UTC), original
    except ValueError:
        return None


def last_loads(paths: DataPaths) -> list[LastLoad]:
    loads = []
    for kind in KINDS:
        folder = paths.archive(kind)
        names = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        archived = [found for found in map(_archived, names) if found is not None]
        if archived:
            loaded_at, original = archived[-1]
            loads.append(LastLoad(kind, original, loaded_at, len(archived)))
        else:
            loads.append(LastLoad(kind, None, None, 0))
    return loads


def _first_problem(errors_csv: Path) -> str:
    """The first problem of the `.errors.csv` ingest wrote beside the file (row, column, what)."""
    try:
        with errors_csv.open(encoding="utf-8", errors="replace", newline="") as handle:
            for record in csv.DictReader(handle):
                where = [f"row {record['row']}" if record.get("row") else ""]
                where.append(f"column '{record['column']}'" if record.get("column") else "")
                place = ", ".join(w for w in where if w)
                problem = record.get("problem") or ""
                return (f"{place}: {problem}" if place else problem)[:300]
    except (OSError, csv.Error, KeyError):
        pass
    return ""


def rejected_files(paths: DataPaths) -> list[RejectedFile]:
    """Files ingest refused that still sit in `rejected/` (nothing there is ever deleted)."""
    found = []
    for kind in KINDS:
        folder = paths.rejected(kind)
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.endswith(ERROR_SUFFIXES):
                continue
            found.append(
                RejectedFile(
                    kind=kind,
                    file_name=path.name,
                    rejected_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                    first_problem=_first_problem(path.with_name(path.name + ".errors.csv")),
                )
            )
    return sorted(found, key=lambda r: r.rejected_at, reverse=True)


def stage_statuses(
    paths: DataPaths, today: date, delay_days: int, seed_file: Path | None = None
) -> list[StageStatus]:
    """Each stage of the current and previous fiscal years, and of any year with reports."""
    end_months = stage_end_months(seed_file) if seed_file else stage_end_months()
    listed = all_versions(paths.outbox)
    current = fiscal_year_of(today)
    previous = fiscal_year_label(int(current[:4]) - 1)
    years = sorted({current, previous, *(v.fiscal_year for v in listed)}, reverse=True)
    latest: dict[tuple[str, str], ReportVersion] = {}
    for version in listed:
        key = (version.fiscal_year, version.stage)
        if key not in latest or version.version > latest[key].version:
            latest[key] = version
    statuses = []
    for year in years:
        for stage, end_month in end_months.items():
            period_end = stage_period_end(year, end_month)
            due_on = period_end + timedelta(days=delay_days)
            written = latest.get((year, stage))
            if written is not None:
                state = "written"
            elif period_end >= today:
                state = "upcoming"
            elif due_on < today:
                state = "overdue"
            else:
                state = "due"
            statuses.append(StageStatus(year, stage, period_end, due_on, state, written))
    return statuses


def newest_version(paths: DataPaths) -> ReportVersion | None:
    """The version written last, whatever its stage: its notes are the freshest warnings."""
    listed = all_versions(paths.outbox)
    return max(listed, key=lambda v: v.generated_at) if listed else None
