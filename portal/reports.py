"""The portal's one read-only seam to the published reports (portal.md, "Report review").

Everything here reads what `exports` published in `outbox/<FY>/`: the manifest, the CSV and
the workbook. The warehouse is never opened (the pipeline may hold it for minutes during a
build). The manifest format belongs to `exports.versions`; this module only reads it through
`load_manifest`, and reads the workbook's sheets by their header names, so a column moved in
the workbook is a one-line fix here.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from exports.versions import MANIFEST_NAME, load_manifest

FISCAL_YEAR_PATTERN = re.compile(r"^\d{4}-\d{2}$")
STAGE_ORDER = ("Q1", "Q2", "Q3", "final")
FILE_KINDS = ("xlsx", "csv")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


class ReportFileRefused(Exception):
    """A report file that must not be served: missing, or its bytes differ from the manifest."""


class ManifestUnreadable(ReportFileRefused):
    """A manifest that is not valid JSON or lists no versions: nothing of that year is shown."""


@dataclass(frozen=True)
class ReportFile:
    kind: str  # "xlsx" or "csv"
    name: str
    sha256: str


@dataclass(frozen=True)
class ReportVersion:
    """One version of one stage as the manifest lists it."""

    fiscal_year: str
    stage: str
    stage_kind: str
    version: int
    generated_at: datetime
    period_start: str
    period_end: str
    xlsx: ReportFile
    csv: ReportFile
    figures: dict[str, str | None]
    rules_fingerprint: str
    inputs_fingerprint: str
    sources_count: int
    product_version: str

    @property
    def key(self) -> str:
        """The version's name in notification keys and URLs: `2025-26|Q2|v2`."""
        return f"{self.fiscal_year}|{self.stage}|v{self.version}"

    def file(self, kind: str) -> ReportFile:
        if kind not in FILE_KINDS:
            raise KeyError(kind)
        return self.xlsx if kind == "xlsx" else self.csv


@dataclass(frozen=True)
class ElementRow:
    """One row of the Service Data sheet: year-to-date and the four quarters (None = blank)."""

    element: str
    unit: str  # "count", "percent" or "currency", read from the cell's number format
    year_to_date: Decimal | None
    quarters: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]
    basis: str


@dataclass(frozen=True)
class ExclusionRow:
    channel: str
    seen: int
    outcomes: dict[str, int | None]  # heading as the workbook writes it -> count
    balance_holds: bool


@dataclass(frozen=True)
class NoteRow:
    section: str
    subject: str
    note: str
    count: int | None
    amount: Decimal | None


@dataclass(frozen=True)
class ChangeRow:
    element: str
    unit: str
    previous: Decimal | None
    new: Decimal | None
    difference: Decimal | None
    why: str


@dataclass(frozen=True)
class InputChangeRow:
    name: str
    change: str
    kind: str
    previous: str
    new: str


@dataclass(frozen=True)
class VersionView:
    """What a version's page shows, all read back from its published workbook."""

    version: ReportVersion
    elements: list[ElementRow]
    exclusions: list[ExclusionRow]
    notes: list[NoteRow]
    changes: list[ChangeRow]
    input_changes: list[InputChangeRow]

    @property
    def warnings(self) -> list[NoteRow]:
        return [n for n in self.notes if n.section.startswith("Data quality")]

    @property
    def methodology(self) -> list[NoteRow]:
        return [n for n in self.notes if not n.section.startswith("Data quality")]


def fiscal_years(outbox: Path) -> list[str]:
    """Fiscal years with a manifest, newest first."""
    if not outbox.is_dir():
        return []
    years = [
        p.name
        for p in outbox.iterdir()
        if FISCAL_YEAR_PATTERN.match(p.name) and (p / MANIFEST_NAME).is_file()
    ]
    return sorted(years, reverse=True)


def _file(kind: str, record: dict[str, Any]) -> ReportFile:
    return ReportFile(kind=kind, name=str(record["name"]), sha256=str(record["sha256"]))


