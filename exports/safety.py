"""Text from input files goes into the report as inert text, never as a formula or link.

operations.md: uploaded spreadsheets are untrusted; text from inputs is written to reports as
text. A disposition such as `=HYPERLINK("http://x")` must reach the ministry as those characters.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

# Excel refuses a cell holding more characters than this and offers to "repair" the file.
EXCEL_MAX_CELL_CHARACTERS = 32_767


def clean_text(value: str) -> str:
    """Replace the control characters that XML (and so .xlsx) cannot hold, keep the rest."""
    cleaned = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if len(cleaned) > EXCEL_MAX_CELL_CHARACTERS:
        cleaned = cleaned[: EXCEL_MAX_CELL_CHARACTERS - 1] + "\u2026"
    return cleaned


def set_text(cell: Cell, value: str | None) -> Cell:
    """Write a string that can never become a formula: the cell type is forced to string."""
    if value is None:
        cell.value = None
        return cell
    cell.value = clean_text(str(value))
    # openpyxl turns any string starting with "=" into a formula; force it back to text.
    cell.data_type = "s"
    return cell
