"""Loading the inbox: good files of every kind, every kind of bad file, duplicates, rebuild."""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingest import contracts, file_scan, workbook_safety
from ingest.pipeline import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    FileResult,
    RebuildError,
    check_file,
    ingest_inbox,
    rebuild_from_archive,
)
from ingest.warehouse import RAW_TABLES
from o211.paths import DataPaths

KEY = b"test-pii-key"

CALLS = "\n".join(
    [
        "contact_id,segment_id,started_at,queued_at,answered_at,ended_at,caller_number,queue,"
        "disposition,language",
        "c1,s1,2025-04-01T09:00:00-04:00,2025-04-01T09:00:10-04:00,2025-04-01T09:01:00-04:00,"
        "2025-04-01T09:05:00-04:00,+1 (416) 555-0100,211_EN,Service,en",
        "c1,s2,2025-04-01T09:05:00-04:00,2025-04-01T09:05:05-04:00,2025-04-01T09:06:00-04:00,"
        "2025-04-01T09:09:00-04:00,416.555.0100,211_FR,,fr",
        "c2,s1,2025-04-01T23:30:00,,,2025-04-01T23:30:40,anonymous,211_EN,,en",
        "",
    ]
)
GOOD: dict[str, tuple[str, str]] = {
    "calls": ("calls_2025-04-01.csv", CALLS),
    "chats": (
        "chats.csv",
        "contact_id,started_at,answered_at,ended_at,visitor_id,spam_flag,disposition,language\n"
        "h1,2025-04-02T10:00:00Z,2025-04-02T10:01:00Z,2025-04-02T10:20:00Z,v-77,no,Service,en\n"
        "h2,2025-04-02T11:00:00Z,,2025-04-02T11:02:00Z,,Y,,\n",
    ),
    "emails": (
        "emails.csv",
        "contact_id,received_at,sender,spam_flag,disposition\n"
        "e1,2025-04-03T08:00:00,Ana.Silva@Example.org,false,\n"
        "e2,2025-04-03T09:00:00,,,Spam\n",
    ),
    "texts": (
        "texts.csv",
        "contact_id,started_at,sender,spam_flag,disposition\n"
        "t1,2025-04-04T12:00:00-04:00,(647) 555-0199,0,\n",
    ),
    "surveys": (
        "surveys.csv",
        "response_id,channel,submitted_at,answer,contact_id\n"
        "r1,Phone,2025-04-05T12:00:00-04:00,Very satisfied,c1\n"
        "r2,web chat,2025-04-05T13:00:00-04:00,,\n",
    ),
    "web": (
        "web.csv",
        "# GA4 export\n# Property: 211 Ontario\n\nDate,Sessions,Hostname\n"
        "20250401,120,211ontario.ca\n2025-04-02,0,www.211ontario.ca\n",
    ),
    "finance": (
        "finance.csv",
        "period,account,description,funding_source,amount\n"
        '2025-04,5000,Salaires é,MCCSS,"$1,234.56"\n'
        "2025-04-20,5100,Loyer,other,(100.00)\n",
    ),
}


def data_dir(tmp_path: Path) -> DataPaths:
    return DataPaths(tmp_path / "data").ensure()


def drop(
    paths: DataPaths, kind: str, name: str, content: str | bytes, encoding: str = "utf-8"
) -> Path:
    path = paths.inbox(kind) / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def ingest(paths: DataPaths, kinds: list[str] | None = None) -> list[FileResult]:
    return [r for r in ingest_inbox(paths, kinds=kinds, pii_key=KEY) if r.kind != "blocklist"]


def counts(paths: DataPaths) -> dict[str, int]:
    if not paths.warehouse.exists():
        return {}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return {
            table: con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            for table in [*RAW_TABLES, "load_log", "blocklist"]
        }


