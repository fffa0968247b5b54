"""The SQL way through a load (`ingest.sql_reading`) against the pandas way it stands in for.

Every file is loaded twice into fresh data directories, once as the product does it and once
with the SQL way switched off, and everything ingest leaves behind must be the same: each
file's result (status, rows, reason, every problem), the raw rows with their row numbers and
hashes, the load log, the rejection files beside a refused original. The files are the hostile
corpus plus cells chosen where the two readings could part: whitespace that is not a space,
quotes beside spaces, blank lines, line endings, every timestamp form near the accepted ones,
the clock changes of every year read in SQL, non-ASCII phone numbers and e-mail addresses.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingest import loading, sql_reading
from ingest.pipeline import ingest_inbox
from ingest.warehouse import RAW_TABLES
from o211.paths import DataPaths
from tests.corpus.hostile_files import HEADERS, csv_text, good_csv, hostile_files, write_hostile

KEY = b"test-pii-key"

File = tuple[str, str, bytes]  # kind, file name, bytes


def _load(root: Path, files: Sequence[File], by_sql: bool, monkeypatch: pytest.MonkeyPatch):
    """Ingest `files` into a fresh data directory; what it left behind, and the SQL-read files."""
    paths = DataPaths(root).ensure()
    for kind, name, data in files:
        paths.inbox(kind).mkdir(parents=True, exist_ok=True)
        (paths.inbox(kind) / name).write_bytes(data)
    read_by_sql: list[str] = []
    real = sql_reading.read_clean_csv

    def read(con, path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not by_sql:
            return None
        staged = real(con, path, *args, **kwargs)
        if staged is not None:
            read_by_sql.append(path.name)
        return staged

    with monkeypatch.context() as patch:
        patch.setattr(sql_reading, "read_clean_csv", read)
        assert loading.sql_reading.read_clean_csv is read
        results = ingest_inbox(paths, pii_key=KEY)
    outcome = []
    for result in results:
        files_beside = {}
        if result.rejected_path is not None:
            for beside in (result.errors_csv, result.errors_txt):
                assert beside is not None
                files_beside[beside.name] = beside.read_bytes()
        outcome.append(
            (
                result.kind,
                result.file_name,
                result.status,
                result.rows,
                result.reason,
                [(p.row, p.column, p.value, p.code, dict(p.params)) for p in result.problems],
                result.problem_count,
                result.sha256,
                result.load_id,
                result.extra_columns,
                result.encoding,
                None if result.archive_path is None else result.archive_path.parent.name,
                None if result.rejected_path is None else result.rejected_path.name,
                files_beside,
            )
        )
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = {
            kind: con.execute(
                f"select * exclude (_loaded_at) from raw.{kind} order by _load_id, _source_row"
            ).fetchall()
            for kind in RAW_TABLES
        }
        tables["load_log"] = con.execute(
            "select * exclude (loaded_at, archive_path) from raw.load_log order by load_id"
        ).fetchall()
    return outcome, tables, read_by_sql


def assert_same_both_ways(
    tmp_path: Path, files: Sequence[File], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Both ways leave the same behind; returns the names of the files read by SQL."""
    pandas_way, pandas_tables, _ = _load(tmp_path / "pandas", files, False, monkeypatch)
    sql_way, sql_tables, read_by_sql = _load(tmp_path / "sql", files, True, monkeypatch)
    by_name = {entry[1]: entry for entry in pandas_way}
    for entry in sql_way:
        assert entry == by_name[entry[1]], entry[1]
    assert sql_way == pandas_way
    for table, rows in pandas_tables.items():
        assert sql_tables[table] == rows, table
    return read_by_sql


def _csv(kind: str, rows: Iterable[dict[str, str]], newline: str = "\r\n") -> bytes:
    from tests.corpus.hostile_files import ROW_MAKERS

    made = [ROW_MAKERS[kind](number, **row) for number, row in enumerate(rows, start=1)]
    return csv_text(HEADERS[kind], made, newline).encode("utf-8")


# --- the pieces --------------------------------------------------------------------------------


def test_hmac_from_two_sha256_passes_equals_python_hmac():
    rng = random.Random(11)
    values = ["4165551234", "ana@example.com", "é", "日本語", "\U0001f600", "x" * 300, "a\u0301"]
    for _ in range(500):
        length = rng.randint(1, 60)
        values.append(
            "".join(
                chr(rng.choice([rng.randint(32, 126), rng.randint(160, 0x2FFF), 0x1F600]))
                for _ in range(length)
            )
        )
    con = duckdb.connect()
    for key in (KEY, b"", b"k" * 64, b"k" * 65, bytes(range(256))):
        ipad, opad = sql_reading.hmac_pads(key)
        got = con.execute(
            "select v, sha256($opad || unhex(sha256($ipad || encode(v)))) "
            "from unnest($values) as t(v)",
            {"values": values, "ipad": ipad, "opad": opad},
        ).fetchall()
        assert got == [(v, hmac.digest(key, v.encode(), "sha256").hex()) for v in values]


