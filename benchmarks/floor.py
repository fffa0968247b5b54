"""The plain-DuckDB floor: the ten Service Data elements straight from the inbox extracts.

One SQL script (`floor.sql`) over `read_csv` globs computes every element of every stage of a
fiscal year, implementing `rules.md` independently of the product's dbt models. It is the floor
any pipeline could reach (the benchmark compares the product's full run against it) and a second
reading of the rules (tests/test_floor_crosscheck.py compares the figures).

Only the finance uploads are read in Python: DuckDB has no offline Excel reader, and finance CSVs
may be Windows-1252. They are a few hundred lines, loaded into a small `finance_lines` table.

    .venv/bin/python benchmarks/floor.py --data-dir DIR --fiscal-year 2025-26 [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from string import Template

import duckdb
import openpyxl

FLOOR_SQL = Path(__file__).with_name("floor.sql")

REPORT_COLUMNS = (
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

# The required columns of each CSV kind (extracts.md): a header-only stand-in for a kind with no
# file lets the one script run unchanged whatever is in the inbox.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "calls": ("contact_id", "started_at", "ended_at", "queue"),
    "chats": ("contact_id", "started_at", "ended_at"),
    "emails": ("contact_id", "received_at"),
    "texts": ("contact_id", "started_at"),
    "surveys": ("response_id", "channel", "submitted_at", "answer"),
    "web": ("date", "sessions"),
    "blocklist": ("number",),
}
FINANCE_COLUMNS = ("period", "account", "funding_source", "amount")


@dataclass(frozen=True)
class RuleSettings:
    """The thresholds of rules.md, at their defaults."""

    autodialer_max_talk_seconds: int = 10
    autodialer_min_calls: int = 5
    autodialer_window_minutes: int = 60
    short_abandon_seconds: int = 0
    test_queue_pattern: str = "TEST"


def stage_ends(fiscal_year: str) -> tuple[date, date, date, date]:
    """First day of the fiscal year `2025-26` and the last days of its Q2, Q3 and final stages."""
    parts = fiscal_year.split("-")
    if len(parts) != 2 or not all(part.isdigit() for part in parts) or len(parts[1]) != 2:
        raise ValueError(f"fiscal year {fiscal_year!r} is not like '2025-26'")
    start_year = int(parts[0])
    if (start_year + 1) % 100 != int(parts[1]):
        raise ValueError(f"fiscal year {fiscal_year!r}: the second year must follow the first")
    return (
        date(start_year, 4, 1),
        date(start_year, 9, 30),
        date(start_year, 12, 31),
        date(start_year + 1, 3, 31),
    )


def inbox_files(data_dir: Path, kind: str, suffixes: tuple[str, ...] = (".csv",)) -> list[Path]:
    """The kind's extracts in load order (file-name order, extracts.md)."""
    folder = data_dir / "inbox" / kind
    if not folder.is_dir():
        return []
    return sorted(
        (
            path
            for path in folder.iterdir()
            if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in suffixes
        ),
        key=lambda path: path.name,
    )


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"


