"""The ministry workbook (report.md, "Workbook sheets"), built in memory from `ReportData`.

Accessibility and print rules apply to every sheet: a real header row (bold, frozen, an Excel
table with filters), no merged cells, letter landscape fit to width with the header row repeated.
Every string goes through `safety.set_text`, so text from inputs can never become a formula.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font

from exports.notes import methodology, quality_warnings, rules_in_force
from exports.report_data import OUTCOMES, ReportData, Stage
from exports.safety import set_text
from exports.sheet_writer import SheetWriter
from exports.versions import ElementChange, InputChange, report_value
from o211.calendar import TORONTO
from o211.elements import contact_elements

TITLE = "Ontario 211 - Service Data Schedule"
PROGRAM = "Ontario community services information and referral service"
COMPONENT = "Homelessness Initiatives and Other Community Services"
LEGISLATION = "Ministry of Community and Social Services Act (MCSSA)"

NUMBER_FORMATS = {
    "count": "#,##0",
    # The value is stored as the percentage number (88.4), as in the CSV; the format adds "%".
    "percent": '0.0"%"',
    "currency": '"$"#,##0.00;-"$"#,##0.00',
}
# A difference shows its sign; a satisfaction difference is in percentage points.
DIFFERENCE_FORMATS = {
    "count": "+#,##0;-#,##0;0",
    "percent": '+0.0" pts";-0.0" pts";0.0" pts"',
    "currency": '+"$"#,##0.00;-"$"#,##0.00;"$"0.00',
}
OUTCOME_HEADINGS = {
    "counted": "Counted",
    "abandoned": "Abandoned",
    "short_abandon": "Short abandon",
    "not_offered": "Not offered",
    "test": "Test",
    "spam": "Spam",
    "auto_dialer": "Auto dialer",
    "static": "Static",
}


@dataclass(frozen=True)
class VersionInfo:
    """What the Cover and Changes sheets say about this version."""

    version: int
    generated_at: datetime
    product_version: str
    inputs_fingerprint: str
    previous_version: int | None
    element_changes: list[ElementChange]
    input_changes: list[InputChange]


def stage_in_words(stage: Stage) -> str:
    if stage.stage_kind == "final":
        return "Final - year-end"
    return f"Interim - {stage.stage} year-to-date"


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(day: date) -> str:
    """`1 April 2025`, spelled out so no reader's locale can swap day and month."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def month_label(month_start: date) -> str:
    return f"{MONTH_NAMES[month_start.month - 1][:3]} {month_start.year}"


def months_of(stage: Stage) -> list[date]:
    months = []
    current = date(stage.period_start.year, stage.period_start.month, 1)
    while current <= stage.period_end:
        months.append(current)
        year, month = divmod(current.month, 12)
        current = date(current.year + year, month + 1, 1)
    return months


def _cover(wb: Workbook, data: ReportData, info: VersionInfo) -> None:
    sheet = SheetWriter(wb, "Cover", [34, 90])
    ws = sheet.ws
    set_text(ws["A1"], TITLE)
    ws["A1"].font = Font(bold=True, size=16)
    stage = data.stage
    generated = info.generated_at.astimezone(TORONTO)
    rows: list[list[Any]] = [
        ["Program", PROGRAM],
        ["Component", COMPONENT],
        ["Legislation", LEGISLATION],
        ["Fiscal year", stage.fiscal_year],
        ["Stage", stage_in_words(stage)],
        [
            "Period covered",
            f"{long_date(stage.period_start)} to {long_date(stage.period_end)} (year-to-date)",
        ],
        ["Generated at (Toronto time)", f"{generated:%Y-%m-%d %H:%M} {generated.tzname()}"],
    ]
    for coverage in data.coverage:
        through = str(coverage.last_date) if coverage.last_date else "no data"
        rows.append([f"Data complete through: {coverage.channel}", through])
    rows += [
        ["Version", f"v{info.version}"],
        [
            "Previous version",
            f"v{info.previous_version} (see the Changes sheet)"
            if info.previous_version
            else "none: first version",
        ],
        ["Rules fingerprint", data.rules_fingerprint],
        ["Inputs fingerprint", info.inputs_fingerprint],
        ["Product version", info.product_version],
    ]
    sheet.table(3, ["Item", "Value"], rows, wrap={2})


def _service_data(wb: Workbook, data: ReportData) -> None:
    sheet = SheetWriter(wb, "Service Data", [34, 66, 17, 15, 15, 15, 15, 22])
    headers = ["Service Data Name", "Definition", "Year-to-date", "Q1", "Q2", "Q3", "Q4", "Basis"]
    rows = [
        [
            r.element,
            r.definition,
            report_value(r.value, r.unit),
            *(report_value(q, r.unit) for q in r.quarters),
            r.basis,
        ]
        for r in data.schedule
    ]
    formats = [{column: NUMBER_FORMATS[r.unit] for column in range(3, 8)} for r in data.schedule]
    sheet.table(1, headers, rows, wrap={1, 2, 8}, row_formats=formats)
    sheet.ws.freeze_panes = "B2"