def query(paths: DataPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def rejected_once(paths: DataPaths, kind: str, name: str, content: str | bytes, **kw) -> FileResult:
    """Load a good file first, then the bad one: the bad one must change nothing."""
    if not counts(paths).get(kind):
        good_name, good = GOOD[kind]
        drop(paths, kind, good_name, good)
        assert ingest(paths, [kind])[0].status == ACCEPTED
    before = counts(paths)
    drop(paths, kind, name, content, **kw)
    (result,) = ingest(paths, [kind])
    assert result.status == REJECTED, result
    assert counts(paths) == before
    assert result.rejected_path == paths.rejected(kind) / name
    assert result.rejected_path.exists()
    assert not (paths.inbox(kind) / name).exists()
    errors_csv = Path(f"{result.rejected_path}.errors.csv")
    errors_txt = Path(f"{result.rejected_path}.errors.txt")
    assert errors_csv.exists() and errors_txt.exists()
    with errors_csv.open(encoding="utf-8-sig", newline="") as handle:
        listed = list(csv.DictReader(handle))
    assert len(listed) == len(result.problems)
    assert list(listed[0]) == ["row", "column", "value", "problem"]
    assert "NOT loaded" in errors_txt.read_text(encoding="utf-8")
    return result


def cells(result: FileResult) -> set[tuple[int | None, str | None]]:
    return {(p.row, p.column) for p in result.problems}


# --- good files --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(GOOD))
def test_a_good_file_of_every_kind_loads_and_is_archived_read_only(tmp_path, kind):
    paths = data_dir(tmp_path)
    name, content = GOOD[kind]
    drop(paths, kind, name, content, encoding="cp1252" if kind == "finance" else "utf-8")
    (result,) = ingest(paths)
    assert result.status == ACCEPTED, result.problems
    expected_rows = content.strip().count("\n") - (3 if kind == "web" else 0)
    assert result.rows == expected_rows
    assert counts(paths)[kind] == expected_rows
    assert result.archive_path.name.endswith("__" + name)
    assert result.archive_path.parent == paths.archive(kind)
    assert stat.S_IMODE(os.stat(result.archive_path).st_mode) == 0o400
    assert list(paths.inbox(kind).iterdir()) == []
    log = query(paths, "select kind, file_name, rows, load_id, sha256 from raw.load_log")
    assert log == [(kind, name, expected_rows, result.load_id, result.sha256)]
    meta = query(paths, f"select distinct _load_id, _source_file, _source_sha256 from raw.{kind}")
    assert meta == [(result.load_id, name, result.sha256)]


def test_calls_rows_keep_their_file_row_numbers_hashes_and_local_dates(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "calls", "calls.csv", CALLS.replace("\nc2", "\n\nc2"))  # a blank line
    (result,) = ingest(paths)
    assert result.status == ACCEPTED
    rows = query(
        paths, "select _source_row, caller_hash, queue from raw.calls order by _source_row"
    )
    assert [r[0] for r in rows] == [2, 3, 5]
    assert rows[0][1] == rows[1][1] and len(rows[0][1]) == 64  # one caller, two formats
    assert rows[2][1] is None  # withheld
    first, last = query(paths, "select first_date, last_date from raw.load_log")[0]
    assert (str(first), str(last)) == ("2025-04-01", "2025-04-01")  # 23:30 local stays on the 1st


def test_finance_windows_1252_accents_amounts_and_months(tmp_path):
    paths = data_dir(tmp_path)
    name, content = GOOD["finance"]
    drop(paths, "finance", name, content, encoding="cp1252")
    (result,) = ingest(paths)
    assert result.status == ACCEPTED and result.encoding == "Windows-1252"
    rows = query(paths, "select period, funding_source, amount from raw.finance order by amount")
    assert [(str(p), f, a) for p, f, a in rows] == [
        ("2025-04-01", "other", Decimal("-100.0000")),
        ("2025-04-01", "MCCSS", Decimal("1234.5600")),
    ]
    assert query(paths, "select last_date from raw.load_log")[0][0].isoformat() == "2025-04-30"
    # description is free text: never loaded
    columns = {
        c
        for (c,) in query(
            paths, "select column_name from duckdb_columns() where table_name='finance'"
        )
    }
    assert "description" not in columns


def workbook_bytes(build) -> bytes:
    workbook = openpyxl.Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def finance_workbook(workbook: openpyxl.Workbook, formula: bool = False) -> None:
    notes = workbook.active
    notes.title = "Instructions"
    notes["A1"] = "Fill in the Expenditures sheet"
    sheet = workbook.create_sheet("Expenditures")
    sheet["A1"] = "211 Ontario - expenditures FY 2025-26"
    sheet.merge_cells("A1:E1")
    sheet.append([])
    sheet.append([" Period ", "Account", "Description", "Funding_Source", "Amount", "Note"])
    from datetime import datetime

    sheet.append([datetime(2025, 4, 1), "5000", "Salaires", "MCCSS", 1234.56, "x"])
    sheet.append(["2025-05", 5100, "Loyer", "United Way", "(1,000.00)", None])
    sheet.append([datetime(2025, 6, 15), "5200", None, "Ministry", 0.1 + 0.2, None])
    if formula:
        sheet.append([datetime(2025, 6, 1), "5300", "=C4", "MCCSS", "=E4*2", None])


def test_finance_workbook_with_title_rows_and_an_instruction_sheet(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "finance", "finance.xlsx", workbook_bytes(finance_workbook))
    (result,) = ingest(paths)
    assert result.status == ACCEPTED, result.problems
    assert result.extra_columns == ["Note"]
    rows = query(
        paths, "select _source_row, period, funding_source, amount from raw.finance order by 1"
    )
    assert [(r, str(p), f, a) for r, p, f, a in rows] == [
        (4, "2025-04-01", "MCCSS", Decimal("1234.5600")),
        (5, "2025-05-01", "United Way", Decimal("-1000.0000")),
        (6, "2025-06-01", "Ministry", Decimal("0.3000")),
    ]


# --- bad files ---------------------------------------------------------------------------------


def test_missing_required_columns_are_all_named(tmp_path):
    paths = data_dir(tmp_path)
    bad = "contact_id,started_at,queue\nc9,2025-04-01T09:00:00,211_EN\n"
    result = rejected_once(paths, "calls", "calls_bad.csv", bad)
    assert cells(result) == {(None, None)}
    assert "'ended_at'" in result.reason


def test_duplicate_header_names_reject(tmp_path):
    paths = data_dir(tmp_path)
    bad = "response_id,channel,submitted_at,answer,Channel\nr1,phone,2025-04-01T09:00:00,ok,chat\n"
    result = rejected_once(paths, "surveys", "surveys_bad.csv", bad)
    assert "more than once" in result.reason


def test_bad_timestamp_blank_key_and_end_before_start_give_row_and_column(tmp_path):
    paths = data_dir(tmp_path)
    lines = CALLS.splitlines()
    bad = (
        "\n".join(
            [
                lines[0],
                lines[1],
                "",  # blank line 3 is skipped but still counted
                lines[2].replace(
                    "2025-04-01T09:05:00-04:00,2025-04-01T09:05:05",
                    "01/04/2025,2025-04-01T09:05:05",
                ),
                lines[3].replace("2025-04-01T23:30:40", "2025-04-01T23:00:00"),
                lines[3].replace("c2,", ",").replace("211_EN", ""),
            ]
        )
        + "\n"
    )
    result = rejected_once(paths, "calls", "calls_bad.csv", bad)
    assert cells(result) == {(4, "started_at"), (5, "ended_at"), (6, "contact_id"), (6, "queue")}
    by_cell = {(p.row, p.column): p for p in result.problems}
    assert by_cell[(4, "started_at")].value == "01/04/2025"
    assert "earlier than started_at" in by_cell[(5, "ended_at")].problem


def test_bad_boolean(tmp_path):
    paths = data_dir(tmp_path)
    _, good = GOOD["chats"]
    result = rejected_once(paths, "chats", "chats_bad.csv", good.replace(",no,", ",maybe,"))
    assert cells(result) == {(2, "spam_flag")}


def test_web_sessions_must_be_whole_and_not_negative_rows_count_comment_lines(tmp_path):
    paths = data_dir(tmp_path)
    bad = "# export\n\ndate,sessions\n2025-04-01,-3\n2025-04-02,1.5\n2025-04-03,7\n2025/04/04,1\n"
    result = rejected_once(paths, "web", "web_bad.csv", bad)
    assert cells(result) == {(4, "sessions"), (5, "sessions"), (7, "date")}


def test_money_more_than_four_decimals_unknown_funding_and_bad_period(tmp_path):
    paths = data_dir(tmp_path)
    bad = (
        "period,account,funding_source,amount\n"
        "2025-04,5000,MCCSS,12.34567\n"
        "2025-04,5000,Lottery,10\n"
        "April,5000,Other,10\n"
        "2025-04,5000,  mccss ,1 000\n"
    )
    result = rejected_once(paths, "finance", "finance_bad.csv", bad)
    assert cells(result) == {(2, "amount"), (3, "funding_source"), (4, "period"), (5, "amount")}
    problems = {(p.row, p.column): p for p in result.problems}
    assert "more than 4 decimal places" in problems[2, "amount"].problem
    assert "MCCSS" in problems[3, "funding_source"].fix
    assert problems[5, "amount"].value == "1 000"  # a space is no thousands mark


def test_non_utf8_calls_file_rejects(tmp_path):
    paths = data_dir(tmp_path)
    bad = CALLS.replace("Service", "Servicé").encode("cp1252")
    result = rejected_once(paths, "calls", "calls_latin.csv", bad)
    assert "not UTF-8" in result.reason


def test_utf8_with_bom_loads_and_is_recorded(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "texts", "texts.csv", b"\xef\xbb\xbf" + GOOD["texts"][1].encode())
    (result,) = ingest(paths)
    assert result.status == ACCEPTED and result.encoding == "UTF-8 with BOM"


def test_empty_and_header_only_files_reject(tmp_path):
    paths = data_dir(tmp_path)
    empty = rejected_once(paths, "emails", "empty.csv", b"")
    assert "empty" in empty.reason
    header_only = rejected_once(paths, "emails", "header.csv", "contact_id,received_at\n\n")
    assert "no data rows" in header_only.reason


def test_semicolon_delimiter_is_named(tmp_path):
    paths = data_dir(tmp_path)
    bad = GOOD["texts"][1].replace(",", ";")
    result = rejected_once(paths, "texts", "texts_semicolon.csv", bad)
    assert "the file seems to use ';' between columns; save it as comma-separated" in result.reason


def test_binary_content_rejects(tmp_path):
    paths = data_dir(tmp_path)
    result = rejected_once(paths, "calls", "calls.csv", b"\x00\x01\x02\x03binary" * 20)
    assert "binary" in result.reason


def test_a_row_with_too_many_cells_is_named(tmp_path):
    paths = data_dir(tmp_path)
    bad = GOOD["texts"][1] + "t2,2025-04-04T12:00:00Z,416 555 0100,0,Info, extra\n"
    result = rejected_once(paths, "texts", "texts_wide.csv", bad)
    assert cells(result) == {(3, None)}


def test_corrupt_workbook_rejects(tmp_path):
    paths = data_dir(tmp_path)
    result = rejected_once(paths, "finance", "finance.xlsx", b"PK\x03\x04 not really a zip")
    assert "not a valid .xlsx" in result.reason


def test_password_protected_workbook_rejects(tmp_path):
    paths = data_dir(tmp_path)
    ole = file_scan.OLE_MAGIC + b"\x00" * 504
    result = rejected_once(paths, "finance", "finance.xlsx", ole)
    assert "password-protected" in result.reason


def test_oversized_workbook_rejects_before_opening(tmp_path, monkeypatch):
    paths = data_dir(tmp_path)
    content = workbook_bytes(finance_workbook)
    monkeypatch.setattr(workbook_safety, "MAX_WORKBOOK_BYTES", len(content) - 1)
    result = rejected_once(paths, "finance", "finance_big.xlsx", content)
    assert "the limit is" in result.reason


def test_zip_bomb_workbook_rejects_before_opening(tmp_path, monkeypatch):
    paths = data_dir(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * 5_000_000 + b">")
    opened = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a))
    result = rejected_once(paths, "finance", "finance_bomb.xlsx", buffer.getvalue())
    assert "unpack" in result.reason
    assert opened == []