def _cell_text(value: object) -> str:
    """An Excel cell as the text the SQL parses: dates ISO, numbers at 15 significant digits."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        # Excel keeps 15 significant digits; reading the float's text there keeps cents exact.
        return format(Decimal(format(value, ".15g")), "f")
    return str(value)


def _ledger_rows(rows: list[list[str]], file_name: str) -> list[tuple[str, int, str, str, str]]:
    """Lines below the first row that holds every required finance header."""
    header_index = next(
        (
            index
            for index, row in enumerate(rows)
            if all(column in [cell.strip().lower() for cell in row] for column in FINANCE_COLUMNS)
        ),
        None,
    )
    if header_index is None:
        return []
    names = [cell.strip().lower() for cell in rows[header_index]]
    position = {column: names.index(column) for column in FINANCE_COLUMNS}
    lines = []
    for row_index in range(header_index + 1, len(rows)):
        row = rows[row_index]
        if not any(cell.strip() for cell in row):
            continue
        padded = row + [""] * (len(names) - len(row))
        lines.append(
            (
                file_name,
                row_index + 1,
                padded[position["period"]],
                padded[position["funding_source"]],
                padded[position["amount"]],
            )
        )
    return lines


def finance_lines(paths: list[Path]) -> list[tuple[str, int, str, str, str]]:
    """(file, row, period text, funding source, amount text) for every finance upload."""
    lines: list[tuple[str, int, str, str, str]] = []
    for path in paths:
        if path.suffix.lower() == ".xlsx":
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                names = workbook.sheetnames
                sheet = (
                    workbook["Expenditures"] if "Expenditures" in names else workbook.worksheets[0]
                )
                rows = [
                    [_cell_text(value) for value in row]
                    for row in sheet.iter_rows(values_only=True)
                ]
            finally:
                workbook.close()
        else:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                # Finance CSVs saved from Excel may be Windows-1252 (extracts.md).
                text = raw.decode("cp1252")
            rows = list(csv.reader(io.StringIO(text)))
        lines.extend(_ledger_rows(rows, path.name))
    return lines


def render_script(
    files: dict[str, list[Path]], fiscal_year: str, rules: RuleSettings = RuleSettings()
) -> str:
    fy_start, q2_end, q3_end, final_end = stage_ends(fiscal_year)
    return Template(FLOOR_SQL.read_text(encoding="utf-8")).substitute(
        {f"{kind}_files": _sql_list(paths) for kind, paths in files.items()},
        fiscal_year=fiscal_year,
        fy_start=fy_start.isoformat(),
        q2_end=q2_end.isoformat(),
        q3_end=q3_end.isoformat(),
        final_end=final_end.isoformat(),
        autodialer_max_talk_seconds=rules.autodialer_max_talk_seconds,
        autodialer_min_calls=rules.autodialer_min_calls,
        autodialer_window_minutes=rules.autodialer_window_minutes,
        window_us=rules.autodialer_window_minutes * 60 * 1_000_000,
        short_abandon_seconds=rules.short_abandon_seconds,
        test_queue_pattern=rules.test_queue_pattern.replace("'", "''"),
    )


def floor_report(
    data_dir: Path,
    fiscal_year: str,
    rules: RuleSettings = RuleSettings(),
    threads: int | None = None,
) -> list[dict[str, str]]:
    """The ten elements of every stage of `fiscal_year`, as the report CSV's rows (text values)."""
    data_dir = Path(data_dir)
    with tempfile.TemporaryDirectory(prefix="o211-floor-") as scratch:
        files: dict[str, list[Path]] = {}
        for kind, columns in REQUIRED_COLUMNS.items():
            found = (
                [data_dir / "config" / "blocklist.csv"]
                if kind == "blocklist" and (data_dir / "config" / "blocklist.csv").is_file()
                else inbox_files(data_dir, kind)
                if kind != "blocklist"
                else []
            )
            if not found:
                stand_in = Path(scratch) / f"{kind}.csv"
                stand_in.write_text(",".join(columns) + "\n", encoding="utf-8")
                found = [stand_in]
            files[kind] = found
        script = render_script(files, fiscal_year, rules)
        connection = duckdb.connect()
        try:
            if threads is not None:
                connection.execute(f"set threads = {int(threads)}")
            connection.execute(
                "create temp table finance_lines (file_name varchar, row_no bigint, "
                "period_text varchar, funding_source varchar, amount_text varchar)"
            )
            lines = finance_lines(inbox_files(data_dir, "finance", (".csv", ".xlsx")))
            if lines:
                connection.executemany("insert into finance_lines values (?, ?, ?, ?, ?)", lines)
            connection.execute(script)
            cursor = connection.execute(
                "select " + ", ".join(REPORT_COLUMNS) + " from floor_report"
            )
            rows = cursor.fetchall()
        finally:
            connection.close()
    return [
        {
            column: "" if value is None else str(value)
            for column, value in zip(REPORT_COLUMNS, row, strict=True)
        }
        for row in rows
    ]


def write_csv(rows: list[dict[str, str]], out: io.TextIOBase | io.StringIO) -> None:
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds inbox/<kind>/")
    parser.add_argument("--fiscal-year", default="2025-26")
    parser.add_argument("--out", type=Path, help="CSV to write (default: standard output)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    arguments = parser.parse_args(argv)
    rows = floor_report(arguments.data_dir, arguments.fiscal_year, threads=arguments.threads)
    if arguments.out is None:
        write_csv(rows, sys.stdout)
    else:
        with arguments.out.open("w", encoding="utf-8", newline="") as handle:
            write_csv(rows, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
