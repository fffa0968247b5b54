"""Writing one sheet of a report workbook with the accessibility and print rules applied.

Every sheet gets a real header row (bold, frozen, an Excel table with filters), no merged cells,
letter landscape fit to width with the header row repeated; every string goes through
`safety.set_text`, so text from inputs can never become a formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from exports.safety import set_text
from o211.calendar import TORONTO

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
LINE_HEIGHT = 15.0


def _number(value: Decimal) -> Decimal | int:
    """Whole values as int, so a count reads back as 812, not 812.0."""
    return int(value) if value == value.to_integral_value() else value


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide (a safe over-estimate)."""
    usable = max(int(width * 1.15) - 1, 1)
    return sum(max(math.ceil(len(part) / usable), 1) for part in text.split("\n"))


def _put(
    ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None
) -> None:
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        set_text(cell, value)
    elif isinstance(value, datetime):
        cell.value = value.astimezone(TORONTO).replace(tzinfo=None)
        cell.number_format = number_format or DATETIME_FORMAT
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = number_format or DATE_FORMAT
    else:
        cell.value = _number(value) if isinstance(value, Decimal) else value
        if number_format:
            cell.number_format = number_format
    cell.alignment = TOP


class SheetWriter:
    """One data table per call to `table`, with the accessibility and print rules applied."""

    def __init__(self, workbook: Workbook, title: str, widths: Sequence[float]) -> None:
        self.ws = workbook.create_sheet(title)
        self.tables = 0
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_LETTER
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.print_options.gridLines = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6

    def width(self, column: int) -> float:
        return self.ws.column_dimensions[get_column_letter(column)].width or 10

    def table(
        self,
        header_row: int,
        headers: list[str],
        rows: list[list[Any]],
        formats: dict[int, str] | None = None,
        wrap: set[int] | None = None,
        row_formats: list[dict[int, str]] | None = None,
        first_table: bool = True,
    ) -> int:
        """Write a header row and data rows; return the next free row."""
        ws = self.ws
        for column, heading in enumerate(headers, start=1):
            cell = ws.cell(row=header_row, column=column)
            set_text(cell, heading)
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.row_dimensions[header_row].height = LINE_HEIGHT * max(
            wrapped_lines(heading, self.width(column)) for column, heading in enumerate(headers, 1)
        )
        for offset, values in enumerate(rows, start=1):
            extra = row_formats[offset - 1] if row_formats else {}
            lines = 1
            for column, value in enumerate(values, start=1):
                number_format = extra.get(column) or (formats or {}).get(column)
                _put(ws, header_row + offset, column, value, number_format)
                if wrap and column in wrap:
                    ws.cell(row=header_row + offset, column=column).alignment = WRAP_TOP
                    if isinstance(value, str):
                        lines = max(lines, wrapped_lines(value, self.width(column)))
            # Neither Excel nor LibreOffice grows a row for wrapped text on opening a file
            # written by openpyxl, so the height is set from an estimate of the wrapped lines.
            ws.row_dimensions[header_row + offset].height = LINE_HEIGHT * lines
        last_row = header_row + max(len(rows), 1)
        if not rows:
            set_text(ws.cell(row=header_row + 1, column=1), "None")
        self.tables += 1
        name = "".join(ch for ch in ws.title.title() if ch.isalnum()) + str(self.tables)
        table = Table(
            displayName=name,
            ref=f"A{header_row}:{get_column_letter(len(headers))}{last_row}",
        )
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True)
        ws.add_table(table)
        if first_table:
            ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
            ws.print_title_rows = f"{header_row}:{header_row}"
        return last_row + 1