def test_toronto_clock_changes_come_from_the_time_zone_rules():
    years = sql_reading.toronto_years()
    assert years is not None and len(years.gap_from) == 100
    assert (years.winter_minutes, years.summer_minutes) == (300, 240)
    assert years.gap_from[25] == datetime(2025, 3, 9, 2) and years.gap_until[25] == datetime(
        2025, 3, 9, 3
    )
    assert years.fold_from[25] == datetime(2025, 11, 2, 1)
    assert years.fold_until[25] == datetime(2025, 11, 2, 2)
    assert years.gap_from[0] == datetime(2000, 4, 2, 2)  # before 2007's rules


# --- the whole loads ---------------------------------------------------------------------------


def test_the_hostile_corpus_ends_the_same_either_way(tmp_path, monkeypatch):
    files = []
    for spec in hostile_files():
        if spec.name.startswith("."):
            continue
        folder = tmp_path / "built" / spec.kind
        files.append((spec.kind, spec.name, write_hostile(spec, folder).read_bytes()))
    read_by_sql = assert_same_both_ways(tmp_path, files, monkeypatch)
    assert read_by_sql  # the valid CSVs of the row kinds


TIMESTAMPS = [
    "2025-05-01T10:00:00-04:00",
    "2025-05-01T10:00:00Z",
    "2025-05-01T10:00:00z",
    "2025-05-01 10:00:00",
    "2025-05-01t10:00:00",
    "2025-05-01T10:00",
    "2025-05-01T10:00Z",
    "2025-05-01T10:00:00.5",
    "2025-05-01T10:00:00.123456-04:00",
    "2025-05-01T10:00:00.1234567",
    "2025-05-01T10:00:00,5",
    "2025-05-01T10:00:00+0530",
    "2025-05-01T10:00:00+05",
    "2025-05-01T10:00:00+23:59",
    "2025-05-01T10:00:00+24:00",
    "2025-05-01T10:00:00+05:60",
    "2025-05-01T10:00:00-00:00",
    "2025-05-01T24:00:00",
    "2025-05-01T23:59:60",
    "2025-05-01T23:60:00",
    "2025-02-29T10:00:00",
    "2024-02-29T10:00:00",
    "2025-13-01T10:00:00",
    "2025-5-1T10:00:00",
    "2025-05-01T1:00:00",
    "2025-05-01",
    "1999-12-31T23:00:00",
    "1999-12-31T23:59:59-05:00",
    "2000-01-01T00:00:00",
    "2000-01-01T04:59:59Z",
    "2099-12-31T23:59:59",
    "2100-01-01T04:59:59Z",
    "2100-01-01T00:00:00",
    "0001-01-01T00:00:00",
    "0000-01-01T00:00:00",
    "9999-12-31T23:59:59Z",
    "2025-03-09T01:59:59",
    "2025-03-09T02:00:00",
    "2025-03-09T02:30:00",
    "2025-03-09T03:00:00",
    "2025-11-02T00:59:59",
    "2025-11-02T01:00:00",
    "2025-11-02T01:30:00",
    "2025-11-02T01:59:59.999999",
    "2025-11-02T02:00:00",
    "2006-10-29T01:30:00",
    "2007-03-11T02:15:00",
    "２０２５-05-01T10:00:00Z",
    "2025-05-01T10:00:00Z\u00a0",
    "\u20032025-05-01T10:00:00Z",
    "2025-05-01T10:00:00 -04:00",
    "2025-05-01T10:00:00America/Toronto",
    "",
]


def test_every_timestamp_form_reads_the_same_either_way(tmp_path, monkeypatch):
    files: list[File] = []
    for number, text in enumerate(TIMESTAMPS):
        for column in ("started_at", "queued_at"):
            rows = [{}, {column: text}, {}]
            files.append(("calls", f"calls_{column}_{number:03d}.csv", _csv("calls", rows)))
        rows = [{}, {"submitted_at": text}]
        files.append(("surveys", f"surveys_{number:03d}.csv", _csv("surveys", rows)))
    read_by_sql = assert_same_both_ways(tmp_path, files, monkeypatch)
    assert len(read_by_sql) >= 40