def test_formula_cells_reject_and_say_paste_values(tmp_path):
    paths = data_dir(tmp_path)
    content = workbook_bytes(lambda wb: finance_workbook(wb, formula=True))
    result = rejected_once(paths, "finance", "finance_formula.xlsx", content)
    assert cells(result) == {(7, "amount")}
    assert "formula" in result.problems[0].problem and "Paste Special" in result.problems[0].fix
    errors = Path(f"{result.rejected_path}.errors.csv").read_text(encoding="utf-8-sig")
    assert "'=E4*2" in errors and ",=E4" not in errors


def test_wrong_file_type_for_a_kind_rejects(tmp_path):
    paths = data_dir(tmp_path)
    result = rejected_once(paths, "calls", "calls.xlsx", workbook_bytes(finance_workbook))
    assert "must be a .csv file" in result.reason


def test_a_rejected_name_already_taken_gets_a_suffix(tmp_path):
    paths = data_dir(tmp_path)
    first = rejected_once(paths, "emails", "empty.csv", b"")
    drop(paths, "emails", "empty.csv", b"\n\n")
    (second,) = ingest(paths, ["emails"])
    assert second.status == REJECTED
    assert second.rejected_path == paths.rejected("emails") / "empty.2.csv"
    assert first.rejected_path.read_bytes() == b""
    assert Path(f"{second.rejected_path}.errors.txt").exists()