def _monthly(wb: Workbook, data: ReportData) -> None:
    months = months_of(data.stage)
    sheet = SheetWriter(wb, "Monthly", [34] + [13] * len(months))
    ws = sheet.ws
    units = {r.element_order: r.unit for r in data.schedule}
    values = {
        (m.element_order, m.month_start): report_value(m.value, units.get(m.element_order, ""))
        for m in data.monthly
    }
    rows = [
        [r.element] + [values.get((r.element_order, month)) for month in months]
        for r in data.schedule
    ]
    formats = [
        {column: NUMBER_FORMATS[r.unit] for column in range(2, len(months) + 2)}
        for r in data.schedule
    ]
    next_row = sheet.table(
        1,
        ["Service Data Name"] + [month_label(m) for m in months],
        rows,
        wrap={1},
        row_formats=formats,
    )
    ws.freeze_panes = "B2"

    chart = LineChart()
    chart.title = "Contacts by channel per month"
    chart.y_axis.title = "Contacts"
    chart.x_axis.title = "Month"
    chart.y_axis.numFmt = "#,##0"
    # openpyxl 3.1 marks axes deleted by default; Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    # As wide as the table above it (a column width unit is about 0.19 cm).
    chart.width = max(20.0, 0.19 * (34 + 13 * len(months)))
    chart.height = 8.5  # cm: table, caption and chart fit one landscape letter page
    chart.legend.position = "b"
    contacts = [element.name for element in contact_elements()]
    for index, row in enumerate(data.schedule, start=2):
        if row.element in contacts:
            series = Reference(ws, min_col=1, max_col=len(months) + 1, min_row=index, max_row=index)
            chart.add_data(series, from_rows=True, titles_from_data=True)
    for line in chart.series:
        # Straight segments between months: a smoothed curve would suggest values in between.
        line.smooth = False
    chart.set_categories(Reference(ws, min_col=2, max_col=len(months) + 1, min_row=1, max_row=1))
    # openpyxl cannot give a chart alternative text; a screen reader reads this cell instead.
    caption = ws.cell(row=next_row + 1, column=1)
    set_text(
        caption,
        "Chart: contacts by channel per month ("
        + ", ".join(contacts)
        + "), drawn from the table above.",
    )
    caption.font = Font(italic=True)
    ws.add_chart(chart, f"A{next_row + 2}")


def _exclusions(wb: Workbook, data: ReportData) -> None:
    sheet = SheetWriter(wb, "Exclusions", [12, 11] + [11] * len(OUTCOMES) + [14, 10])
    headers = (
        ["Channel", "Contacts seen"]
        + [OUTCOME_HEADINGS[o] for o in OUTCOMES]
        + ["Seen minus all outcomes", "Balance holds"]
    )
    rows = []
    for audit in data.audit:
        outcome_values = [audit.outcomes[o] for o in OUTCOMES]
        difference = audit.seen - sum(v for v in outcome_values if v is not None)
        rows.append([audit.channel, audit.seen, *outcome_values, difference, difference == 0])
    count_format = {column: NUMBER_FORMATS["count"] for column in range(2, len(headers))}
    sheet.table(1, headers, rows, formats=count_format)


def _sources(wb: Workbook, data: ReportData) -> None:
    sheet = SheetWriter(wb, "Sources", [10, 40, 34, 11, 17, 12, 12])
    headers = [
        "Kind",
        "File name",
        "SHA-256",
        "Rows",
        "Loaded at (Toronto time)",
        "First date",
        "Last date",
    ]
    rows = [
        [s.kind, s.file_name, s.sha256, s.rows, s.loaded_at, s.first_date, s.last_date]
        for s in data.sources
    ]
    sheet.table(1, headers, rows, formats={4: NUMBER_FORMATS["count"]}, wrap={2, 3})


def _notes(wb: Workbook, data: ReportData) -> None:
    sheet = SheetWriter(wb, "Notes", [26, 34, 90, 10, 14])
    headers = ["Section", "Subject", "Note", "Count", "Amount"]
    rows: list[list[Any]] = [
        ["Methodology", element, text, None, None] for element, text in methodology(data)
    ]
    rows += [["Rule in force", name, value, None, None] for name, value in rules_in_force(data)]
    rows += [[w.section, w.subject, w.note, w.count, w.amount] for w in quality_warnings(data)]
    sheet.table(
        1,
        headers,
        rows,
        formats={4: NUMBER_FORMATS["count"], 5: NUMBER_FORMATS["currency"]},
        wrap={1, 2, 3},
    )


def _changes(wb: Workbook, info: VersionInfo) -> None:
    sheet = SheetWriter(wb, "Changes", [34, 17, 17, 17, 80])
    previous = f"v{info.previous_version}"
    headers = [
        "Service Data Name",
        f"Previous ({previous})",
        f"New (v{info.version})",
        "Difference",
        "Why",
    ]
    rows = [[c.element, c.previous, c.new, c.difference, c.why] for c in info.element_changes]
    formats = [
        {2: NUMBER_FORMATS[c.unit], 3: NUMBER_FORMATS[c.unit], 4: DIFFERENCE_FORMATS[c.unit]}
        for c in info.element_changes
    ]
    next_row = sheet.table(1, headers, rows, wrap={1, 5}, row_formats=formats)
    input_rows = [
        [c.name, f"{c.subject} {c.change}", c.kind, c.previous, c.new] for c in info.input_changes
    ]
    sheet.table(
        next_row + 2,
        [
            "File or rule",
            "Input change",
            "Kind or rule source",
            "Previous value or file SHA-256",
            "New value or file SHA-256",
        ],
        input_rows,
        wrap={1, 3, 4, 5},
        first_table=False,
    )


def build_workbook(data: ReportData, info: VersionInfo) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    _cover(wb, data, info)
    _service_data(wb, data)
    _monthly(wb, data)
    _exclusions(wb, data)
    _sources(wb, data)
    _notes(wb, data)
    if info.previous_version is not None:
        _changes(wb, info)
    wb.properties.title = f"{TITLE} {data.stage.fiscal_year} {data.stage.stage} v{info.version}"
    wb.properties.creator = "o211"
    wb.properties.language = "en-CA"
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
