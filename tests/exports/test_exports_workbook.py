"""The ministry workbook and CSV, read back cell by cell (report.md)."""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import openpyxl
import pytest

from exports.csv_export import CSV_COLUMNS, csv_bytes
from exports.marts import read_report_data
from exports.report import ReportResult
from exports.report_data import ReportDataMissing
from o211.paths import DataPaths
from o211.text_safety import inert_csv_text as csv_text
from tests.exports.conftest import FISCAL_YEAR, MartSpec, seed_elements, write

REPORT_SPEC = Path("/work/shared/spec/report.md")
SHEETS = ["Cover", "Service Data", "Monthly", "Exclusions", "Sources", "Notes"]


def ministry_definitions() -> dict[str, str]:
    """The element names and definitions of report.md's bullet list (the seed when absent)."""
    if REPORT_SPEC.exists():
        pattern = re.compile(r"^- `(?P<name>[^`]+)`: (?P<definition>.+)$")
        found = {
            m["name"]: m["definition"].strip()
            for m in map(pattern.match, REPORT_SPEC.read_text(encoding="utf-8").splitlines())
            if m
        }
        assert len(found) == 10, "report.md should list the ten definitions"
        return found
    return {row["element"]: row["definition"] for row in seed_elements()}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rows(ws) -> list[list[object]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture
def q2(data_paths: DataPaths) -> ReportResult:
    return write(data_paths)


def test_file_names_and_sheets(q2: ReportResult) -> None:
    assert q2.status == "written" and q2.version == 1
    assert q2.xlsx_path.name == "ON211_ServiceDataSchedule_2025-26_Q2_v1.xlsx"
    assert q2.csv_path.name == "ON211_ServiceDataSchedule_2025-26_Q2_v1.csv"
    assert q2.xlsx_path.parent.name == FISCAL_YEAR
    assert openpyxl.load_workbook(q2.xlsx_path).sheetnames == SHEETS


def test_cover(q2: ReportResult) -> None:
    ws = openpyxl.load_workbook(q2.xlsx_path)["Cover"]
    assert ws["A1"].value == "Ontario 211 - Service Data Schedule"
    items = {r[0]: r[1] for r in rows(ws)[3:]}
    assert items["Program"] == "Ontario community services information and referral service"
    assert items["Component"] == "Homelessness Initiatives and Other Community Services"
    assert items["Legislation"] == "Ministry of Community and Social Services Act (MCSSA)"
    assert items["Fiscal year"] == "2025-26"
    assert items["Stage"] == "Interim - Q2 year-to-date"
    assert items["Period covered"].startswith("1 April 2025 to 30 September 2025")
    # 14:30 UTC is 10:30 in Toronto on 5 October (daylight time).
    assert items["Generated at (Toronto time)"] == "2025-10-05 10:30 EDT"
    assert items["Data complete through: calls"] == "2025-10-31"
    assert items["Data complete through: texts"] == "2025-09-30"
    assert items["Version"] == "v1"
    assert items["Product version"] == "9.9.9"
    assert (
        items["Rules fingerprint"]
        == read_report_data(
            q2.xlsx_path.parents[2] / "warehouse" / "o211.duckdb", FISCAL_YEAR, "Q2"
        ).rules_fingerprint
    )
    assert items["Inputs fingerprint"] == q2.fingerprint


def test_final_stage_in_words(data_paths: DataPaths) -> None:
    result = write(data_paths, "final")
    items = {r[0]: r[1] for r in rows(openpyxl.load_workbook(result.xlsx_path)["Cover"])[3:]}
    assert items["Stage"] == "Final - year-end"
    assert items["Period covered"].startswith("1 April 2025 to 31 March 2026")


def test_service_data_names_definitions_and_numbers(q2: ReportResult) -> None:
    ws = openpyxl.load_workbook(q2.xlsx_path)["Service Data"]
    header, *body = rows(ws)
    assert header == [
        "Service Data Name", "Definition", "Year-to-date", "Q1", "Q2", "Q3", "Q4", "Basis",
    ]  # fmt: skip
    definitions = ministry_definitions()
    assert [r[0] for r in body] == list(definitions)
    assert all(r[1] == definitions[r[0]] for r in body)
    csv_rows = {r["element"]: r for r in read_csv(q2.csv_path)}
    for index, row in enumerate(body, start=2):
        unit = next(e["unit"] for e in seed_elements() if e["element"] == row[0])
        ytd, q1, q2_value, q3, q4 = (ws.cell(row=index, column=c) for c in range(3, 8))
        assert q3.value is None and q4.value is None, "quarters not reached are blank"
        for cell in (ytd, q1, q2_value):
            assert cell.data_type == "n" and isinstance(cell.value, int | float)
        assert Decimal(str(ytd.value)) == Decimal(csv_rows[row[0]]["value"])
        if unit == "count":
            assert ytd.number_format == "#,##0" and isinstance(ytd.value, int)
        elif unit == "percent":
            assert ytd.number_format == '0.0"%"'
            assert row[7] == (
                f"{int(csv_rows[row[0]]['numerator']):,} of "
                f"{int(csv_rows[row[0]]['denominator']):,} surveyed"
            )
        else:
            assert ytd.number_format.startswith('"$"#,##0.00')
    phone = csv_rows["Client Satisfaction: Phone Service"]
    assert (phone["value"], phone["numerator"], phone["denominator"]) == ("88.4", "774", "876")


def test_csv_contract(q2: ReportResult) -> None:
    text = q2.csv_path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    body = read_csv(q2.csv_path)
    assert [r["element"] for r in body] == list(ministry_definitions())
    assert [r["element_order"] for r in body] == [str(n) for n in range(1, 11)]
    for row in body:
        assert (row["fiscal_year"], row["stage"], row["stage_kind"]) == ("2025-26", "Q2", "interim")
        assert (row["period_start"], row["period_end"]) == ("2025-04-01", "2025-09-30")
        satisfaction = row["element"].startswith("Client Satisfaction")
        assert bool(row["numerator"]) == satisfaction == bool(row["denominator"])
        if satisfaction:
            assert re.fullmatch(r"\d+\.\d", row["value"])
        elif "Expenditures" in row["element"]:
            assert row["value"] == "1234567.96"
        else:
            assert re.fullmatch(r"\d+", row["value"])
    assert q2.figures["# of Calls"] == Decimal(body[0]["value"])


def test_blank_value_when_no_figure(data_paths: DataPaths) -> None:
    data = read_report_data(data_paths.warehouse, FISCAL_YEAR, "Q2")
    chat = next(r for r in data.schedule if r.element == "Client Satisfaction: Chat Service")
    blank = replace(data, schedule=[replace(chat, value=None, numerator=0, denominator=0)])
    line = csv_bytes(blank).decode().splitlines()[1].split(",")
    assert line[7] == "" and line[8:] == ["0", "0"]


def test_monthly_sheet_and_chart(q2: ReportResult) -> None:
    ws = openpyxl.load_workbook(q2.xlsx_path)["Monthly"]
    header, *body = rows(ws)[:11]
    assert header == ["Service Data Name"] + [
        f"{m} 2025" for m in ("Apr", "May", "Jun", "Jul", "Aug", "Sep")
    ]
    assert body[0] == ["# of Calls"] + [25_207] * 6
    assert ws.cell(row=7, column=2).number_format == '0.0"%"'
    with zipfile.ZipFile(q2.xlsx_path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        chart = archive.read(charts[0]).decode()
    space = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    root = ElementTree.fromstring(chart)
    series = root.findall(".//c:lineChart/c:ser", space)
    titles = [s.find("c:tx/c:strRef/c:f", space).text for s in series]
    # One series per contact channel: calls, chats, emails, texts (rows 2 to 5).
    assert titles == ["'Monthly'!A2", "'Monthly'!A3", "'Monthly'!A4", "'Monthly'!A5"]
    assert root.find(".//c:valAx/c:delete", space).get("val") == "0", "axes shown"


def test_exclusions_balance(q2: ReportResult) -> None:
    ws = openpyxl.load_workbook(q2.xlsx_path)["Exclusions"]
    header, *body = rows(ws)
    assert header[:2] == ["Channel", "Contacts seen"]
    assert header[-2:] == ["Seen minus all outcomes", "Balance holds"]
    assert [r[0] for r in body] == ["calls", "chats", "emails", "texts"]
    for row in body:
        outcomes = [v for v in row[2:-2] if v is not None]
        assert all(isinstance(v, int) for v in [row[1], *outcomes, row[-2]])
        assert row[1] - sum(outcomes) == row[-2] == 0
        assert row[-1] is True


@pytest.mark.parametrize("mart_spec", [MartSpec(calls_unbalanced=3)])
def test_exclusions_show_a_broken_balance(q2: ReportResult) -> None:
    body = rows(openpyxl.load_workbook(q2.xlsx_path)["Exclusions"])[1:]
    calls = next(r for r in body if r[0] == "calls")
    assert calls[-2:] == [3, False]


def test_sources_list_the_files_of_the_stage(q2: ReportResult, mart_spec: MartSpec) -> None:
    body = rows(openpyxl.load_workbook(q2.xlsx_path)["Sources"])[1:]
    names = {r[1] for r in body}
    # calls_2025-10.csv starts after 30 September: it did not feed the Q2 figures.
    expected = {name for _, name, first, _ in mart_spec.source_files if first.month != 10}
    assert names == expected
    for kind, name, sha, count, loaded_at, first, last in body:
        assert sha == hashlib.sha256(name.encode()).hexdigest()
        assert isinstance(count, int) and isinstance(loaded_at, datetime)
        assert first <= last and kind


def test_notes_methodology_rules_and_warnings(q2: ReportResult) -> None:
    body = rows(openpyxl.load_workbook(q2.xlsx_path)["Notes"])[1:]
    methodology = {r[1]: r[2] for r in body if r[0] == "Methodology"}
    assert list(methodology) == list(ministry_definitions())
    assert "5 (autodialer_min_calls)" in methodology["# of Calls"]
    assert "analytics session" in methodology["# of Website Sessions"]
    rules = {r[1]: r[2] for r in body if r[0] == "Rule in force"}
    assert rules["autodialer_window_minutes (var)"] == "60"
    assert rules["web_hostnames (seed)"] == "211ontario.ca; www.211ontario.ca"
    assert rules["disposition_categories (seed)"] == "Test: test"
    assert (
        "211ontario.ca; www.211ontario.ca (web_hostnames)" in methodology["# of Website Sessions"]
    )
    warnings = {r[1]: r for r in body if str(r[0]).startswith("Data quality")}
    assert warnings["Voicemail"][3] == 17
    assert warnings["N/A"][0] == "Data quality: Invalid survey answer (phone)"
    assert warnings["staging.211ontario.ca"][3] == 345
    assert warnings["2025-08-03"][0] == "Data quality: Day with no data (texts)"
    assert warnings["2025-06"][4] == -1234.5


HOSTILE = MartSpec(
    unmapped_disposition='=HYPERLINK("http://x")',
    excluded_hostname="+cmd|' /C calc'!A0",
    source_files=[
        *MartSpec().source_files,
        ("surveys", "@SUM(1+1).csv", MartSpec().source_files[0][2], MartSpec().source_files[0][3]),
    ],
)


@pytest.mark.parametrize("mart_spec", [HOSTILE])
def test_text_from_inputs_stays_text(q2: ReportResult) -> None:
    wb = openpyxl.load_workbook(q2.xlsx_path)
    texts = {
        cell.value: cell.data_type
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    }
    for hostile in (HOSTILE.unmapped_disposition, HOSTILE.excluded_hostname, "@SUM(1+1).csv"):
        assert texts[hostile] == "s"
    with zipfile.ZipFile(q2.xlsx_path) as archive:
        for name in archive.namelist():
            content = archive.read(name).decode("utf-8", errors="replace")
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in content and "<f " not in content, f"formula in {name}"
            assert "<hyperlink" not in content, f"hyperlink in {name}"
            assert "relationships/hyperlink" not in content, f"hyperlink in {name}"


def test_csv_neutralises_formula_text(data_paths: DataPaths) -> None:
    data = read_report_data(data_paths.warehouse, FISCAL_YEAR, "Q2")
    hostile = [
        replace(row, element=name)
        for row, name in zip(
            data.schedule[:4], ['=HYPERLINK("http://x")', "+cmd", "@SUM(A1)", "\tx"], strict=True
        )
    ]
    body = list(csv.reader(csv_bytes(replace(data, schedule=hostile)).decode().splitlines()))
    assert [r[6] for r in body[1:]] == ['\'=HYPERLINK("http://x")', "'+cmd", "'@SUM(A1)", "'\tx"]
    assert csv_text("-1234.56") == "'-1234.56", "text is neutralised even when it looks numeric"
    assert csv_text("Voicemail") == "Voicemail"


def test_accessibility_and_print_setup(data_paths: DataPaths) -> None:
    write(data_paths)
    build = MartSpec(monthly={**MartSpec().monthly, 1: Decimal(25_300)})
    from tests.exports.conftest import build_marts

    build_marts(data_paths.warehouse, build)
    second = write(data_paths)
    wb = openpyxl.load_workbook(second.xlsx_path)
    assert wb.sheetnames == [*SHEETS, "Changes"]
    for ws in wb.worksheets:
        assert not ws.merged_cells.ranges, f"{ws.title} has merged cells"
        assert ws.page_setup.orientation == "landscape"
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_LETTER
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows, f"{ws.title} repeats no header row"
        header_row = int(ws.print_title_rows.split(":")[0].lstrip("$"))
        assert ws.freeze_panes is not None
        header = [c for c in ws[header_row] if c.value is not None]
        assert header and all(c.font.bold for c in header)
        assert ws.tables, f"{ws.title} has no table (filter buttons, header for readers)"
        assert not ws._hyperlinks


def test_workbook_and_csv_round_alike_half_up(data_paths: DataPaths) -> None:
    con = duckdb.connect(str(data_paths.warehouse))
    con.execute(
        "update marts.service_data_schedule set value = 88.25, q1_value = 0.05"
        " where element_order = 6 and stage = 'Q2'"
    )
    con.execute(
        "update marts.service_data_schedule set value = 10.5 where element_order = 1"
        " and stage = 'Q2'"
    )
    con.close()
    result = write(data_paths)
    body = {r["element"]: r["value"] for r in read_csv(result.csv_path)}
    ws = openpyxl.load_workbook(result.xlsx_path)["Service Data"]
    phone = next(r for r in ws.iter_rows(min_row=2) if r[0].value.endswith("Phone Service"))
    assert body["Client Satisfaction: Phone Service"] == "88.3" == str(phone[2].value)
    assert phone[3].value == 0.1
    assert body["# of Calls"] == "11" and ws["C2"].value == 11
    assert result.figures["# of Calls"] == Decimal(11)


def test_missing_warehouse_or_marts_say_what_to_run(tmp_path: Path) -> None:
    paths = DataPaths(tmp_path / "data")
    with pytest.raises(ReportDataMissing, match="o211 ingest"):
        write(paths)
    paths.warehouse_dir.mkdir(parents=True)
    duckdb.connect(str(paths.warehouse)).close()
    with pytest.raises(ReportDataMissing, match="run `o211 build`"):
        write(paths)