def test_a_bad_file_never_blocks_the_good_ones_beside_it(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "texts", "a_good.csv", GOOD["texts"][1])
    drop(paths, "texts", "b_bad.csv", "contact_id\nx\n")
    drop(paths, "texts", "c_good.csv", GOOD["texts"][1].replace("t1,", "t9,"))
    results = ingest(paths)
    assert [r.status for r in results] == [ACCEPTED, REJECTED, ACCEPTED]
    assert counts(paths)["texts"] == 2


def test_check_file_validates_without_loading_or_moving(tmp_path):
    paths = data_dir(tmp_path)
    path = drop(paths, "web", "web.csv", "date,sessions\n2025-04-01,x\n")
    result = check_file(path, "web")
    assert not result.ok and [(p.row, p.column) for p in result] == [(2, "sessions")]
    assert path.exists() and not paths.warehouse.exists()
    good = drop(paths, "web", "web_ok.csv", GOOD["web"][1])
    assert check_file(good, "web").ok and check_file(good, "web").rows == 2


# --- duplicates, overlaps, crash recovery, rebuild ----------------------------------------------


def test_the_same_file_twice_loads_once(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "calls", "calls_a.csv", CALLS)
    drop(paths, "calls", "calls_b.csv", CALLS)  # same bytes, other name
    first, second = ingest(paths)
    assert (first.status, second.status) == (ACCEPTED, DUPLICATE)
    assert second.load_id == first.load_id
    assert counts(paths)["calls"] == 3 and counts(paths)["load_log"] == 1
    assert second.archive_path.name.endswith("calls_b.csv.duplicate")
    drop(paths, "calls", "calls_a.csv", CALLS)
    (third,) = ingest(paths)
    assert third.status == DUPLICATE and counts(paths)["calls"] == 3


