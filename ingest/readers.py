"""Reading extract files as text, in bounded chunks, with each row's number as a person sees it.

CSV: UTF-8 with or without BOM (finance may also be Windows-1252), comma-separated, blank lines
ignored, `#` comment lines allowed above the header. XLSX (finance only): the sheet
`Expenditures` or the first sheet, the header being the first row that holds the required
names; the workbook is checked for size and decompression bombs before openpyxl opens it, and
formula cells are refused, never evaluated (operations.md, "Privacy and security").

Every cell comes out as stripped text ("" for blank); typing is `ingest.parsing`'s job.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ingest.file_scan import (
    OLE_MAGIC,
    READ_BLOCK,
    ZIP_MAGIC,
    ByteScan,
    FileRejected,
    plain_error,
    scan_bytes,
    whole_file,
)
from ingest.problems import Problem
from ingest.workbook_safety import check_workbook_container

# Re-exported: a reader's callers scan the file and catch its refusal through this module.
__all__ = [
    "CHUNK_ROWS",
    "ByteScan",
    "Chunk",
    "FileRejected",
    "Header",
    "OpenedExtract",
    "cell_text",
    "open_csv",
    "open_workbook",
    "plain_error",
    "read_csv_header",
    "scan_bytes",
    "whole_file",
]

CHUNK_ROWS = 100_000
# The header of a finance file may sit under a few title rows.
MAX_TITLE_ROWS = 30

UTF8_BOM = codecs.BOM_UTF8
# How the problem names each delimiter (None: tabs, a sentence of its own to translate).
OTHER_DELIMITERS: dict[str, str | None] = {";": "';'", "\t": None, "|": "'|'"}


def normalise_header(name: str) -> str:
    return name.strip().lower()


@dataclass
class Header:
    """Which file column holds which extract column."""

    row: int
    positions: dict[str, int]
    width: int
    extra_columns: list[str] = field(default_factory=list)


def match_header(
    cells: Sequence[str], row: int, known: Sequence[str], required: Sequence[str]
) -> Header:
    """Header cells matched by name (case-insensitive, trimmed, any order); extras recorded."""
    names = [normalise_header(cell) for cell in cells]
    seen: dict[str, int] = {}
    repeated: list[str] = []
    for position, name in enumerate(names):
        if not name:
            continue
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.setdefault(name, position)
    if repeated:
        raise whole_file("header.repeated_column", columns=", ".join(repr(n) for n in repeated))
    missing = [name for name in required if name not in seen]
    if missing:
        raise whole_file(
            "header.missing_column",
            row=str(row),
            missing=", ".join(repr(n) for n in missing),
            found=", ".join(repr(c.strip()) for c in cells if c.strip()),
        )
    positions = {name: seen[name] for name in known if name in seen}
    extras = [cells[i].strip() for i, name in enumerate(names) if name and name not in known]
    return Header(row=row, positions=positions, width=len(cells), extra_columns=extras)


@dataclass
class Chunk:
    """Rows of text cells indexed by their row number in the file, plus cell-level problems."""

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)


@dataclass
class OpenedExtract:
    encoding: str
    header: Header
    chunks: Iterator[Chunk]


# --- CSV ---------------------------------------------------------------------------------------


def _text_encoding(scan: ByteScan, path: Path, legacy_allowed: bool) -> tuple[str, str]:
    """(codec for Python, the name recorded in the load log)."""
    if scan.head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise whole_file("csv.utf16")
    if scan.head.startswith(ZIP_MAGIC) or scan.head.startswith(OLE_MAGIC):
        raise whole_file("csv.is_workbook")
    if scan.has_nul:
        raise whole_file("csv.binary")
    if scan.utf8:
        if scan.head.startswith(UTF8_BOM):
            return "utf-8-sig", "UTF-8 with BOM"
        return "utf-8", "UTF-8"
    if legacy_allowed:
        try:
            with path.open("r", encoding="cp1252", newline="") as handle:
                while handle.read(READ_BLOCK):
                    pass
        except UnicodeDecodeError:
            pass
        else:
            return "cp1252", "Windows-1252"
    raise whole_file("csv.not_utf8", line=str(scan.first_bad_byte_line))


def _header_cells(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def open_csv(
    path: Path,
    scan: ByteScan,
    known: Sequence[str],
    required: Sequence[str],
    *,
    legacy_encoding_allowed: bool = False,
    title_rows_allowed: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> OpenedExtract:
    codec, encoding_name = _text_encoding(scan, path, legacy_encoding_allowed)
    handle = path.open("r", encoding=codec, newline="")
    try:
        header = _find_csv_header(handle, known, required, title_rows_allowed)
    except BaseException:
        handle.close()
        raise
    return OpenedExtract(
        encoding=encoding_name,
        header=header,
        chunks=_csv_chunks(handle, header, chunk_rows),
    )


def read_csv_header(
    path: Path,
    scan: ByteScan,
    known: Sequence[str],
    required: Sequence[str],
    *,
    legacy_encoding_allowed: bool = False,
    title_rows_allowed: bool = False,
) -> tuple[str, Header]:
    """The encoding name and the header `open_csv` would find, reading no further."""
    codec, encoding_name = _text_encoding(scan, path, legacy_encoding_allowed)
    with path.open("r", encoding=codec, newline="") as handle:
        return encoding_name, _find_csv_header(handle, known, required, title_rows_allowed)


def _find_csv_header(
    handle: io.TextIOBase, known: Sequence[str], required: Sequence[str], title_rows_allowed: bool
) -> Header:
    line_number = 0
    first_candidate: tuple[int, list[str], str] | None = None
    for line_number, line in enumerate(iter(handle.readline, ""), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = _header_cells(line)
        if first_candidate is None:
            first_candidate = (line_number, cells, line)
        if not title_rows_allowed:
            break
        names = {normalise_header(cell) for cell in cells}
        if all(name in names for name in required):
            return match_header(cells, line_number, known, required)
        if line_number >= MAX_TITLE_ROWS:
            break
    if first_candidate is None:
        raise whole_file("csv.empty")
    row, cells, line = first_candidate
    names = {normalise_header(cell) for cell in cells}
    if not all(name in names for name in required) and len(cells) == 1:
        for delimiter, said in OTHER_DELIMITERS.items():
            if len(line.split(delimiter)) > 1:
                if said is None:
                    raise whole_file("csv.tab_delimited")
                raise whole_file("csv.other_delimiter", delimiter=said)
    return match_header(cells, row, known, required)


_PARSER_LINE_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_chunks(handle: io.TextIOBase, header: Header, chunk_rows: int) -> Iterator[Chunk]:
    width = header.width
    wanted = dict(header.positions)
    first_data_row = header.row + 1
    try:
        reader = pd.read_csv(
            handle,
            header=None,
            names=list(range(width)),
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            chunksize=chunk_rows,
            engine="c",
        )
        try:
            for frame in reader:
                if frame.shape[1] < width:
                    for missing in range(frame.shape[1], width):
                        frame[missing] = ""
                stripped = {pos: frame[pos].str.strip() for pos in frame.columns}
                blank = pd.Series(True, index=frame.index)
                for column in stripped.values():
                    blank &= column == ""
                out = pd.DataFrame({name: stripped[pos] for name, pos in wanted.items()})
                if blank.any():
                    out = out.loc[~blank]
                out.index = pd.Index(out.index + first_data_row, name="row")
                yield Chunk(out)
        except pd.errors.ParserError as error:
            match = _PARSER_LINE_RE.search(str(error))
            if match is None:
                raise whole_file("csv.unreadable", error=str(error)) from error
            expected, line, saw = (int(g) for g in match.groups())
            raise FileRejected(
                Problem(
                    header.row + line,
                    None,
                    None,
                    "csv.row_width",
                    {"cells": str(saw), "expected": str(expected)},
                )
            ) from error
        except pd.errors.EmptyDataError:
            return
    finally:
        handle.close()


# --- XLSX --------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """An openpyxl cell value as text: numbers at Excel's 15 significant digits, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return format(Decimal(format(value, ".15g")).normalize(), "f")
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def open_workbook(
    path: Path,
    scan: ByteScan,
    known: Sequence[str],
    required: Sequence[str],
    *,
    sheet_name: str,
    chunk_rows: int = CHUNK_ROWS,
) -> OpenedExtract:
    import openpyxl  # imported here: only finance uploads need it

    check_workbook_container(path, scan)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise whole_file(
            "workbook.cannot_open", error_type=type(error).__name__, error=plain_error(error)
        ) from error
    try:
        by_name = {ws.title.strip().lower(): ws for ws in workbook.worksheets}
        sheet = by_name.get(sheet_name.lower()) or workbook.worksheets[0]
        # Some tools write a wrong sheet size; read-only mode would then cut rows or columns.
        sheet.reset_dimensions()
        rows = _sheet_rows(sheet)
        header = _find_sheet_header(rows, known, required)
    except BaseException:
        workbook.close()
        raise
    return OpenedExtract(
        encoding="xlsx",
        header=header,
        chunks=_sheet_chunks(workbook, rows, header, chunk_rows),
    )


