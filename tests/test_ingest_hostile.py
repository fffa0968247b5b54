"""Hostile and broken files end as their own rejection, with a plain message; none blocks others.

The cases the hostile corpus (`tests/corpus/`) found: an unexpected library error, a file name
too long for the rejected folder, dates far outside the service's life, decompression and
entity bombs, megabyte text cells, and hidden files that wait in the inbox.
"""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest

from ingest import blocklist, contracts, filing, pipeline, readers, staging, workbook_safety
from ingest.contracts import AcceptedDates
from ingest.pipeline import ACCEPTED, REJECTED, check_file, ingest_inbox
from tests.corpus.hostile_files import (
    entity_bomb_workbook,
    external_entity_workbook,
    good_csv,
    ratio_bomb_workbook,
)
from tests.test_ingest_pipeline import GOOD, KEY, counts, data_dir, drop, ingest, query

RANGE_MESSAGE = "is outside the accepted range 2000-01-01..2099-12-31"


def errors_txt(result: pipeline.FileResult) -> str:
    assert result.errors_txt is not None
    return result.errors_txt.read_text(encoding="utf-8")


# --- 1. an unexpected error rejects its file only ----------------------------------------------


def test_an_unexpected_error_rejects_that_file_and_the_next_file_loads(tmp_path, monkeypatch):
    paths = data_dir(tmp_path)
    drop(paths, "calls", "calls_a_broken.csv", good_csv("calls", first=1))
    drop(paths, "calls", "calls_b_good.csv", good_csv("calls", first=10))
    real, real_rows = staging.stage, staging.stage_rows
    refusal = NotImplementedError("a library refused a value in /srv/o211/data/inbox/calls")

    # Staging is past the reader's own error handling, where the year-1 crash happened: the
    # pandas way stages typed frames, the SQL way (`ingest.sql_reading`) chunks of text rows.
    def stage(con, kind, frame):
        if "HX-CA-00001" in set(frame["contact_id"]):
            raise refusal
        return real(con, kind, frame)

    def stage_rows(con, kind, rows, *args):
        if any("HX-CA-00001" in column.to_pylist() for column in rows.columns):
            raise refusal
        return real_rows(con, kind, rows, *args)

    monkeypatch.setattr(staging, "stage", stage)
    monkeypatch.setattr(staging, "stage_rows", stage_rows)
    broken, good = ingest(paths)

    assert (broken.status, good.status) == (REJECTED, ACCEPTED)
    assert good.rows == 3 and counts(paths)["calls"] == 3
    assert "unexpected error (NotImplementedError" in broken.reason
    assert "/srv/o211" not in broken.reason  # no server path in a message for uploaders
    assert broken.rejected_path == paths.rejected("calls") / "calls_a_broken.csv"
    assert broken.rejected_path.is_file() and "data team" in errors_txt(broken)
    assert not any(paths.inbox("calls").iterdir())
    assert query(paths, "select file_name from raw.load_log") == [("calls_b_good.csv",)]


def test_a_year_one_start_no_longer_crashes_and_later_files_load(tmp_path):
    """The corpus crash: `started_at` in the year 1 raised NotImplementedError in ingest."""
    paths = data_dir(tmp_path)
    year_one = good_csv("calls", r2={"started_at": "0001-01-01T00:00:00-05:00"})
    drop(paths, "calls", "calls_1_year_0001.csv", year_one)
    drop(paths, "calls", "calls_2_good.csv", good_csv("calls", first=10))
    bad, good = ingest(paths)
    assert (bad.status, good.status) == (REJECTED, ACCEPTED)
    assert [(p.row, p.column) for p in bad.problems] == [(3, "started_at")]
    assert bad.problems[0].problem == f"date 0001-01-01 {RANGE_MESSAGE}"


def test_a_file_that_cannot_be_moved_is_reported_and_the_run_goes_on(tmp_path, monkeypatch):
    paths = data_dir(tmp_path)
    drop(paths, "calls", "calls_a_header_only.csv", good_csv("calls").splitlines()[0] + "\n")
    drop(paths, "calls", "calls_b_good.csv", good_csv("calls", first=10))

    def refuse(*args):
        raise PermissionError(13, "Permission denied", str(paths.rejected("calls")))

    monkeypatch.setattr(filing, "reject", refuse)
    bad, good = ingest(paths)
    assert bad.status == REJECTED and bad.rejected_path is None
    assert "stays in the inbox" in bad.reason and str(paths.root) not in bad.reason
    assert (paths.inbox("calls") / "calls_a_header_only.csv").is_file()
    assert good.status == ACCEPTED


# --- 2. names too long for the endings ingest adds ---------------------------------------------