def test_an_overlapping_corrected_file_keeps_both_versions_in_load_order(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "calls", "calls_1.csv", CALLS)
    drop(paths, "calls", "calls_2.csv", CALLS.replace("Service", "Test Call"))
    first, second = ingest(paths)
    assert second.load_id > first.load_id
    versions = query(
        paths,
        "select _load_id, disposition from raw.calls where contact_id='c1' and segment_id='s1' "
        "order by _load_id",
    )
    assert versions == [(first.load_id, "Service"), (second.load_id, "Test Call")]


def test_a_file_loaded_but_not_moved_is_finished_on_the_next_run(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "chats", "chats.csv", GOOD["chats"][1])
    (loaded,) = ingest(paths)
    # Simulate a crash between the commit and the move: the original is back in the inbox.
    os.chmod(loaded.archive_path, 0o644)
    os.replace(loaded.archive_path, paths.inbox("chats") / "chats.csv")
    (again,) = ingest(paths)
    assert again.status == DUPLICATE and "interrupted move" in again.reason
    assert again.archive_path == loaded.archive_path and loaded.archive_path.exists()
    assert counts(paths)["chats"] == 2


def test_rebuild_from_archive_gives_the_same_raw_tables(tmp_path):
    paths = data_dir(tmp_path)
    for kind, (name, content) in GOOD.items():
        drop(paths, kind, name, content)
    drop(paths, "calls", "calls_2.csv", CALLS.replace("Service", "Test Call"))
    drop(paths, "web", "web_bad.csv", "date,sessions\nx,1\n")
    (paths.config / "blocklist.csv").write_text("number\n416-555-0100\n")
    ingest(paths)
    tables = [*RAW_TABLES, "load_log", "blocklist"]

    def snapshot() -> dict[str, list[tuple]]:
        return {t: sorted(query(paths, f"select * from raw.{t}"), key=repr) for t in tables}

    before = snapshot()
    results = rebuild_from_archive(paths, pii_key=KEY)
    assert all(r.status == ACCEPTED for r in results)
    assert snapshot() == before