def _version(fiscal_year: str, entry: dict[str, Any]) -> ReportVersion:
    return ReportVersion(
        fiscal_year=fiscal_year,
        stage=str(entry["stage"]),
        stage_kind=str(entry.get("stage_kind", "")),
        version=int(entry["version"]),
        generated_at=datetime.fromisoformat(entry["generated_at"]),
        period_start=str(entry.get("period_start", "")),
        period_end=str(entry.get("period_end", "")),
        xlsx=_file("xlsx", entry["files"]["xlsx"]),
        csv=_file("csv", entry["files"]["csv"]),
        figures=dict(entry.get("figures", {})),
        rules_fingerprint=str(entry.get("rules_fingerprint", "")),
        inputs_fingerprint=str(entry.get("inputs_fingerprint", "")),
        sources_count=len(entry.get("sources", [])),
        product_version=str(entry.get("product_version", "")),
    )


def _stage_rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


def versions(outbox: Path, fiscal_year: str) -> list[ReportVersion]:
    """Every version of the fiscal year, by stage in the schedule's order, then version."""
    if not FISCAL_YEAR_PATTERN.match(fiscal_year):
        return []
    try:
        manifest = load_manifest(outbox / fiscal_year, fiscal_year)
    except (ValueError, KeyError) as error:
        raise ManifestUnreadable(
            f"outbox/{fiscal_year}/manifest.json cannot be read; restore it from backup"
        ) from error
    listed = [_version(fiscal_year, entry) for entry in manifest["versions"]]
    return sorted(listed, key=lambda v: (_stage_rank(v.stage), v.stage, v.version))


def all_versions(outbox: Path) -> list[ReportVersion]:
    return [v for year in fiscal_years(outbox) for v in versions(outbox, year)]


def find_version(outbox: Path, fiscal_year: str, stage: str, version: int) -> ReportVersion | None:
    for candidate in versions(outbox, fiscal_year):
        if candidate.stage == stage and candidate.version == version:
            return candidate
    return None


def current_versions(listed: list[ReportVersion]) -> dict[tuple[str, str], ReportVersion]:
    """The newest version of each fiscal year and stage: the only one that can be sent."""
    current: dict[tuple[str, str], ReportVersion] = {}
    for version in listed:
        key = (version.fiscal_year, version.stage)
        if key not in current or version.version > current[key].version:
            current[key] = version
    return current


def is_current(version: ReportVersion, outbox: Path) -> bool:
    newest = current_versions(versions(outbox, version.fiscal_year))
    return newest[(version.fiscal_year, version.stage)].version == version.version


# --- files ----------------------------------------------------------------------------------


def verified_bytes(outbox: Path, version: ReportVersion, kind: str) -> bytes:
    """The file's bytes, only when their SHA-256 is the one the manifest recorded.

    Read once into memory and hashed there, so what is checked is exactly what is served: a
    file replaced between a check and a second read cannot slip through.
    """
    listed = version.file(kind)
    path = outbox / version.fiscal_year / listed.name
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ReportFileRefused(f"{listed.name} cannot be read ({error.strerror})") from error
    actual = hashlib.sha256(data).hexdigest()
    if actual != listed.sha256:
        raise ReportFileRefused(
            f"{listed.name} differs from the version the manifest lists (SHA-256 {actual},"
            f" expected {listed.sha256}); it was changed after it was written"
        )
    return data


# --- the workbook read back -------------------------------------------------------------------


def _unit(number_format: str) -> str:
    """The element's unit from the cell format exports gives it (exports.workbook)."""
    if "%" in number_format or "pts" in number_format:
        return "percent"
    if "$" in number_format:
        return "currency"
    return "count"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float):
        # The workbook stores 2-decimal money and 1-decimal percentages as floats.
        return Decimal(repr(value))
    return Decimal(value) if isinstance(value, (int, str)) else None


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _rows(sheet: Any) -> list[tuple[Any, ...]]:
    """Rows as (value, number_format) cells, without trailing empty rows."""
    rows = []
    for row in sheet.iter_rows():
        cells = tuple((getattr(c, "value", None), getattr(c, "number_format", "")) for c in row)
        if any(value is not None for value, _ in cells):
            rows.append(cells)
    return rows