@pytest.mark.parametrize("letter", ["x", "é"])  # one byte and two bytes a character in UTF-8
def test_a_long_name_is_rejected_under_a_shorter_name_and_keeps_its_own(tmp_path, letter):
    paths = data_dir(tmp_path)
    name = "calls_" + letter * (240 if letter == "x" else 120) + ".csv"
    assert len(name.encode()) > 240
    drop(paths, "calls", name, good_csv("calls").splitlines()[0] + "\n")
    (result,) = ingest(paths)

    assert result.status == REJECTED and result.file_name == name
    kept = result.rejected_path
    assert kept is not None and kept.is_file() and kept.suffix == ".csv"
    assert len(f"{kept.name}.errors.csv".encode()) <= 255
    assert kept.name.startswith("calls_" + letter * 10)
    assert result.errors_csv is not None and result.errors_csv.is_file()
    summary = errors_txt(result)
    assert repr(name) in summary  # the original name is recorded
    assert f"{kept.name}.errors.csv" in summary  # and where the list really is
    assert not any(paths.inbox("calls").iterdir())


def test_two_long_names_sharing_a_start_stay_apart_and_a_long_good_file_loads(tmp_path):
    paths = data_dir(tmp_path)
    start = "calls_" + "y" * 240
    header_only = good_csv("calls").splitlines()[0] + "\n"
    drop(paths, "calls", start + "_a.csv", header_only)
    drop(paths, "calls", start + "_b.csv", header_only)
    drop(paths, "calls", start + "_c.csv", good_csv("calls", first=10))
    first, second, loaded = ingest(paths)
    assert first.rejected_path != second.rejected_path
    assert first.rejected_path.is_file() and second.rejected_path.is_file()
    assert loaded.status == ACCEPTED and loaded.archive_path.is_file()
    assert len(loaded.archive_path.name.encode()) <= 255
    assert query(paths, "select file_name from raw.load_log") == [(start + "_c.csv",)]


# --- 3. dates outside the accepted range -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "row", "column", "day"),
    [
        ("web", {"r2": {"date": "00010101"}}, 3, "date", "0001-01-01"),
        ("finance", {"r1": {"period": "0001-04"}}, 2, "period", "0001-04-01"),
        ("calls", {"r3": {"ended_at": "9999-12-31T23:59:59-05:00"}}, 4, "ended_at", "9999-12-31"),
        ("calls", {"r1": {"queued_at": "1999-12-31T23:59:59"}}, 2, "queued_at", "1999-12-31"),
        (
            "surveys",
            {"r1": {"submitted_at": "2100-01-01T00:00:00"}},
            2,
            "submitted_at",
            "2100-01-01",
        ),
    ],
)
def test_a_date_outside_the_range_rejects_its_row_and_column(
    tmp_path, kind, changes, row, column, day
):
    paths = data_dir(tmp_path)
    drop(paths, kind, f"{kind}_far.csv", good_csv(kind, **changes))
    (result,) = ingest(paths, kinds=[kind])
    assert result.status == REJECTED
    assert [(p.row, p.column) for p in result.problems] == [(row, column)]
    problem = result.problems[0]
    assert problem.problem == f"date {day} {RANGE_MESSAGE}"
    assert problem.fix == "check the export's date column"
    assert f"date {day} {RANGE_MESSAGE}" in errors_txt(result)
    assert counts(paths)[kind] == 0


def test_the_first_and_last_accepted_days_load(tmp_path):
    paths = data_dir(tmp_path)
    edges = good_csv(
        "web", r1={"date": "2000-01-01"}, r2={"date": "20991231"}, r3={"date": "2050-06-15"}
    )
    drop(paths, "web", "web_edges.csv", edges)
    (result,) = ingest(paths, kinds=["web"])
    assert result.status == ACCEPTED, result.reason
    assert query(paths, "select min(date), max(date) from raw.web") == [
        (date(2000, 1, 1), date(2099, 12, 31))
    ]


def test_toronto_midnight_is_the_edge_of_the_range_for_timestamps(tmp_path):
    # 2000-01-01 04:59 UTC is still 1999-12-31 in Toronto; 05:00 UTC is the first accepted instant.
    path = tmp_path / "calls.csv"
    before = good_csv("calls", r1={"started_at": "2000-01-01T04:59:59Z", "queued_at": ""})
    path.write_text(before, encoding="utf-8")
    (problem,) = check_file(path, "calls")
    assert (problem.row, problem.column) == (2, "started_at")
    assert problem.problem == f"date 1999-12-31 {RANGE_MESSAGE}"  # the Toronto date
    first = before.replace("2000-01-01T04:59:59Z", "2000-01-01T05:00:00Z")
    path.write_text(first, encoding="utf-8")
    assert check_file(path, "calls").ok


def test_the_accepted_range_is_configurable(tmp_path):
    paths = data_dir(tmp_path)
    narrow = AcceptedDates(date(2025, 4, 1), date(2026, 3, 31))
    path = tmp_path / "web.csv"
    path.write_text(good_csv("web", r1={"date": "2025-03-31"}), encoding="utf-8")
    (problem,) = check_file(path, "web", accepted_dates=narrow)
    assert problem.problem == "date 2025-03-31 is outside the accepted range 2025-04-01..2026-03-31"
    assert check_file(path, "web").ok
    drop(paths, "web", "web.csv", path.read_text(encoding="utf-8"))
    (result,) = [
        r for r in ingest_inbox(paths, pii_key=KEY, accepted_dates=narrow) if r.kind == "web"
    ]
    assert result.status == REJECTED