def _sheet_rows(sheet: object) -> Iterator[tuple[int, list[tuple[object, bool]]]]:
    """(row number, [(value, is_formula)]) for each non-empty row."""
    for number, cells in enumerate(sheet.iter_rows(), start=1):  # type: ignore[attr-defined]
        row_number = next((c.row for c in cells if getattr(c, "row", None)), number)
        values = [
            (c.value, getattr(c, "data_type", None) == "f" and c.value is not None) for c in cells
        ]
        if any(v is not None and str(v).strip() for v, _ in values):
            yield row_number, values


def _find_sheet_header(
    rows: Iterator[tuple[int, list[tuple[object, bool]]]],
    known: Sequence[str],
    required: Sequence[str],
) -> Header:
    best: tuple[int, list[str]] | None = None
    best_hits = -1
    for seen, (row_number, values) in enumerate(rows, start=1):
        cells = [cell_text(v) for v, _ in values]
        names = {normalise_header(c) for c in cells}
        hits = sum(name in names for name in required)
        if hits == len(required):
            return match_header(cells, row_number, known, required)
        if hits > best_hits:
            best, best_hits = (row_number, cells), hits
        if seen >= MAX_TITLE_ROWS:
            break
    if best is None:
        raise whole_file("workbook.empty_sheet")
    return match_header(best[1], best[0], known, required)


def _sheet_chunks(
    workbook: object,
    rows: Iterator[tuple[int, list[tuple[object, bool]]]],
    header: Header,
    chunk_rows: int,
) -> Iterator[Chunk]:
    names = list(header.positions)
    try:
        numbers: list[int] = []
        records: list[list[str]] = []
        problems: list[Problem] = []
        for row_number, values in rows:
            record = []
            for name in names:
                position = header.positions[name]
                value, is_formula = values[position] if position < len(values) else (None, False)
                if is_formula:
                    problems.append(Problem(row_number, name, str(value), "cell.formula"))
                    record.append("")
                else:
                    record.append(cell_text(value))
            numbers.append(row_number)
            records.append(record)
            if len(records) >= chunk_rows:
                yield Chunk(_frame(records, numbers, names), problems)
                numbers, records, problems = [], [], []
        if records or problems:
            yield Chunk(_frame(records, numbers, names), problems)
    finally:
        workbook.close()  # type: ignore[attr-defined]


def _frame(records: list[list[str]], numbers: list[int], names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=names, dtype="str")
    frame.index = pd.Index(numbers, name="row")
    return frame
