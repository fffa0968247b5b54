"""Report versions: manifest, fingerprints, atomic writes and the "Changes" between versions.

report.md: a version once written is never overwritten or deleted; regenerating with unchanged
figures and inputs writes nothing; a crash leaves the old state or the complete new one.
Versions are compared by content (figures and inputs), never by file hash, because an .xlsx
carries the time it was saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from exports.notes import seed_row_text
from exports.report_data import ReportData, RuleSetting, ScheduleRow, SourceFile
from o211.elements import element_of_order

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


class VersionConflict(FileExistsError):
    """A report file with the next version's name already exists: refuse to overwrite it."""


def report_stem(fiscal_year: str, stage: str, version: int) -> str:
    return f"ON211_ServiceDataSchedule_{fiscal_year}_{stage}_v{version}"


# The precision each unit is reported at (report.md): whole counts, satisfaction to one
# decimal, money to the cent; rounding is half-up as rules.md states.
UNIT_QUANTUM = {"count": Decimal(1), "percent": Decimal("0.1"), "currency": Decimal("0.01")}


def report_value(value: Decimal | None, unit: str) -> Decimal | None:
    """The figure at the precision the report shows, so the workbook and CSV hold one number."""
    if value is None:
        return None
    quantum = UNIT_QUANTUM.get(unit)
    if quantum is None:
        return value
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def format_value(value: Decimal | None, unit: str) -> str:
    """The figure as the CSV and manifest write it: `.` decimal mark, blank when none."""
    rounded = report_value(value, unit)
    if rounded is None:
        return ""
    if unit not in UNIT_QUANTUM and rounded == rounded.to_integral_value():
        return f"{rounded.quantize(Decimal(1)):f}"
    return f"{rounded:f}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def inputs_fingerprint(sources: list[SourceFile], rules_fingerprint: str) -> str:
    """sha256 over the sorted source file hashes and the rules fingerprint."""
    lines = [*sorted(source.sha256 for source in sources), rules_fingerprint]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _schedule_content(row: ScheduleRow) -> dict[str, Any]:
    return {
        "element_order": row.element_order,
        "element": row.element,
        "definition": row.definition,
        "unit": row.unit,
        "value": format_value(row.value, row.unit),
        "numerator": row.numerator,
        "denominator": row.denominator,
        "quarters": [format_value(q, row.unit) for q in row.quarters],
        "basis": row.basis,
    }


def figures_fingerprint(data: ReportData) -> str:
    """A digest of everything the report shows that comes from the data (not times/versions)."""
    units = {row.element_order: row.unit for row in data.schedule}
    content = {
        "stage": [data.stage.stage_kind, str(data.stage.period_start), str(data.stage.period_end)],
        "schedule": [_schedule_content(row) for row in data.schedule],
        "monthly": [
            [
                str(m.month_start),
                m.element_order,
                format_value(m.value, units.get(m.element_order, "")),
                m.numerator,
                m.denominator,
            ]
            for m in data.monthly
        ],
        "audit": [[a.channel, a.seen, a.outcomes, a.balance_ok] for a in data.audit],
        "notes": [
            [n.category, n.channel, n.item, n.count, str(n.amount), n.detail] for n in data.notes
        ],
    }
    return hashlib.sha256(_canonical(content).encode()).hexdigest()


def source_record(source: SourceFile) -> dict[str, Any]:
    return {
        "kind": source.kind,
        "file_name": source.file_name,
        "sha256": source.sha256,
        "rows": source.rows,
        "loaded_at": source.loaded_at.isoformat() if source.loaded_at else None,
        "first_date": str(source.first_date) if source.first_date else None,
        "last_date": str(source.last_date) if source.last_date else None,
    }


def rule_record(rule: RuleSetting) -> dict[str, str]:
    return {"name": rule.name, "value": rule.value, "source": rule.source}


# --- manifest -------------------------------------------------------------------------------


def load_manifest(folder: Path, fiscal_year: str) -> dict[str, Any]:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {"format": MANIFEST_FORMAT, "fiscal_year": fiscal_year, "versions": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); it lists every report version, so it is never"
            " rewritten blindly: restore it from backup or fix it by hand"
        ) from error
    if not isinstance(manifest.get("versions"), list):
        raise ValueError(f"{path} has no 'versions' list; restore it from backup")
    return manifest


