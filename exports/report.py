"""Write the ministry report of one fiscal year and stage (report.md), or say why not.

The marts are read into memory through one brief read-only connection, closed before any file
is written. Files are published atomically and the manifest last, under a lock so two runs for
the same fiscal year cannot interleave.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from exports.csv_export import csv_bytes
from exports.marts import read_all_report_data, read_report_data
from exports.report_data import ReportData
from exports.versions import (
    MANIFEST_NAME,
    ElementChange,
    InputChange,
    describe_change,
    element_changes,
    figures_fingerprint,
    format_value,
    input_changes,
    inputs_fingerprint,
    latest_version,
    load_manifest,
    manifest_bytes,
    next_version_number,
    replace_file,
    report_stem,
    report_value,
    rule_record,
    set_aside_unlisted,
    sha256_file,
    source_record,
    write_new_file,
)
from exports.workbook import VersionInfo, build_workbook, workbook_bytes
from o211.calendar import TORONTO
from o211.full_disk import stop_when_full
from o211.paths import DataPaths


@dataclass(frozen=True)
class ReportResult:
    status: str  # "written" or "unchanged"
    fiscal_year: str
    stage: str
    version: int
    xlsx_path: Path
    csv_path: Path
    figures: dict[str, Decimal | None]
    fingerprint: str  # inputs fingerprint: source file hashes + rules fingerprint
    figures_fingerprint: str
    reason: str


def installed_product_version() -> str:
    return importlib.metadata.version("o211")


def _figures(data: ReportData) -> dict[str, Decimal | None]:
    return {row.element: report_value(row.value, row.unit) for row in data.schedule}


def _manifest_figures(data: ReportData) -> dict[str, str | None]:
    return {row.element: format_value(row.value, row.unit) or None for row in data.schedule}


def _is_current(entry: dict[str, Any] | None, figures_fp: str, inputs_fp: str) -> bool:
    return (
        entry is not None
        and entry.get("figures_fingerprint") == figures_fp
        and entry.get("inputs_fingerprint") == inputs_fp
    )


def _fingerprints(data: ReportData) -> tuple[str, str]:
    """(figures, inputs) fingerprints: what a version is compared by."""
    return figures_fingerprint(data), inputs_fingerprint(data.sources, data.rules_fingerprint)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One writer per outbox folder: the manifest is read, extended and replaced under it."""
    with (folder / ".manifest.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reason(
    version: int, changes: list[ElementChange], inputs: list[InputChange], data: ReportData
) -> str:
    if not changes:
        return f"first version of {data.stage.fiscal_year} {data.stage.stage}"
    moved = [
        f"{c.element} {format_value(c.previous, c.unit) or 'blank'} -> "
        f"{format_value(c.new, c.unit) or 'blank'}"
        for c in changes
        if c.why != "unchanged"
    ]
    parts = [
        "figures: " + "; ".join(moved) if moved else "figures unchanged",
        "inputs: " + ", ".join(map(describe_change, inputs)) if inputs else "inputs unchanged",
    ]
    return f"changed since v{version - 1}: " + "; ".join(parts)


def write_report(
    paths: DataPaths,
    fiscal_year: str,
    stage: str,
    product_version: str | None = None,
    now: datetime | None = None,
) -> ReportResult:
    """Write `ON211_ServiceDataSchedule_<FY>_<stage>_v<N>.xlsx|csv` unless nothing changed."""
    data = read_report_data(paths.warehouse, fiscal_year, stage)
    version_label = product_version or installed_product_version()
    generated_at = now or datetime.now(UTC)
    if generated_at.tzinfo is None:
        raise ValueError("now must be time-zone aware (report times are shown in Toronto time)")
    folder = paths.outbox / fiscal_year
    # On a full disk `_write_locked` takes back whatever it had written: the outbox is as it was.
    consequence = f"nothing was published (the {fiscal_year} {stage} report stays as it was)"
    with stop_when_full(folder, consequence):
        folder.mkdir(parents=True, exist_ok=True)
        with _folder_lock(folder):
            return _write_locked(data, folder, version_label, generated_at)


def _set_aside_note(moved: list[Path]) -> str:
    if not moved:
        return ""
    names = ", ".join(path.name for path in moved)
    return (
        f" (files of an interrupted earlier run, never listed as a version, moved to "
        f"{moved[0].parent.name}/: {names})"
    )


