"""Every sentence ingest says about a file, in English, keyed by a stable code.

A `Problem` carries its `code` and `params`; its `problem` and `fix` are these templates filled
in (`render`), so `.errors.txt`, `.errors.csv` and `o211 check` read as plain English while the
portal renders the same code and params from its French catalogue. `N_` marks each template
for Babel's extraction (keyword `N_`) and returns it unchanged.

Keep a code once published: translations are keyed by the English template, and the portal
and anything reading `.errors.csv` may key on the code. Change a template's wording only
together with its translations; add a new code for a new sentence.
"""

from __future__ import annotations

from collections.abc import Mapping


def N_(message: str) -> str:
    """Mark a string for translation without translating it (extracted by Babel)."""
    return message


# code -> (problem template, fix template); `{name}` placeholders are filled from the params.
# Every template is a literal inside `N_(...)`, repeated where two codes share a sentence, so
# that extraction sees it.
MESSAGES: dict[str, tuple[str, str]] = {
    # --- the file as a whole
    "file.unreadable": (
        N_("the file could not be read ({error_type}: {error})"),
        N_("export or save the file again; if it keeps failing, send it to the data team"),
    ),
    "file.unexpected_error": (
        N_(
            "ingest stopped on this file with an unexpected error ({error_type}: {error}); "
            "nothing of it was loaded"
        ),
        N_("send the file and this message to the data team"),
    ),
    "file.no_rows": (
        N_("the file has a header row but no data rows"),
        N_("export the period again; an extract with no rows is never loaded"),
    ),
    "file.empty": (
        N_("the file is empty (0 bytes)"),
        N_("export the data again; the upload may have failed"),
    ),
    "file.not_csv": (
        N_("a {kind} extract must be a .csv file, not {suffix}"),
        N_("export or save the data as CSV UTF-8"),
    ),
    "file.not_csv_no_extension": (
        N_("a {kind} extract must be a .csv file, not a file without extension"),
        N_("export or save the data as CSV UTF-8"),
    ),
    "file.not_csv_or_xlsx": (
        N_("a {kind} extract must be a .csv or .xlsx file, not {suffix}"),
        N_("export or save the data as .xlsx or CSV"),
    ),
    "file.not_csv_or_xlsx_no_extension": (
        N_("a {kind} extract must be a .csv or .xlsx file, not a file without extension"),
        N_("export or save the data as .xlsx or CSV"),
    ),
    # --- the header row
    "header.repeated_column": (
        N_("the header row names the column(s) {columns} more than once"),
        N_("keep one column of each name and delete or rename the others"),
    ),
    "header.missing_column": (
        N_("the header row (row {row}) has no column named {missing} (found: {found})"),
        N_(
            "add the missing column(s) with exactly these names in the header row; "
            "the order of columns does not matter"
        ),
    ),
    # --- CSV text
    "csv.utf16": (
        N_("the file is saved as UTF-16 ('Unicode Text'), not as UTF-8 CSV"),
        N_("open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"),
    ),
    "csv.is_workbook": (
        N_("the file is a spreadsheet workbook, not a CSV text file"),
        N_("open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"),
    ),
    "csv.binary": (
        N_("the file holds binary (non-text) content, it is not a CSV text file"),
        N_(
            "export the data again as CSV; open it in Excel and use File > Save As > "
            "'CSV UTF-8 (Comma delimited)'"
        ),
    ),
    "csv.not_utf8": (
        N_("the file is not UTF-8 text (first bad character on line {line})"),
        N_("open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"),
    ),
    "csv.empty": (
        N_("the file is empty (no header row and no data)"),
        N_("export the data again; the first line must be the header row"),
    ),
    "csv.other_delimiter": (
        N_("the file seems to use {delimiter} between columns; save it as comma-separated"),
        N_("open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"),
    ),
    "csv.tab_delimited": (
        N_("the file seems to use tabs between columns; save it as comma-separated"),
        N_("open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"),
    ),
    "csv.unreadable": (
        N_("the file cannot be read as CSV ({error})"),
        N_(
            "check for unbalanced quote marks; open it in Excel and use File > Save As > "
            "'CSV UTF-8 (Comma delimited)'"
        ),
    ),
    "csv.row_width": (
        N_("the row has {cells} cells but the header has {expected}"),
        N_(
            "a value probably contains a comma without quote marks around it; "
            "export the file again from the source system"
        ),
    ),
    # --- workbooks
    "workbook.encrypted_or_xls": (
        N_(
            "the workbook is password-protected (encrypted) or in the old .xls format, "
            "so it cannot be read"
        ),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)' without a password"),
    ),
    "workbook.too_large": (
        N_("the workbook is {size_mb} MB; the limit is {limit_mb} MB"),
        N_("remove other sheets, images and unused rows, or upload a CSV"),
    ),
    "workbook.not_xlsx": (
        N_("the file is not a valid .xlsx workbook (corrupt or renamed)"),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)' without a password"),
    ),
    "workbook.bad_zip": (
        N_("the file is not a valid .xlsx workbook ({error})"),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)' without a password"),
    ),
    "workbook.damaged_part": (
        N_("the file is not a valid .xlsx workbook ({error})"),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)'"),
    ),
    "workbook.unpacks_too_large": (
        N_(
            "the workbook would unpack to {unpacked_mb} MB, more than the {limit_mb} MB "
            "allowed (a damaged or hostile file)"
        ),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)' without a password"),
    ),
    "workbook.compression_ratio": (
        N_(
            "the workbook's compression ratio is {ratio} to 1 (it would unpack from "
            "{packed_mb} MB to {unpacked_mb} MB), more than the {limit} to 1 a real workbook "
            "has (a decompression bomb or a damaged file)"
        ),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)' without a password"),
    ),
    "workbook.xml_entities": (
        N_("the workbook contains XML entity declarations, which are not allowed in uploads"),
        N_("re-save it from Excel as .xlsx"),
    ),
    "workbook.cannot_open": (
        N_(
            "the workbook cannot be opened, it is damaged or not a real .xlsx workbook "
            "({error_type}: {error})"
        ),
        N_("open it in Excel and save it again as 'Excel Workbook (.xlsx)'"),
    ),
    "workbook.empty_sheet": (
        N_("the sheet is empty (no header row and no data)"),
        N_("fill in the finance template: a header row, then one row per ledger line"),
    ),
    "cell.formula": (
        N_("is a formula; formulas are never evaluated or copied"),
        N_(
            "select the sheet, Copy, then Paste Special > Values (so every cell holds its "
            "value), and save again"
        ),
    ),
    # --- cells
    "value.blank": (
        N_("is blank, but every row needs a value"),
        N_("fill in the cell, or remove the row if it is not a real record"),
    ),
    "text.too_long": (
        N_("is longer than {max_chars} characters"),
        N_(
            "this column holds short codes; check for a missing closing quote mark or text "
            "pasted into the wrong cell, and export again"
        ),
    ),
    "timestamp.invalid": (
        N_("is not a date and time in ISO 8601 form"),
        N_(
            "write it like 2025-04-01T09:30:00 (Toronto local time), 2025-04-01T09:30:00-04:00 "
            "or 2025-04-01T13:30:00Z"
        ),
    ),
    "date.invalid": (
        N_("is not a date like 2025-04-01"),
        N_("write dates as YYYY-MM-DD"),
    ),
    "web_date.invalid": (
        N_("is not a date like 2025-04-01 or 20250401"),
        N_("write dates as YYYY-MM-DD or YYYYMMDD"),
    ),
    "boolean.invalid": (
        N_("is not a yes/no value"),
        N_("use true/false, yes/no, 1/0 or y/n (a blank cell means false)"),
    ),
    "count.invalid": (
        N_("is not a whole number of 0 or more"),
        N_("write counts as digits only"),
    ),
    "month.invalid": (
        N_("is not a month"),
        N_("write the month as 2025-04, as a date in that month, or as an Excel date cell"),
    ),
    "date.outside_range": (
        N_("date {day} is outside the accepted range {first}..{last}"),
        N_("check the export's date column"),
    ),
    "amount.invalid": (
        N_("not a valid amount"),
        N_(
            "write amounts like 1234.56, 1,234.56, $1,234.56, -1234.56 or (1,234.56), "
            "rounded to the cent"
        ),
    ),
    "amount.two_minus_signs": (
        N_("not a valid amount (two minus signs)"),
        N_(
            "write amounts like 1234.56, 1,234.56, $1,234.56, -1234.56 or (1,234.56), "
            "rounded to the cent"
        ),
    ),
    "amount.too_many_decimals": (
        N_("has more than 4 decimal places (an unrounded formula result?)"),
        N_(
            "write amounts like 1234.56, 1,234.56, $1,234.56, -1234.56 or (1,234.56), "
            "rounded to the cent"
        ),
    ),
    "amount.too_large": (
        N_("is too large for an amount"),
        N_(
            "write amounts like 1234.56, 1,234.56, $1,234.56, -1234.56 or (1,234.56), "
            "rounded to the cent"
        ),
    ),
    # --- rows
    "time.ended_before_started": (
        N_("is earlier than started_at (a contact cannot end before it starts)"),
        N_("check the clock settings of the export; correct or remove the row"),
    ),
    "funding_source.unknown": (
        N_("is not a known funding source"),
        N_("use one of: {sources} (trimmed, any case)"),
    ),
    "check.failed": (N_("failed the check {check}"), N_("correct the value")),
    # --- the blocklist (config/blocklist.csv)
    "blocklist.empty": (
        N_("the file is empty"),
        N_("put the header `number` on line 1"),
    ),
    "blocklist.not_a_number": (
        N_("is not a phone number (fewer than 7 digits, or a withheld-caller word)"),
        N_("remove or correct it"),
    ),
}


def render(code: str, params: Mapping[str, str]) -> tuple[str, str]:
    """(problem, fix) in English for a code and its parameters."""
    problem, fix = MESSAGES[code]
    return problem.format_map(params), fix.format_map(params)
