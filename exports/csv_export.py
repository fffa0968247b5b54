"""The machine-readable CSV beside the workbook (report.md): one row per element."""

from __future__ import annotations

import csv
import io

from exports.report_data import ReportData
from exports.versions import format_value
from o211.text_safety import inert_csv_text

CSV_COLUMNS = (
    "fiscal_year",
    "stage",
    "stage_kind",
    "period_start",
    "period_end",
    "element_order",
    "element",
    "value",
    "numerator",
    "denominator",
)


def csv_bytes(data: ReportData) -> bytes:
    """UTF-8 CSV; numbers plain with `.`; numerator/denominator only for satisfaction rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    stage = data.stage
    for row in data.schedule:
        is_percent = row.unit == "percent"
        writer.writerow(
            [
                inert_csv_text(stage.fiscal_year),
                inert_csv_text(stage.stage),
                inert_csv_text(stage.stage_kind),
                stage.period_start.isoformat(),
                stage.period_end.isoformat(),
                row.element_order,
                inert_csv_text(row.element),
                format_value(row.value, row.unit),
                row.numerator if is_percent and row.numerator is not None else "",
                row.denominator if is_percent and row.denominator is not None else "",
            ]
        )
    return buffer.getvalue().encode("utf-8")