def _write_locked(
    data: ReportData, folder: Path, version_label: str, generated_at: datetime
) -> ReportResult:
    fiscal_year, stage = data.stage.fiscal_year, data.stage.stage
    # Under the lock no other writer is busy: a temp file here was left by a crash.
    for leftover in folder.glob(".tmp-*"):
        leftover.unlink(missing_ok=True)
    manifest = load_manifest(folder, fiscal_year)
    set_aside = set_aside_unlisted(folder, manifest, fiscal_year)
    previous = latest_version(manifest, stage)
    figures_fp, inputs_fp = _fingerprints(data)
    if previous is not None and _is_current(previous, figures_fp, inputs_fp):
        note = _set_aside_note(set_aside)
        return _unchanged(folder, previous, data, (figures_fp, inputs_fp), note)

    version = next_version_number(manifest, stage)
    inputs = input_changes(previous, data) if previous else []
    changes = element_changes(previous, data, inputs, version_label) if previous else []
    info = VersionInfo(
        version=version,
        generated_at=generated_at,
        product_version=version_label,
        inputs_fingerprint=inputs_fp,
        previous_version=previous["version"] if previous else None,
        element_changes=changes,
        input_changes=inputs,
    )
    stem = report_stem(fiscal_year, stage, version)
    xlsx_path, csv_path = folder / f"{stem}.xlsx", folder / f"{stem}.csv"
    # Build both files in memory first: a failure here leaves nothing on disk.
    xlsx_data = workbook_bytes(build_workbook(data, info))
    csv_data = csv_bytes(data)
    manifest["versions"].append(
        {
            "stage": stage,
            "stage_kind": data.stage.stage_kind,
            "period_start": data.stage.period_start.isoformat(),
            "period_end": data.stage.period_end.isoformat(),
            "version": version,
            "generated_at": generated_at.astimezone(TORONTO).isoformat(),
            "product_version": version_label,
            "files": {
                "xlsx": {"name": xlsx_path.name, "sha256": hashlib.sha256(xlsx_data).hexdigest()},
                "csv": {"name": csv_path.name, "sha256": hashlib.sha256(csv_data).hexdigest()},
            },
            "figures": _manifest_figures(data),
            "figures_fingerprint": figures_fp,
            "rules_fingerprint": data.rules_fingerprint,
            "inputs_fingerprint": inputs_fp,
            "sources": [source_record(s) for s in data.sources],
            "rules_config": [rule_record(r) for r in data.rules],
        }
    )
    _publish(folder, ((xlsx_path, xlsx_data), (csv_path, csv_data)), manifest)
    return ReportResult(
        status="written",
        fiscal_year=fiscal_year,
        stage=stage,
        version=version,
        xlsx_path=xlsx_path,
        csv_path=csv_path,
        figures=_figures(data),
        fingerprint=inputs_fp,
        figures_fingerprint=figures_fp,
        reason=_reason(version, changes, inputs, data) + _set_aside_note(set_aside),
    )


def _publish(folder: Path, files: Sequence[tuple[Path, bytes]], manifest: dict[str, Any]) -> None:
    """Publish a version's files, then the manifest that makes them a version (the commit point).

    An error before the manifest is replaced (a full disk, above all) takes back the files this
    attempt published: they never became a version, and a full disk needs the room. A crash,
    which cannot clean up, or an interruption (which could land just after the manifest was
    replaced, when they are a version) leaves them for the next run to set aside.
    """
    published: list[Path] = []
    try:
        for path, data in files:
            write_new_file(path, data)
            published.append(path)
        replace_file(folder / MANIFEST_NAME, manifest_bytes(manifest))
    except Exception:
        for path in published:
            path.unlink(missing_ok=True)
        raise


def current_report(paths: DataPaths, fiscal_year: str, stage: str) -> ReportResult | None:
    """The stage's latest version when `write_report` would leave it as it is, else None.

    Current means: its figures and inputs fingerprints equal the warehouse's (what
    `write_report` compares), its two files still have the bytes the manifest records (so they
    still hold the warehouse's figures), and no interrupted run left files to tidy. Reads only,
    so the command line can answer an unchanged report without starting Dagster; on None the
    report goes through `write_report` as always.
    """
    folder = paths.outbox / fiscal_year
    if not (folder / MANIFEST_NAME).is_file() or any(folder.glob(".tmp-*")):
        return None
    manifest = load_manifest(folder, fiscal_year)
    previous = latest_version(manifest, stage)
    if previous is None:
        return None
    listed = {
        record["name"] for entry in manifest["versions"] for record in entry["files"].values()
    }
    for path in folder.glob(f"ON211_ServiceDataSchedule_{fiscal_year}_*"):
        if path.name not in listed and path.is_file():
            return None  # write_report would set it aside first
    for record in previous["files"].values():
        path = folder / record["name"]
        if not path.is_file() or sha256_file(path) != record["sha256"]:
            return None
    data = read_report_data(paths.warehouse, fiscal_year, stage)
    figures_fp, inputs_fp = _fingerprints(data)
    if not _is_current(previous, figures_fp, inputs_fp):
        return None
    return _unchanged(folder, previous, data, (figures_fp, inputs_fp))


def _unchanged(
    folder: Path,
    previous: dict[str, Any],
    data: ReportData,
    fingerprints: tuple[str, str],
    note: str = "",
) -> ReportResult:
    """The result of a stage whose latest version already holds these figures and inputs."""
    figures_fp, inputs_fp = fingerprints
    return ReportResult(
        status="unchanged",
        fiscal_year=data.stage.fiscal_year,
        stage=data.stage.stage,
        version=previous["version"],
        xlsx_path=folder / previous["files"]["xlsx"]["name"],
        csv_path=folder / previous["files"]["csv"]["name"],
        figures=_figures(data),
        fingerprint=inputs_fp,
        figures_fingerprint=figures_fp,
        reason=f"figures and inputs unchanged since v{previous['version']}{note}",
    )


def due_stages(paths: DataPaths, today: date | None = None) -> list[tuple[str, str]]:
    """Fiscal year and stage pairs whose period has ended and whose report is missing or stale.

    "Ended" is judged by today's date in Toronto; stale means the figures or the inputs differ
    from the latest version in the manifest.
    """
    local_today = today or datetime.now(TORONTO).date()
    due = []
    manifests: dict[str, dict[str, Any]] = {}
    for data in read_all_report_data(paths.warehouse, ended_before=local_today):
        fiscal_year, stage = data.stage.fiscal_year, data.stage.stage
        if fiscal_year not in manifests:
            manifests[fiscal_year] = load_manifest(paths.outbox / fiscal_year, fiscal_year)
        if not _is_current(latest_version(manifests[fiscal_year], stage), *_fingerprints(data)):
            due.append((fiscal_year, stage))
    return due