# --- 4 and 5. workbook bombs: the check that fired, in plain words ------------------------------


def finance_rejection(tmp_path: Path, name: str, content: bytes) -> pipeline.FileResult:
    paths = data_dir(tmp_path)
    drop(paths, "finance", name, content)
    (result,) = ingest(paths, kinds=["finance"])
    assert result.status == REJECTED
    return result


def test_a_ratio_bomb_names_the_ratio_check(tmp_path):
    result = finance_rejection(tmp_path, "finance_ratio.xlsx", ratio_bomb_workbook())
    (problem,) = result.problems
    assert "compression ratio" in problem.problem
    assert f"more than the {workbook_safety.MAX_WORKBOOK_RATIO} to 1" in problem.problem
    assert "MB allowed" not in problem.problem  # the size limit did not fire


def test_a_workbook_too_large_unpacked_names_the_size_check(tmp_path, monkeypatch):
    content = GOOD["finance"][1]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet/>" + " " * 4096)
        archive.writestr("padding.xml", content)
    monkeypatch.setattr(workbook_safety, "MAX_WORKBOOK_UNCOMPRESSED", 1024)
    result = finance_rejection(tmp_path, "finance_big.xlsx", buffer.getvalue())
    (problem,) = result.problems
    assert "would unpack to" in problem.problem and "MB allowed" in problem.problem
    assert "ratio" not in problem.problem


@pytest.mark.parametrize("build", [entity_bomb_workbook, external_entity_workbook])
def test_entity_declarations_are_refused_in_plain_words(tmp_path, build):
    result = finance_rejection(tmp_path, "finance_entities.xlsx", build())
    (problem,) = result.problems
    assert problem.problem == (
        "the workbook contains XML entity declarations, which are not allowed in uploads"
    )
    assert problem.fix == "re-save it from Excel as .xlsx"
    summary = errors_txt(result)
    assert str(tmp_path) not in summary and "Error" not in summary


def test_a_damaged_workbook_message_has_no_server_path(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    result = finance_rejection(tmp_path, "finance_no_sheets.xlsx", buffer.getvalue())
    assert str(tmp_path) not in result.reason and str(tmp_path) not in errors_txt(result)


def test_plain_error_keeps_the_first_line_and_only_file_names():
    error = ValueError("could not read worksheets from /tmp/abc/inbox/finance/f.xlsx.\nSee more")
    assert readers.plain_error(error) == "could not read worksheets from f.xlsx."
    assert len(readers.plain_error(ValueError("x" * 5000))) == 200


# --- 6. text cells are short codes --------------------------------------------------------------


def test_a_ten_megabyte_disposition_rejects_its_row_quickly(tmp_path):
    paths = data_dir(tmp_path)
    drop(paths, "calls", "calls_huge.csv", good_csv("calls", r2={"disposition": "A" * (10 << 20)}))
    started = time.perf_counter()
    (result,) = ingest(paths)
    assert time.perf_counter() - started < 10  # linear in the file, not quadratic in the cell
    assert result.status == REJECTED
    (problem,) = result.problems
    assert (problem.row, problem.column) == (3, "disposition")
    assert problem.problem == f"is longer than {contracts.MAX_TEXT_CHARS:,} characters"
    assert len(problem.value) < 200  # the message quotes the start, not 10 MB


def test_text_up_to_the_cap_loads_and_one_more_character_rejects(tmp_path):
    cap = contracts.MAX_TEXT_CHARS
    path = tmp_path / "chats.csv"
    path.write_text(good_csv("chats", r1={"disposition": "é" * cap}), encoding="utf-8")
    assert check_file(path, "chats").ok
    path.write_text(
        good_csv("chats", r1={"contact_id": "c" * (cap + 1), "language": "l" * (cap + 1)}),
        encoding="utf-8",
    )
    assert sorted((p.row, p.column) for p in check_file(path, "chats")) == [
        (2, "contact_id"),
        (2, "language"),
    ]


def test_an_unexpected_blocklist_error_keeps_the_list_and_the_calls_load(tmp_path, monkeypatch):
    paths = data_dir(tmp_path)
    paths.blocklist.parent.mkdir(parents=True, exist_ok=True)
    paths.blocklist.write_text("number\n416-555-0199\n", encoding="utf-8")
    drop(paths, "calls", "calls.csv", good_csv("calls"))

    def broken(*args):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(blocklist, "load_blocklist", broken)
    results = ingest_inbox(paths, kinds=["calls"], pii_key=KEY)
    assert [(r.kind, r.status) for r in results] == [("blocklist", REJECTED), ("calls", ACCEPTED)]
    assert "blocklist not updated" in results[0].reason
    assert paths.blocklist.is_file()
