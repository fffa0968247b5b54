"""What the o211 commands do, step by step, and the tables they print.

Every step that touches the warehouse executes a job of `orchestration.definitions` through
`orchestration.execution`, so it appears in the Dagster UI and keeps to the one-writer pool.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from o211.calendar import (
    ReportStage,
    latest_complete_fiscal_year,
    report_delay_days,
    stage_end_months,
    stages_due,
)
from o211.kinds import KINDS
from o211.locking import LOCK_NAME
from o211.paths import DataPaths
from o211.warehouse import connect
from orchestration.execution import describe_failure, execute, instance

console = Console(stderr=False)
progress_console = Console(stderr=True)


def demo_fiscal_year(today: date) -> str:
    """The latest fiscal year whose Q2, Q3 and final reports are all due today."""
    return latest_complete_fiscal_year(today, stage_end_months())


@contextmanager
def working(message: str) -> Iterator[Status]:
    """A spinner on stderr while long work runs."""
    with progress_console.status(message, spinner="dots") as status:
        yield status


class StatusLine(io.TextIOBase):
    """Shows the latest line written (dbt's progress, which dagster-dbt echoes to stdout) in the
    spinner instead of scrolling hundreds of lines past; O211_DEBUG=1 keeps the full output."""

    def __init__(self, status: Status, prefix: str) -> None:
        self._status = status
        self._prefix = prefix

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            latest = escape(lines[-1][:90])
            self._status.update(f"{self._prefix}: {latest}")
        return len(text)


def write_sample(out_dir: Path, fiscal_year: str, scale: float, seed: int) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ingest.sample import write_sample as generate

    out_dir.mkdir(parents=True, exist_ok=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=True) as bar:
        task = bar.add_task(f"Writing synthetic extracts for {fiscal_year}")
        written: dict[str, int] = {}

        def advance(kind: str, rows: int) -> None:
            written[kind] = written.get(kind, 0) + rows
            done = ", ".join(f"{k} {n:,}" for k, n in written.items())
            bar.update(task, description=f"Writing synthetic extracts for {fiscal_year}: {done}")

        generate(out_dir, fiscal_year, scale, seed, progress=advance)


def require_fresh(paths: DataPaths) -> None:
    """The demo writes a whole year of extracts: refuse a data directory already in use."""
    if not paths.root.exists():
        return
    # What every command makes before any data arrives (the key, the writer lock, the Dagster
    # instance that set-up's `o211 prepare` already opened) does not make a directory used.
    own = {paths.pii_key_file.name, LOCK_NAME, paths.dagster_home.name}
    used = sorted(p.name for p in paths.root.iterdir() if p.name not in own)
    if used:
        raise RuntimeError(
            f"the demo needs an empty data directory, but {paths.root} holds {', '.join(used)}; "
            "set O211_DATA_DIR to a new folder"
        )


@dataclass(frozen=True)
class FileRow:
    """One line of the ingest table, read back from the ingest assets' metadata."""

    kind: str
    file: str
    status: str
    rows: int
    reason: str


def ingest(paths: DataPaths) -> list[FileRow]:
    """Run the ingest job and return its table; an empty inbox with the blocklist already
    loaded returns no rows without starting Dagster (`orchestration.quiet_inbox`)."""
    from orchestration.quiet_inbox import nothing_to_ingest

    paths.ensure()
    if nothing_to_ingest(paths):
        return []
    with working("Loading the inbox"):
        result = execute("ingest")
    rows: list[FileRow] = []
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        files = materialization.metadata.get("files")
        # The ingest asset records a JSON list of one object per file (assets/ingest.py).
        entries = files.value if files is not None else []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            rows.append(
                FileRow(
                    entry["kind"], entry["file"], entry["status"], entry["rows"], entry["reason"]
                )
            )
    return rows


def print_ingest_table(rows: Sequence[FileRow], detail_limit: int = 40) -> None:
    """One line per file; past `detail_limit` files, one line per kind and status instead,
    with every rejected file still listed by name."""
    if not rows:
        console.print("Inbox empty and blocklist unchanged: nothing to load.")
        return
    colours = {"accepted": "green", "rejected": "red", "duplicate": "yellow"}

    def status(text: str) -> str:
        return f"[{colours[text]}]{text}[/]" if text in colours else text

    def order(row: FileRow) -> tuple[int, str]:
        return (KINDS.index(row.kind) if row.kind in KINDS else len(KINDS), row.file)

    table = Table(title="Ingest")
    table.add_column("kind")
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("reason", overflow="fold")
    if len(rows) <= detail_limit:
        for row in sorted(rows, key=order):
            table.add_row(row.kind, row.file, status(row.status), f"{row.rows:,}", row.reason)
    else:
        groups: dict[tuple[str, str], list[FileRow]] = {}
        for row in sorted(rows, key=order):
            groups.setdefault((row.kind, row.status), []).append(row)
        for (kind, state), members in groups.items():
            if state == "rejected":
                for row in members:
                    table.add_row(kind, row.file, status(state), "0", row.reason)
            else:
                table.add_row(kind, f"{len(members)} file(s)", status(state),
                              f"{sum(r.rows for r in members):,}", "")  # fmt: skip
    console.print(table)


def build(paths: DataPaths) -> bool:
    """Run the build job; False when nothing changed since the last successful build, so dbt
    was not run (`orchestration.build_stamp`), which it says in one line."""
    from orchestration import build_stamp

    paths.ensure()
    if build_stamp.build_is_current(paths):
        console.print(
            "Nothing new loaded and no rule or dbt project change since the last build: "
            "the warehouse is up to date (dbt not run)."
        )
        return False
    fingerprint = build_stamp.inputs_before_build(paths)
    message = "Building the warehouse (dbt build: models and tests)"
    with working(message) as status:
        if os.environ.get("O211_DEBUG") == "1":
            execute("build")
        else:
            with contextlib.redirect_stdout(StatusLine(status, message)):
                execute("build")
    build_stamp.stamp_after_build(paths, fingerprint)
    return True


NO_DATA = "no data"


@dataclass(frozen=True)
class ReportOutcome:
    stage: ReportStage
    status: str  # written, unchanged, failed or no data (then `problem` says why in one line)
    version: int | None
    paths: tuple[str, ...]
    problem: str = ""


def register_fiscal_years(fiscal_years: Sequence[str]) -> None:
    from orchestration.partitions import FISCAL_YEARS

    with instance() as dagster_instance:
        known = set(dagster_instance.get_dynamic_partitions(FISCAL_YEARS))
        missing = [year for year in fiscal_years if year not in known]
        if missing:
            dagster_instance.add_dynamic_partitions(FISCAL_YEARS, missing)


def known_fiscal_years() -> list[str]:
    from orchestration.partitions import FISCAL_YEARS

    with instance() as dagster_instance:
        return sorted(dagster_instance.get_dynamic_partitions(FISCAL_YEARS))


def unchanged_report(target: ReportStage) -> ReportOutcome | None:
    """The report as it stands when writing it again would change nothing (issue 11: an
    unchanged report in well under 2 s instead of loading the Dagster definitions).

    `exports.report.current_report` reads the marts and the manifest and answers only when the
    report job would find the same (figures and inputs unchanged, files as written); nothing is
    written, so no Dagster run is recorded: the asset's latest materialization stays the current
    one. Any doubt or error goes the usual way through Dagster, which then reports it.
    """
    from exports.report import current_report

    try:
        current = current_report(DataPaths.from_env(), target.fiscal_year, target.stage)
    except Exception:
        return None
    if current is None:
        return None
    return ReportOutcome(
        target, current.status, current.version, (str(current.xlsx_path), str(current.csv_path))
    )


def report(fiscal_year: str, stage: str) -> ReportOutcome:
    target = ReportStage(fiscal_year, stage)
    unchanged = unchanged_report(target)
    if unchanged is not None:
        return unchanged
    from orchestration.partitions import report_partition_key

    register_fiscal_years([fiscal_year])
    with working(f"Writing the {target} report"):
        result = execute("reports", partition_key=str(report_partition_key(target)))
    metadata: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        metadata = {
            k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()
        }
    return ReportOutcome(
        target,
        str(metadata.get("status", "written")),
        int(metadata["version"]) if metadata.get("version") is not None else None,
        tuple(str(metadata[k]) for k in ("workbook", "csv") if metadata.get(k)),
    )


def warehouse_fiscal_years(paths: DataPaths) -> list[str]:
    """The fiscal years the warehouse's loaded files cover, registered as report partitions.

    The loads themselves register them, but a run that loads nothing (an empty inbox, a build
    killed and run again, a restored or rebuilt warehouse, a new Dagster home) must still find
    the years its data holds: the warehouse, not the instance, is the source of truth.
    """
    from ingest.warehouse import loaded_fiscal_years

    if not paths.warehouse.exists():
        return []
    with connect(paths.warehouse) as con:
        years = loaded_fiscal_years(con)
    register_fiscal_years(years)
    return years


def due_reports(today: date, fiscal_years: Sequence[str] | None = None) -> list[ReportOutcome]:
    """Write every report whose period has ended; unchanged ones are left as they are.

    Without `fiscal_years`, the years are those the loaded files touch; one the marts hold no
    schedule for (only a call segment past midnight on 31 March reached it, say) is listed as
    having nothing to report instead of failing every nightly run until its data arrives.
    """
    empty: set[str] = set()
    if fiscal_years is None:
        paths = DataPaths.from_env()
        loaded = warehouse_fiscal_years(paths)
        years = sorted(set(known_fiscal_years()) | set(loaded))
        empty = years_without_schedule(paths, years)
    else:
        years = list(fiscal_years)
    due = stages_due(today, years, stage_end_months(), report_delay_days())
    return [
        nothing_to_report(stage) if stage.fiscal_year in empty else report_or_failure(stage)
        for stage in due
    ]


def years_without_schedule(paths: DataPaths, years: Sequence[str]) -> set[str]:
    """The `years` the built marts hold no schedule for; none when the marts cannot be read
    (each report then fails with the reason)."""
    from exports.marts import scheduled_fiscal_years
    from exports.report_data import ReportDataMissing

    try:
        scheduled = scheduled_fiscal_years(paths.warehouse)
    except ReportDataMissing:
        return set()
    return set(years) - scheduled


def nothing_to_report(stage: ReportStage) -> ReportOutcome:
    problem = (
        f"no contact, session or expenditure of fiscal year {stage.fiscal_year} counts yet"
        " (the loaded files only touch it): nothing to report until its extracts arrive"
    )
    return ReportOutcome(stage, NO_DATA, None, (), problem)


def report_or_failure(stage: ReportStage) -> ReportOutcome:
    """One stage's report, or its failure in one line: a stage whose marts are missing (or
    whose writing fails) must not keep the other due stages from being written."""
    try:
        return report(stage.fiscal_year, stage.stage)
    except Exception as error:  # any failure of this stage is reported, the others still run
        return ReportOutcome(stage, "failed", None, (), describe_failure(error))


def failed_reports_line(outcomes: Sequence[ReportOutcome]) -> str | None:
    """One line naming every stage whose report failed, or None when none did."""
    failed = [f"{o.stage}: {o.problem}" for o in outcomes if o.status == "failed"]
    if not failed:
        return None
    return f"{len(failed)} of {len(outcomes)} due report(s) failed ({'; '.join(failed)})"


def print_reports(outcomes: Sequence[ReportOutcome]) -> None:
    if not outcomes:
        console.print("No report is due.")
        return
    table = Table(title="Reports")
    for column in ("fiscal year", "stage", "status", "version"):
        table.add_column(column)
    table.add_column("files", overflow="fold")
    for outcome in outcomes:
        table.add_row(
            outcome.stage.fiscal_year,
            outcome.stage.stage,
            outcome.status,
            f"v{outcome.version}" if outcome.version else "",
            "\n".join(outcome.paths) or escape(outcome.problem),
        )
    console.print(table)
    folders = sorted({str(Path(p).parent) for o in outcomes for p in o.paths})
    for folder in folders:
        console.print(f"Reports are in {folder}")


def finance_template(path: Path) -> Path:
    from exports.template import seed_funding_sources, write_finance_template

    path.parent.mkdir(parents=True, exist_ok=True)
    write_finance_template(path, seed_funding_sources())
    return path


def rebuild(paths: DataPaths) -> None:
    paths.ensure()
    with working("Rebuilding the raw warehouse from archive/"):
        execute("rebuild_raw")