def _body(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Data rows of the first table on a sheet; "None" marks an empty table (workbook.py)."""
    body = rows[1:]
    if len(body) == 1 and body[0][0][0] == "None":
        return []
    return body


def _elements(rows: list[tuple[Any, ...]]) -> list[ElementRow]:
    elements = []
    for row in _body(rows):
        cells = list(row) + [(None, "")] * (8 - len(row))
        element, _definition, ytd, q1, q2, q3, q4, basis = cells[:8]
        elements.append(
            ElementRow(
                element=_text(element[0]),
                unit=_unit(ytd[1] or ""),
                year_to_date=_decimal(ytd[0]),
                quarters=(_decimal(q1[0]), _decimal(q2[0]), _decimal(q3[0]), _decimal(q4[0])),
                basis=_text(basis[0]),
            )
        )
    return elements


def _exclusions(rows: list[tuple[Any, ...]]) -> list[ExclusionRow]:
    if not rows:
        return []
    headers = [_text(value) for value, _ in rows[0]]
    # Channel, Contacts seen, the outcomes..., Seen minus all outcomes, Balance holds.
    outcome_headings = headers[2:-2]
    result = []
    for row in _body(rows):
        values = [value for value, _ in row]
        result.append(
            ExclusionRow(
                channel=_text(values[0]),
                seen=int(values[1] or 0),
                outcomes={h: _int(v) for h, v in zip(outcome_headings, values[2:-2], strict=True)},
                balance_holds=bool(values[-1]),
            )
        )
    return result


def _notes(rows: list[tuple[Any, ...]]) -> list[NoteRow]:
    notes = []
    for row in _body(rows):
        values = [value for value, _ in row] + [None] * (5 - len(row))
        notes.append(
            NoteRow(
                section=_text(values[0]),
                subject=_text(values[1]),
                note=_text(values[2]),
                count=_int(values[3]),
                amount=_decimal(values[4]),
            )
        )
    return notes


def _changes(rows: list[tuple[Any, ...]]) -> tuple[list[ChangeRow], list[InputChangeRow]]:
    """The Changes sheet: element rows, a blank gap, then the input-change table."""
    elements: list[ChangeRow] = []
    inputs: list[InputChangeRow] = []
    if not rows:
        return elements, inputs
    second_header = next(
        (i for i, row in enumerate(rows) if i > 0 and _text(row[0][0]) == "File or rule"),
        len(rows),
    )
    for row in _body(rows[:second_header]):
        cells = list(row) + [(None, "")] * (5 - len(row))
        elements.append(
            ChangeRow(
                element=_text(cells[0][0]),
                unit=_unit(cells[2][1] or ""),
                previous=_decimal(cells[1][0]),
                new=_decimal(cells[2][0]),
                difference=_decimal(cells[3][0]),
                why=_text(cells[4][0]),
            )
        )
    for row in _body(rows[second_header:]):
        values = [_text(value) for value, _ in row] + [""] * (5 - len(row))
        inputs.append(InputChangeRow(*values[:5]))
    return elements, inputs


def version_view(outbox: Path, version: ReportVersion) -> VersionView:
    """The version's figures as published: its verified workbook read back read-only."""
    data = verified_bytes(outbox, version, "xlsx")
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = {name: _rows(workbook[name]) for name in workbook.sheetnames}
    finally:
        workbook.close()
    changes, input_changes = _changes(sheets.get("Changes", []))
    return VersionView(
        version=version,
        elements=_elements(sheets.get("Service Data", [])),
        exclusions=_exclusions(sheets.get("Exclusions", [])),
        notes=_notes(sheets.get("Notes", [])),
        changes=changes,
        input_changes=input_changes,
    )