def stage_versions(manifest: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    return sorted(
        (v for v in manifest["versions"] if v.get("stage") == stage), key=lambda v: v["version"]
    )


def latest_version(manifest: dict[str, Any], stage: str) -> dict[str, Any] | None:
    versions = stage_versions(manifest, stage)
    return versions[-1] if versions else None


def next_version_number(manifest: dict[str, Any], stage: str) -> int:
    """One more than the last version the manifest lists (the manifest is the commit point)."""
    return max((v["version"] for v in stage_versions(manifest, stage)), default=0) + 1


INCOMPLETE_FOLDER = ".incomplete"


def set_aside_unlisted(folder: Path, manifest: dict[str, Any], fiscal_year: str) -> list[Path]:
    """Move report files that no manifest entry lists into `.incomplete/`, and say which.

    Such a file was left by a crash between publishing a version's files and its manifest entry:
    it never became a version, so it must not sit in the outbox looking like one. It is kept, not
    deleted, and its number is free for the next complete version.
    """
    listed = {
        record["name"] for entry in manifest["versions"] for record in entry["files"].values()
    }
    moved = []
    for path in sorted(folder.glob(f"ON211_ServiceDataSchedule_{fiscal_year}_*")):
        if path.name in listed or not path.is_file():
            continue
        target_folder = folder / INCOMPLETE_FOLDER
        target_folder.mkdir(exist_ok=True)
        target = target_folder / path.name
        suffix = 2
        while target.exists():
            target = target_folder / f"{path.name}.{suffix}"
            suffix += 1
        os.replace(path, target)
        moved.append(target)
    if moved:
        _fsync_directory(folder)
    return moved


# --- atomic writes --------------------------------------------------------------------------


def _fsync_directory(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write_temp(folder: Path, data: bytes, suffix: str) -> Path:
    descriptor, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_new_file(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, atomically; refuse loudly when it does.

    A hard link publishes the complete temp file under its final name and fails if the name is
    taken, so even a race cannot overwrite a version.
    """
    if path.exists():
        raise VersionConflict(
            f"{path} already exists; report versions are never overwritten. Check manifest.json"
            " in that folder: another run may be writing this report"
        )
    temp = _write_temp(path.parent, data, path.suffix)
    try:
        try:
            os.link(temp, path)
        except FileExistsError as error:
            raise VersionConflict(f"{path} appeared while writing; not overwritten") from error
        except OSError:
            # Filesystems without hard links: the check above is the guard.
            os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def replace_file(path: Path, data: bytes) -> None:
    """Replace a file atomically (the manifest): readers see the old or the new, never half."""
    temp = _write_temp(path.parent, data, path.suffix)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- changes between versions -----------------------------------------------------------------


@dataclass(frozen=True)
class InputChange:
    change: str  # "added", "removed", "changed"
    subject: str  # "file" or "rule"
    kind: str  # input kind for a file, rule source for a rule
    name: str
    previous: str
    new: str


@dataclass(frozen=True)
class ElementChange:
    element_order: int
    element: str
    unit: str
    previous: Decimal | None
    new: Decimal | None
    difference: Decimal | None
    why: str


def input_changes(previous: dict[str, Any], data: ReportData) -> list[InputChange]:
    """Files added or removed and rule values changed since the previous version."""
    changes: list[InputChange] = []
    old_files = {s["sha256"]: s for s in previous.get("sources", [])}
    new_files = {s.sha256: s for s in data.sources}
    for sha, source in new_files.items():
        if sha not in old_files:
            changes.append(InputChange("added", "file", source.kind, source.file_name, "", sha))
    for sha, record in old_files.items():
        if sha not in new_files:
            changes.append(
                InputChange("removed", "file", record["kind"], record["file_name"], sha, "")
            )
    old_rules = {r["name"]: r for r in previous.get("rules_config", [])}
    new_rules = {r.name: r for r in data.rules}
    for name in sorted(old_rules.keys() | new_rules.keys()):
        old, new = old_rules.get(name), new_rules.get(name)
        rule_source = new.source if new is not None else (old or {}).get("source", "")
        if rule_source == "seed" and ":" in name:
            # A seed row is recorded as `<seed>:<row as JSON>`: a changed row is one row
            # removed and one added; show the seed's name and the row in words.
            seed = name.split(":", 1)[0]
            if new is not None and old is None:
                changes.append(
                    InputChange("added", "rule", rule_source, seed, "", seed_row_text(new.value))
                )
            elif old is not None and new is None:
                changes.append(
                    InputChange(
                        "removed", "rule", rule_source, seed, seed_row_text(old["value"]), ""
                    )
                )
            continue
        if old is None and new is not None:
            changes.append(InputChange("added", "rule", new.source, name, "", new.value))
        elif new is None and old is not None:
            changes.append(InputChange("removed", "rule", old["source"], name, old["value"], ""))
        elif old is not None and new is not None and old["value"] != new.value:
            changes.append(
                InputChange("changed", "rule", new.source, name, old["value"], new.value)
            )
    if not changes and previous.get("rules_fingerprint") != data.rules_fingerprint:
        changes.append(
            InputChange(
                "changed",
                "rule",
                "config",
                "rules fingerprint",
                previous.get("rules_fingerprint", ""),
                data.rules_fingerprint,
            )
        )
    changes.sort(key=lambda c: (c.subject, c.kind, c.name, c.change))
    return changes


def describe_change(change: InputChange) -> str:
    if change.subject == "file":
        return f"{change.kind} file {change.name} {change.change}"
    if change.change == "changed":
        return f"rule {change.name} {change.previous} -> {change.new}"
    if change.kind == "seed":
        return f"{change.name} row {change.previous or change.new} {change.change}"
    return f"rule {change.name} {change.change}"


def element_changes(
    previous: dict[str, Any], data: ReportData, inputs: list[InputChange], product_version: str
) -> list[ElementChange]:
    """One row per element: previous and new year-to-date value and why it moved."""
    old_figures: dict[str, str] = previous.get("figures", {})
    rule_reasons = [describe_change(c) for c in inputs if c.subject == "rule"]
    rows: list[ElementChange] = []
    for row in data.schedule:
        old_text = old_figures.get(row.element)
        old = Decimal(old_text) if old_text else None
        new = report_value(row.value, row.unit)
        difference = new - old if new is not None and old is not None else None
        if old == new and row.element in old_figures:
            why = "unchanged"
        else:
            # Only files of the kind that feeds the element can explain its change.
            element = element_of_order(row.element_order)
            kinds = (element.source_kind,) if element is not None else ()
            reasons = [
                describe_change(c)
                for c in inputs
                if c.subject == "file" and (not kinds or c.kind in kinds)
            ] + rule_reasons
            if row.element not in old_figures:
                reasons.insert(0, "element not in the previous version")
            if not reasons:
                old_product = previous.get("product_version")
                reasons = ["no input file or rule of this element changed"]
                if old_product != product_version:
                    reasons.append(f"product version {old_product} -> {product_version}")
            why = "; ".join(reasons)
        rows.append(
            ElementChange(row.element_order, row.element, row.unit, old, new, difference, why)
        )
    return rows