def test_every_clock_change_reads_the_same_either_way(tmp_path, monkeypatch):
    """Naive times around both changes of every year read in SQL, end times that precede
    their start in the repeated hour, and end times that still do after it."""
    years = sql_reading.toronto_years()
    assert years is not None
    files: list[File] = []
    for year in range(len(years.gap_from)):
        rows = []
        for change in (years.gap_from[year], years.fold_from[year]):
            for minutes in range(-70, 140, 20):
                wall = change + timedelta(minutes=minutes)
                rows.append(
                    {
                        "started_at": wall.isoformat(),
                        "queued_at": "",
                        "answered_at": "",
                        "ended_at": (wall + timedelta(minutes=3)).isoformat(),
                    }
                )
        fold = years.fold_from[year]
        rows.append(
            {
                "started_at": (fold + timedelta(minutes=50)).isoformat(),
                "queued_at": "",
                "answered_at": "",
                "ended_at": (fold + timedelta(minutes=5)).isoformat(),
            }
        )
        files.append(("calls", f"calls_{2000 + year}.csv", _csv("calls", rows)))
        # The gap rows send this file the pandas way; the same rows without them stay in SQL.
        gap = (years.gap_from[year], years.gap_until[year] + timedelta(minutes=3))
        clear = [r for r in rows if not gap[0] <= datetime.fromisoformat(r["started_at"]) < gap[1]]
        files.append(("calls", f"calls_{2000 + year}_clear.csv", _csv("calls", clear)))
    # An end still before its start after the second reading: refused, both ways the same.
    rows = [
        {
            "started_at": "2025-11-02T01:50:00-05:00",
            "queued_at": "",
            "answered_at": "",
            "ended_at": "2025-11-02T01:10:00",
        }
    ]
    files.append(("calls", "calls_ended_before.csv", _csv("calls", rows)))
    read_by_sql = assert_same_both_ways(tmp_path, files, monkeypatch)
    assert len(read_by_sql) >= 100


CELLS = {
    "text": [
        " padded ",
        "tab\t",
        "\tlead",
        "nbsp\u00a0",
        "\u00a0nbsp",
        "em\u2003",
        "zw\u200b",
        "\ufeffbom",
        "vt\x0b",
        "nel\x85",
        "ideographic\u3000",
        "x" * 1000,
        "x" * 1001,
        "é" * 1000,
        "é" * 501,
        "=SUM(A1)",
        "日本語",
        "a,b",
        'say "hi"',
        "line\nbreak",
        "",
    ],
    "phone": [
        "416-555-1234",
        "+1 (416) 555-1234",
        "14165551234",
        "24165551234",
        "1416555123",
        "anonymous",
        "ANONYMOUS",
        " Restricted ",
        "unknown\u00a0",
        "123456",
        "1234567",
        "٤١٦٥٥٥١٢٣٤",
        "４１６５５５１２３４",
        "416 555 1234 ext 5",
        "",
    ],
    "email": ["Ana@Example.COM", " x@y.z ", "İ@x.com", "ÄBC@x.de", "\u212a@x.com", "ß@x.de", ""],
    "visitor": ["v-1", " v-2 ", "V-É", "v\u00a0", ""],
    "boolean": ["true", "TRUE", "Yes", "y", "N", "0", "1", "", "maybe", "ｔｒｕｅ", "yes ", "İ"],
}


def test_every_cell_reads_the_same_either_way(tmp_path, monkeypatch):
    files: list[File] = []
    for number, text in enumerate(CELLS["text"]):
        for column in ("contact_id", "segment_id", "queue", "disposition"):
            rows = [{}, {column: text}, {}]
            files.append(("calls", f"calls_{column}_{number:03d}.csv", _csv("calls", rows)))
        rows = [{}, {"answer": text}]
        files.append(("surveys", f"surveys_answer_{number:03d}.csv", _csv("surveys", rows)))
    for number, text in enumerate(CELLS["phone"]):
        rows = [{}, {"caller_number": text}]
        files.append(("calls", f"calls_phone_{number:03d}.csv", _csv("calls", rows)))
        files.append(("texts", f"texts_{number:03d}.csv", _csv("texts", [{"sender": text}])))
    for number, text in enumerate(CELLS["email"]):
        files.append(("emails", f"emails_{number:03d}.csv", _csv("emails", [{"sender": text}])))
    for number, text in enumerate(CELLS["visitor"]):
        rows = [{"visitor_id": text}]
        files.append(("chats", f"chats_visitor_{number:03d}.csv", _csv("chats", rows)))
    for number, text in enumerate(CELLS["boolean"]):
        rows = [{"spam_flag": text}]
        files.append(("chats", f"chats_spam_{number:03d}.csv", _csv("chats", rows)))
    read_by_sql = assert_same_both_ways(tmp_path, files, monkeypatch)
    assert len(read_by_sql) >= 60