def test_blocklist_is_hashed_and_a_bad_one_keeps_the_previous_list(tmp_path):
    paths = data_dir(tmp_path)
    (paths.config / "blocklist.csv").write_text("Number\n+1 416 555 0100\n(647) 555-0199\n")
    (result,) = ingest_inbox(paths, pii_key=KEY)
    assert result.kind == "blocklist" and result.status == ACCEPTED and result.rows == 2
    hashes = {h for (h,) in query(paths, "select number_hash from raw.blocklist")}
    assert len(hashes) == 2 and not any("555" in h for h in hashes)
    drop(paths, "calls", "calls.csv", CALLS)
    ingest(paths)
    caller = query(paths, "select caller_hash from raw.calls where _source_row = 2")[0][0]
    assert caller in hashes
    (paths.config / "blocklist.csv").write_text("number\nanonymous\n")
    (bad,) = ingest_inbox(paths, pii_key=KEY)
    assert bad.status == REJECTED and bad.problems[0].row == 2
    assert {h for (h,) in query(paths, "select number_hash from raw.blocklist")} == hashes
    assert (paths.config / "blocklist.csv").exists()


def test_workbook_without_an_expenditures_sheet_uses_the_first_sheet(tmp_path):
    paths = data_dir(tmp_path)

    def single(workbook: openpyxl.Workbook) -> None:
        sheet = workbook.active
        sheet.title = "Sheet1"
        sheet.append(["period", "account", "funding_source", "amount"])
        sheet.append(["2025-07", "5000", "Federal", "250"])
        workbook.create_sheet("Notes")["A1"] = "period account funding_source amount"

    drop(paths, "finance", "finance.xlsx", workbook_bytes(single))
    (result,) = ingest(paths)
    assert result.status == ACCEPTED and result.rows == 1


def test_finance_csv_title_rows_above_the_header_count_in_row_numbers(tmp_path):
    paths = data_dir(tmp_path)
    bad = (
        "Dépenses 2025-26,,,\n"
        ",,,\n"
        "Period,Account,Funding_Source,Amount\n"
        "2025-04,5000,MCCSS,10.00\n"
        "2025-04,5000,MCCSS,ten\n"
    )
    result = rejected_once(paths, "finance", "finance_titles.csv", bad, encoding="cp1252")
    assert cells(result) == {(5, "amount")}
    assert result.encoding == "Windows-1252"


def test_a_workbook_with_a_damaged_sheet_is_rejected_not_fatal(tmp_path):
    paths = data_dir(tmp_path)
    good = workbook_bytes(finance_workbook)
    damaged = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as source,
        zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "xl/worksheets/sheet2.xml":
                data = data[: len(data) // 2]  # cut in the middle of the rows
            target.writestr(entry, data)
    result = rejected_once(paths, "finance", "finance_damaged.xlsx", damaged.getvalue())
    assert result.problems and result.problems[0].row is None


def test_an_unclosed_quote_is_reported_as_unreadable_csv(tmp_path):
    paths = data_dir(tmp_path)
    bad = GOOD["emails"][1] + 'e3,2025-04-03T10:00:00,"never closed,false,\n'
    result = rejected_once(paths, "emails", "emails_quote.csv", bad)
    assert "quote" in result.problems[0].fix


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown kind"):
        check_file(tmp_path / "x.csv", "faxes")
    with pytest.raises(ValueError, match="unknown kind"):
        ingest_inbox(data_dir(tmp_path), kinds=["faxes"], pii_key=KEY)


def test_a_rebuild_that_cannot_reload_everything_keeps_the_warehouse(tmp_path, monkeypatch):
    paths = data_dir(tmp_path)
    drop(paths, "finance", *GOOD["finance"])
    ingest(paths)
    before = paths.warehouse.read_bytes()
    # The funding-source seed lost a value since the file was accepted.
    monkeypatch.setattr(contracts, "load_funding_sources", lambda: ("Other",))
    with pytest.raises(RebuildError, match="no longer load"):
        rebuild_from_archive(paths, pii_key=KEY)
    assert paths.warehouse.read_bytes() == before
    assert counts(paths)["finance"] == 2


def test_hidden_and_excel_lock_files_wait_untouched(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "finance", "~$finance.xlsx", b"owner lock")
    drop(paths, "finance", ".finance.csv.part", b"partial")
    results = ingest(paths)
    # Reported, so a person who wonders why an upload did nothing finds out, but never moved.
    assert [(r.file_name, r.status) for r in results] == [
        (".finance.csv.part", "skipped"),
        ("~$finance.xlsx", "skipped"),
    ]
    assert all("hidden or temporary file" in r.reason for r in results)
    assert sorted(p.name for p in paths.inbox("finance").iterdir()) == [
        ".finance.csv.part",
        "~$finance.xlsx",
    ]
