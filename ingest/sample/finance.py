"""The finance ledger: two uploads, an Excel workbook then a CSV that also revises a month.

Finance does not scale with `scale`: a ledger has about a dozen lines a month whatever the
contact volume, and the ministry-funded total must stay in a realistic 4-6 million range.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

CENT = Decimal("0.01")
HEADER = ("period", "account", "description", "funding_source", "amount")

# (account, description, monthly budget in dollars, funding split). Together about 4.7 million
# a year, most of it from the ministry, as at a ministry-funded 211 service.
ACCOUNTS: tuple[tuple[str, str, int, tuple[tuple[str, float], ...]], ...] = (
    ("5010", "Salaries and wages – navigators", 240_000, (("MCCSS", 0.85), ("United Way", 0.15))),
    ("5020", "Employee benefits", 50_000, (("MCCSS", 0.85), ("United Way", 0.15))),
    ("5100", "Rent and occupancy", 21_000, (("Ministry", 1.0),)),
    ("5200", "Telephone and telecom", 17_500, (("MCCSS", 0.9), ("Municipal", 0.1))),
    ("5300", "IT, software licences and hosting", 15_000, (("MCCSS", 1.0),)),
    ("5400", "Office supplies", 2_000, (("MCCSS", 1.0),)),
    ("5500", "Staff training", 3_000, (("MCCSS", 0.7), ("Donations", 0.3))),
    ("5600", "Translation services", 8_000, (("Ministry", 1.0),)),
    ("5700", "Travel", 1_500, (("Municipal", 1.0),)),
    ("5800", "Audit and professional fees", 4_000, (("MCCSS", 1.0),)),
    ("5900", "Community outreach", 5_000, (("United Way", 0.5), ("Donations", 0.5))),
)
# A French description with an accent and an en dash: it must survive Windows-1252.
FRENCH_SUPPLIES = "Fournitures de bureau – Montréal"
XLSX_DATE_CELL_MONTHS = 3  # the first months' periods are Excel date cells, later ones text


@dataclass(frozen=True)
class LedgerLine:
    period: date  # first day of the month
    account: str
    description: str
    funding_source: str
    amount: Decimal


def month_starts(first: date, count: int) -> list[date]:
    months = []
    year, month = first.year, first.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def ledger_for_month(rng: random.Random, period: date) -> list[LedgerLine]:
    lines = []
    for account, description, budget, split in ACCOUNTS:
        monthly = Decimal(budget) * Decimal(str(round(rng.uniform(0.9, 1.1), 4)))
        for funding_source, share in split:
            amount = (monthly * Decimal(str(share))).quantize(CENT, rounding=ROUND_HALF_UP)
            text = FRENCH_SUPPLIES if account == "5400" and period.month % 2 == 0 else description
            lines.append(LedgerLine(period, account, text, funding_source, amount))
    if period.month % 3 == 0:
        refund = Decimal(rng.randrange(20_000, 180_000)) / 100
        lines.append(LedgerLine(period, "5200", "Vendor credit – telecom refund", "MCCSS", -refund))
    return lines


def amount_text(amount: Decimal, style: int) -> str:
    """Money as finance staff type it: plain, with thousands separators or with $; a credit in
    accounting brackets, as Excel's accounting format saves it."""
    grouped = f"{abs(amount):,.2f}"
    if amount < 0:
        return f"({grouped})"
    return (f"{amount:.2f}", grouped, f"${grouped}", grouped)[style % 4]


def _deterministic_xlsx(workbook: Workbook, path: Path, stamp: datetime) -> None:
    """Save with fixed zip entry times and document dates, so equal seeds give equal bytes.

    openpyxl stamps the save time into docProps/core.xml and into every zip entry.
    """
    buffer = io.BytesIO()
    workbook.save(buffer)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + iso.encode() + rb"\g<2>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)


def write_xlsx_upload(path: Path, lines: list[LedgerLine], title: str, stamp: datetime) -> int:
    """The first upload: sheet `Expenditures`, a merged title row, then the header row."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Expenditures"
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(list(HEADER))
    first_period = min(line.period for line in lines)
    for line in lines:
        months_in = (line.period.year - first_period.year) * 12 + line.period.month
        months_in -= first_period.month
        period: datetime | str = (
            datetime(line.period.year, line.period.month, 1)
            if months_in < XLSX_DATE_CELL_MONTHS
            else f"{line.period:%Y-%m}"
        )
        sheet.append(
            [period, line.account, line.description, line.funding_source, float(line.amount)]
        )
        row = sheet.max_row
        if isinstance(period, datetime):
            sheet.cell(row=row, column=1).number_format = "yyyy-mm"
        sheet.cell(row=row, column=5).number_format = "#,##0.00;(#,##0.00)"
    for column, width in zip("ABCDE", (12, 10, 40, 16, 14), strict=True):
        sheet.column_dimensions[column].width = width
    workbook.properties.creator = "Finance"
    _deterministic_xlsx(workbook, path, stamp)
    return len(lines)


def write_csv_upload(path: Path, lines: list[LedgerLine], rng: random.Random) -> int:
    """The second upload, saved from Excel as Windows-1252 CSV, amounts as typed text."""
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for line in lines:
            writer.writerow(
                (
                    f"{line.period:%Y-%m}",
                    line.account,
                    line.description,
                    line.funding_source,
                    amount_text(line.amount, rng.randrange(4)),
                )
            )
    return len(lines)


def write_finance(
    folder: Path, fiscal_year: str, first_day: date, seed: int
) -> list[tuple[Path, int]]:
    """Upload 1 (xlsx) covers April-September; upload 2 (CSV) covers October-March and revises
    one month of upload 1 with a different total."""
    rng = random.Random(f"{seed}:finance")
    months = month_starts(first_day, 12)
    ledger = {period: ledger_for_month(rng, period) for period in months}
    revised_month = months[4]
    revised = [
        LedgerLine(
            line.period,
            line.account,
            line.description,
            line.funding_source,
            (line.amount * Decimal("1.03")).quantize(CENT, rounding=ROUND_HALF_UP)
            if line.account == "5010"
            else line.amount,
        )
        for line in ledger[revised_month]
    ]
    revised.append(
        LedgerLine(
            revised_month,
            "5600",
            "Accrual correction – translation",
            "Ministry",
            Decimal("2315.40"),
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    first_upload = folder / f"finance_{fiscal_year}_01_{months[0]:%Y-%m}_to_{months[5]:%Y-%m}.xlsx"
    second_upload = folder / f"finance_{fiscal_year}_02_{months[6]:%Y-%m}_to_{months[11]:%Y-%m}.csv"
    first_lines = [line for period in months[:6] for line in ledger[period]]
    second_lines = revised + [line for period in months[6:] for line in ledger[period]]
    stamp = datetime(months[6].year, months[6].month, 10, 9, 0, 0)
    title = f"211 Ontario – Expenditures FY {fiscal_year} (April to September)"
    return [
        (first_upload, write_xlsx_upload(first_upload, first_lines, title, stamp)),
        (second_upload, write_csv_upload(second_upload, second_lines, rng)),
    ]