def _layouts() -> list[File]:
    good = good_csv("calls", count=4)
    lines = good.split("\r\n")
    header, rows = lines[0], lines[1:-1]
    lf = good.replace("\r\n", "\n")
    variants = {
        "crlf": good,
        "lf": lf,
        "no_final_newline": good.rstrip("\r\n"),
        "bom": "\ufeff" + good,
        "blank_line_inside": "\r\n".join([header, rows[0], "", *rows[1:]]) + "\r\n",
        "blank_lines_at_end": good + "\r\n\r\n",
        "spaces_line": "\r\n".join([header, rows[0], "   ", *rows[1:]]) + "\r\n",
        "commas_line": "\r\n".join([header, rows[0], ",,,,,,,,,", *rows[1:]]) + "\r\n",
        "mixed_endings": header + "\n" + "\r\n".join(rows) + "\r\n",
        "mixed_in_rows": "\r\n".join([header, rows[0]]) + "\n" + "\r\n".join(rows[1:]) + "\r\n",
        "lone_cr": good.replace("\r\n", "\r"),
        "comment_lines": "# exported\n# by a tool\n" + good,
        "comment_lines_lf": "# exported\n" + lf,
        "blank_lines_first": "\r\n\r\n" + good,
        "quoted": good.replace(",211_EN,", ',"211_EN",'),
        "quoted_comma": good.replace(",Information Only,", ',"Information, Only",'),
        "quoted_newline": good.replace(",Information Only,", ',"Information\r\nOnly",', 1),
        "quote_space_before": good.replace(",211_EN,", ', "211_EN",', 1),
        "quote_space_after": good.replace(",211_EN,", ',"211_EN" ,', 1),
        "quote_inside": good.replace(",211_EN,", ',211"EN,', 1),
        "quote_after_close": good.replace(",211_EN,", ',"211"EN,', 1),
        "doubled_quotes": good.replace(",Information Only,", ',"Information ""Only""",'),
        "unterminated_quote": good.replace(",211_EN,", ',"211_EN,', 1),
        "short_row": "\r\n".join([header, rows[0], ",".join(rows[1].split(",")[:5]), *rows[2:]])
        + "\r\n",
        "long_row": "\r\n".join([header, rows[0], rows[1] + ",extra", *rows[2:]]) + "\r\n",
        "extra_column": "\r\n".join(
            [header + ",Notes", *(row + f",note {n}" for n, row in enumerate(rows))]
        )
        + "\r\n",
        "header_case": good.replace("contact_id,segment_id", " Contact_ID , SEGMENT_ID", 1),
        "header_only": header + "\r\n",
        "empty_header_cell": good.replace("language", "language,", 1),
        "reordered": csv_text(
            list(reversed(HEADERS["calls"])),
            [list(reversed(row.split(","))) for row in rows],
        ),
        "without_optional": "\r\n".join(
            [",".join(header.split(",")[:8]), *(",".join(r.split(",")[:8]) for r in rows)]
        )
        + "\r\n",
        "tab_delimited": good.replace(",", "\t"),
        "semicolons": good.replace(",", ";"),
    }
    files: list[File] = [
        ("calls", f"calls_{name}.csv", text.encode("utf-8")) for name, text in variants.items()
    ]
    files.append(
        ("calls", "calls_cp1252.csv", good.replace("Information", "Référé").encode("cp1252"))
    )
    files.append(("calls", "calls_empty.csv", b""))
    files.append(("calls", "calls_duplicate_of_crlf.csv", good.encode("utf-8")))
    files.append(("calls", "calls_upper.CSV", good.encode("utf-8")))
    return files


def test_every_line_layout_ends_the_same_either_way(tmp_path, monkeypatch):
    read_by_sql = assert_same_both_ways(tmp_path, _layouts(), monkeypatch)
    assert "calls_crlf.csv" in read_by_sql and "calls_lf.csv" in read_by_sql
    assert "calls_quoted_newline.csv" not in read_by_sql  # lines are not rows there


def test_a_large_file_with_some_naive_times_reads_the_same_either_way(tmp_path, monkeypatch):
    """Many rows (DuckDB reads them in parallel): row numbers must still follow the file."""
    rng = random.Random(5)
    rows = []
    start = datetime(2025, 4, 1)
    for number in range(60_000):
        wall = start + timedelta(seconds=rng.randint(0, 200 * 86400))  # no clock change
        naive = rng.random() < 0.2
        text = wall.isoformat() if naive else wall.isoformat() + "-04:00"
        end = (wall + timedelta(minutes=rng.randint(0, 30))).isoformat()
        rows.append(
            {
                "contact_id": f"C{number}",
                "started_at": text,
                "queued_at": "",
                "answered_at": "",
                "ended_at": end if naive else end + "-04:00",
                "caller_number": f"416555{rng.randint(0, 9999):04d}",
            }
        )
    files = [("calls", "calls_big.csv", _csv("calls", rows))]
    assert assert_same_both_ways(tmp_path, files, monkeypatch) == ["calls_big.csv"]
