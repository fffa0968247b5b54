"""The counting rules end to end: a hand-made extract set through `dbt build`, checked against
figures worked out by hand from rules.md."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.warehouse import ensure_raw_tables
from o211.paths import DataPaths

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"

Row = tuple[object, ...]
# The dbt unit tests run once, in test_dbt_build; every other build here leaves them out (as the
# product's builds do: orchestration.translator.dbt_build_args).
MODELS_AND_DATA_TESTS = ("--exclude-resource-type", "unit_test")


def run_dbt_build(
    data_dir: Path, work_dir: Path, *extra_args: str
) -> subprocess.CompletedProcess[str]:
    """Run `dbt build` on the warehouse under data_dir, writing dbt's files under work_dir.
    The unit tests run unless `extra_args` leave them out (`MODELS_AND_DATA_TESTS`)."""
    env = {
        **os.environ,
        "O211_DATA_DIR": str(data_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.run(
        [
            str(DBT),
            "build",
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
            "--target-path",
            str(work_dir / "target"),
            "--log-path",
            str(work_dir / "logs"),
            *extra_args,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def insert(
    con: duckdb.DuckDBPyConnection, table: str, load_id: int, file_name: str, rows: list[Row]
) -> None:
    """Insert rows as one loaded file: data columns in DDL order, then the load metadata."""
    width = len(rows[0])
    placeholders = ", ".join(["?"] * (width + 5))
    loaded_at = datetime(2026, 4, 20, 12, 0, tzinfo=UTC) + timedelta(minutes=load_id)
    for number, row in enumerate(rows, start=2):
        con.execute(
            f"insert into raw.{table} values ({placeholders})",
            [*row, load_id, file_name, f"sha-{load_id}", number, loaded_at],
        )


def at(text: str) -> datetime:
    """An exact instant written in UTC (`2025-05-01T14:00`)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def call(
    contact_id: str,
    start: str,
    *,
    queued: int | None = 10,
    answered: int | None = 30,
    ended: int = 600,
    caller: str | None = "h_c",
    queue: str = "211_EN",
    disposition: str | None = None,
    segment: str | None = "1",
) -> Row:
    """One call segment; queued/answered/ended are seconds after the start (None = blank)."""
    started = at(start)

    def after(seconds: int | None) -> datetime | None:
        return None if seconds is None else started + timedelta(seconds=seconds)

    return (
        contact_id,
        segment,
        started,
        after(queued),
        after(answered),
        after(ended),
        caller,
        queue,
        disposition,
        "en",
    )


def short(contact_id: str, start: str, caller: str | None, **kwargs: object) -> Row:
    """A short answered call: 5 seconds of talk time."""
    options: dict[str, object] = {"queued": 5, "answered": 10, "ended": 15, "caller": caller}
    options.update(kwargs)
    return call(contact_id, start, **options)  # type: ignore[arg-type]


CALLS_FILE_1: list[Row] = [
    # a transfer: two segments, one call; caller = first non-withheld by segment start (h_c),
    # queue = queue of the earliest segment, talk = 14:20 - 14:01 = 1140 s; 'Referral' unmapped
    call("C1", "2025-05-01T14:00", queued=30, answered=60, ended=300, caller=None, segment="s1"),
    call(
        "C1",
        "2025-05-01T14:05",
        queued=None,
        answered=10,
        ended=900,
        queue="211_FR",
        disposition="Referral",
        segment="s2",
    ),
    call("C2", "2025-05-01T15:00", queue="Training_test"),
    call("C3", "2025-05-01T15:10", disposition="Test Call"),
    call("C4", "2025-05-01T15:20", disposition=" SPAM "),
    call("C5", "2025-05-01T15:30", caller="h_block"),
    call("C6", "2025-05-01T15:40", disposition="Autodialer"),
    # caller h_a: 5 short calls in [13:00, 14:00) -> a burst anchored at 13:00, even though one
    # of them is on a test queue and one was never answered (talk 0 s is short)
    short("A1", "2025-06-10T13:00", "h_a"),
    short("A2", "2025-06-10T13:10", "h_a"),
    short("A3", "2025-06-10T13:20", "h_a", queue="TEST_LINE"),
    short("A4", "2025-06-10T13:30", "h_a"),
    call("A5", "2025-06-10T13:40", caller="h_a"),  # long: 570 s of talk, not in the burst
    short("A6", "2025-06-10T13:50", "h_a", answered=None),
    short("A7", "2025-06-10T20:00", "h_a"),  # short but outside every anchored window
    # caller h_b: only 4 short calls in the hour, no burst
    short("B1", "2025-06-11T13:00", "h_b"),
    short("B2", "2025-06-11T13:15", "h_b"),
    short("B3", "2025-06-11T13:30", "h_b"),
    short("B4", "2025-06-11T13:45", "h_b"),
    # five withheld short calls in an hour: each withheld call is its own caller
    short("W1", "2025-06-12T13:00", None),
    short("W2", "2025-06-12T13:10", None),
    short("W3", "2025-06-12T13:20", None),
    short("W4", "2025-06-12T13:30", None),
    short("W5", "2025-06-12T13:40", None),
    call("N1", "2025-07-01T15:00", queued=None, answered=None, ended=40),
    call("AB1", "2025-07-02T15:00", queued=10, answered=None, ended=30, caller=None),
    call("AB2", "2025-07-02T16:00", queued=10, answered=None, ended=310, caller=None),
    call("S1", "2025-07-03T15:00", disposition="Dead Air"),
    call("AB3", "2025-11-05T15:00", queued=10, answered=None, ended=15, caller=None),
    # 02:30 UTC on 1 April 2026 is 22:30 on 31 March in Toronto: fiscal year 2025-26, Q4
    call("F1", "2026-04-01T02:30"),
    # 03:30 UTC on 1 April 2025 is 23:30 on 31 March in Toronto: fiscal year 2024-25
    call("F0", "2025-04-01T03:30"),
    # record keys re-delivered by the second file
    call("LF", "2025-08-05T15:00", answered=None, segment="x1"),
    call("NS", "2025-08-05T16:00", disposition="Spam", segment=None),
]

CALLS_FILE_2: list[Row] = [
    # inside one file the last row wins: LF ends answered
    call("LF", "2025-08-05T15:00", answered=None, segment="x1"),
    call("LF", "2025-08-05T15:00", segment="x1"),
    # key (contact_id, started_at) without segment_id: the later file's row replaces 'Spam'
    call("NS", "2025-08-05T16:00", segment=None),
]


def chat(
    contact_id: str,
    start: str,
    *,
    answered: bool = True,
    spam: bool = False,
    disposition: str | None = None,
) -> Row:
    started = at(start)
    answered_at = started + timedelta(seconds=30) if answered else None
    return (
        contact_id,
        started,
        answered_at,
        started + timedelta(minutes=10),
        "v1",
        spam,
        disposition,
        "en",
    )


CHATS: list[Row] = [
    chat("CH1", "2025-05-02T15:00"),
    chat("CH2", "2025-05-02T15:10", spam=True),
    chat("CH3", "2025-05-02T15:20", disposition="Auto Dialer"),
    chat("CH4", "2025-05-02T15:30", disposition="No Response"),
    chat("CH5", "2025-05-02T15:40", answered=False),
    chat("CH6", "2025-05-02T15:50", disposition="Test"),
    chat("CH7", "2025-10-02T15:00", disposition="Info Given"),
    chat("CH8", "2025-10-02T15:10", answered=False, spam=True),
]

EMAILS: list[Row] = [
    ("E1", at("2025-05-03T15:00"), "s1", False, None),
    ("E2", at("2025-05-03T15:10"), "s1", True, None),
    ("E3", at("2025-05-03T15:20"), "s1", False, "Autodialer"),
    # 02:00 UTC on 1 October is 22:00 on 30 September in Toronto: Q2; static is not spam here
    ("E4", at("2025-10-01T02:00"), "s2", False, "static"),
    ("E5", at("2025-05-03T15:30"), "s1", False, "test call"),
]

TEXTS: list[Row] = [
    ("T1", at("2026-01-15T15:00"), "t_1", False, None),
    ("T2", at("2025-05-04T15:00"), "t_block", False, None),
    ("T3", at("2025-05-04T15:10"), "t_1", True, None),
    ("T4", at("2025-05-04T15:20"), None, False, None),
]

SURVEYS: list[Row] = [
    ("R1", "phone", at("2025-05-05T15:00"), "Very Satisfied", None),
    ("R2", "Telephone", at("2025-05-05T15:00"), " satisfied ", None),
    ("R3", "VOICE", at("2025-06-05T15:00"), "Très satisfait", None),
    ("R4", " call ", at("2025-06-05T15:00"), "N/A", None),
    ("R5", "phone", at("2025-06-05T15:00"), "", None),
    ("R6", "phone", at("2025-11-05T15:00"), "Pas Satisfait", None),
    ("R7", "phone", at("2025-11-05T15:00"), "DISSATISFIED", None),
    ("R8", "phone", at("2025-11-05T15:00"), "5", None),
    ("R9", "Web Chat", at("2025-05-05T15:00"), "satisfait", None),
    ("R10", "webchat", at("2025-05-05T15:00"), "insatisfait", None),
    ("R11", "Live Chat", at("2025-08-05T15:00"), "Tres Satisfait", None),
    ("R12", "email", at("2025-08-05T15:00"), "very satisfied", None),
]


def day(text: str) -> object:
    return datetime.fromisoformat(text).date()


WEB_FILE_1: list[Row] = [
    (day("2025-05-01"), "211ontario.ca", 100),
    (day("2025-05-01"), " WWW.211Ontario.ca ", 50),
    (day("2025-05-01"), "staging.211ontario.ca", 7),
    (day("2025-05-02"), None, 30),
    (day("2025-05-03"), "", 20),
    (day("2025-05-04"), "211ontario.ca", 40),
    (day("2025-12-01"), None, 10),
]

WEB_FILE_2: list[Row] = [
    # a corrected export of 4 May replaces the whole day; its last row of a key wins
    (day("2025-05-04"), "211ontario.ca", 44),
    (day("2025-05-04"), "211ontario.ca", 45),
    (day("2025-05-04"), "www.211ontario.ca", 5),
]

FINANCE_FILE_1: list[Row] = [
    (day("2025-04-01"), "5000", "MCCSS", Decimal("1000.10")),
    (day("2025-04-01"), "5000", "United Way", Decimal("500")),
    (day("2025-05-01"), "5000", " mccss ", Decimal("200.005")),
    (day("2025-05-01"), "5100", "Ministry", Decimal("-50.25")),
    *[(day("2025-10-01"), "5200", "MCSS", Decimal("0.1")) for _ in range(30)],
    (day("2026-02-01"), "5000", "Federal", Decimal("1000")),
]

FINANCE_FILE_2: list[Row] = [
    # revision of April: replaces both April lines of the first upload
    (day("2025-04-01"), "5000", "MCCSS", Decimal("900.00")),
    (day("2025-04-01"), "5000", "Other", Decimal("10")),
]


def load_hand_made_extracts(con: duckdb.DuckDBPyConnection) -> None:
    ensure_raw_tables(con)
    insert(con, "calls", 1, "calls_1.csv", CALLS_FILE_1)
    insert(con, "calls", 2, "calls_2.csv", CALLS_FILE_2)
    insert(con, "chats", 3, "chats_1.csv", CHATS)
    insert(con, "emails", 4, "emails_1.csv", EMAILS)
    insert(con, "texts", 5, "texts_1.csv", TEXTS)
    insert(con, "surveys", 6, "surveys_1.csv", SURVEYS)
    insert(con, "web", 7, "web_1.csv", WEB_FILE_1)
    insert(con, "web", 8, "web_2.csv", WEB_FILE_2)
    insert(con, "finance", 9, "finance_1.csv", FINANCE_FILE_1)
    insert(con, "finance", 10, "finance_2.csv", FINANCE_FILE_2)
    con.execute("insert into raw.blocklist values ('h_block'), ('t_block')")
    for load_id, kind, name in [
        (1, "calls", "calls_1.csv"),
        (9, "finance", "finance_1.csv"),
    ]:
        con.execute(
            "insert into raw.load_log values (?, ?, ?, ?, 10, ?, 'utf-8', null, null, ?, ?)",
            [
                load_id,
                kind,
                name,
                f"sha-{load_id}",
                at("2026-04-20T12:00"),
                day("2025-03-31"),
                day("2026-03-31"),
            ],
        )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    data_dir = tmp_path_factory.mktemp("data")
    database = DataPaths(data_dir).warehouse
    database.parent.mkdir(parents=True)
    with duckdb.connect(str(database)) as con:
        load_hand_made_extracts(con)
    # the unit tests run in test_dbt_build; here the data tests and singular tests check the data
    result = run_dbt_build(data_dir, tmp_path_factory.mktemp("dbt"), *MODELS_AND_DATA_TESTS)
    assert result.returncode == 0, result.stdout[-5000:]
    con = duckdb.connect(str(database), read_only=True)
    yield con
    con.close()


def schedule(con: duckdb.DuckDBPyConnection, fiscal_year: str) -> dict[tuple[str, int], tuple]:
    rows = con.execute(
        """
        select stage, element_order, value, numerator, denominator,
               q1_value, q2_value, q3_value, q4_value
        from marts.service_data_schedule where fiscal_year = ?
        """,
        [fiscal_year],
    ).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def values(table: dict[tuple[str, int], tuple], element_order: int) -> list[Decimal | None]:
    return [table[(stage, element_order)][0] for stage in ("Q2", "Q3", "final")]


def test_calls_counted_and_abandoned(warehouse: duckdb.DuckDBPyConnection) -> None:
    table = schedule(warehouse, "2025-26")
    # counted: Q1 = C1 (one call over two segments), A5 (long), A7 (short, outside the window),
    # B1-B4 (only four, no burst), W1-W5 (withheld, never grouped) = 12; Q2 = LF and NS (later
    # file wins) = 2; Q3 = 0; Q4 = F1 (31 March local) = 1
    assert values(table, 1) == [Decimal(14), Decimal(14), Decimal(15)]
    assert table[("final", 1)][3:] == (Decimal(12), Decimal(2), Decimal(0), Decimal(1))
    assert table[("Q2", 1)][3:] == (Decimal(12), Decimal(2), None, None)
    # abandoned: AB1, AB2 in July; AB3 in November (short-abandon rule off by default)
    assert values(table, 8) == [Decimal(2), Decimal(3), Decimal(3)]


def test_calls_fiscal_year_boundary(warehouse: duckdb.DuckDBPyConnection) -> None:
    # F0 started 03:30 UTC on 1 April 2025 = 31 March local: fiscal year 2024-25, Q4
    table = schedule(warehouse, "2024-25")
    assert table[("final", 1)][0] == Decimal(1)
    assert table[("final", 1)][3:] == (Decimal(0), Decimal(0), Decimal(0), Decimal(1))
    assert table[("Q3", 1)][0] == Decimal(0)


def test_call_outcomes(warehouse: duckdb.DuckDBPyConnection) -> None:
    outcomes = dict(warehouse.execute("select contact_id, outcome from marts.fct_calls").fetchall())
    assert outcomes["C2"] == "test"  # queue contains 'test', any case
    assert outcomes["C3"] == "test"
    assert outcomes["C4"] == "spam"
    assert outcomes["C5"] == "spam"  # blocklisted caller
    assert outcomes["C6"] == "auto_dialer"
    assert [outcomes[f"A{n}"] for n in range(1, 8)] == [
        "auto_dialer",
        "auto_dialer",
        "test",
        "auto_dialer",
        "counted",
        "auto_dialer",
        "counted",
    ]
    assert outcomes["N1"] == "not_offered"
    assert outcomes["S1"] == "static"
    burst = warehouse.execute(
        "select contact_id, burst_anchor_contact_id from marts.fct_calls where in_burst"
    ).fetchall()
    assert sorted(burst) == [(f"A{n}", "A1") for n in (1, 2, 3, 4, 6)]
    c1 = warehouse.execute(
        "select segment_count, queue, caller_key, talk_seconds, unmapped_dispositions"
        " from marts.fct_calls where contact_id = 'C1'"
    ).fetchone()
    assert c1 == (2, "211_EN", "h_c", 1140, ["referral"])


def test_chats_emails_texts(warehouse: duckdb.DuckDBPyConnection) -> None:
    table = schedule(warehouse, "2025-26")
    # chats counted: CH1 (May), CH7 (October, unmapped code counts as service)
    assert values(table, 2) == [Decimal(1), Decimal(2), Decimal(2)]
    # chats abandoned: CH5 only (CH8 is spam first)
    assert values(table, 9) == [Decimal(1), Decimal(1), Decimal(1)]
    # emails counted: E1 (May), E4 (30 September local; static is not spam for emails)
    assert values(table, 3) == [Decimal(2), Decimal(2), Decimal(2)]
    # texts counted: T4 (May, withheld sender), T1 (January)
    assert values(table, 4) == [Decimal(1), Decimal(1), Decimal(2)]


def test_website_sessions(warehouse: duckdb.DuckDBPyConnection) -> None:
    table = schedule(warehouse, "2025-26")
    # May: 100 + 50 (case and spaces) + 30 (null host) + 20 (blank host) + 45 + 5 (4 May as
    # corrected) = 250; staging.211ontario.ca (7) excluded; December: 10
    assert values(table, 5) == [Decimal(250), Decimal(260), Decimal(260)]
    excluded = warehouse.execute(
        "select item, count from marts.data_quality_notes"
        " where category = 'excluded_hostname' and fiscal_year = '2025-26' and stage = 'final'"
    ).fetchall()
    assert excluded == [("staging.211ontario.ca", 7)]


def test_client_satisfaction(warehouse: duckdb.DuckDBPyConnection) -> None:
    table = schedule(warehouse, "2025-26")
    # phone to September: R1, R3 very satisfied, R2 satisfied: 3 of 3; to March also R6, R7
    # not satisfied: 3 of 5
    assert table[("Q2", 6)][:3] == (Decimal("100.0"), 3, 3)
    assert table[("final", 6)][:3] == (Decimal("60.0"), 3, 5)
    # chat: R9 satisfied, R10 not, R11 very satisfied: 2 of 3 = 66.666... -> 66.7; R12 is email
    assert table[("final", 7)][:3] == (Decimal("66.7"), 2, 3)
    assert table[("final", 7)][3:5] == (Decimal("50.0"), Decimal("100.0"))
    invalid = warehouse.execute(
        "select sum(count) from marts.data_quality_notes"
        " where category = 'invalid_survey_answer' and fiscal_year = '2025-26' and stage = 'final'"
    ).fetchone()
    assert invalid == (3,)  # R4 'N/A', R5 blank, R8 '5'
    # 2024-25 has calls but no survey: blank value, a note, never 0
    earlier = schedule(warehouse, "2024-25")
    assert earlier[("final", 6)][0] is None
    no_valid = warehouse.execute(
        "select count(*) from marts.data_quality_notes"
        " where category = 'no_valid_survey' and fiscal_year = '2024-25' and stage = 'final'"
    ).fetchone()
    assert no_valid == (2,)


def test_ministry_funded_expenditures(warehouse: duckdb.DuckDBPyConnection) -> None:
    table = schedule(warehouse, "2025-26")
    # April as revised: 900.00 (Other not funded) ; May: 200.005 - 50.25 ; October 30 x 0.1 = 3
    # Q2: 900 + 200.005 - 50.25 = 1049.755 -> 1049.76 (half-up) ; Q3 and final: 1052.755
    assert values(table, 10) == [Decimal("1049.76"), Decimal("1052.76"), Decimal("1052.76")]
    assert table[("final", 10)][3:] == (
        Decimal("1049.76"),
        Decimal("0.00"),
        Decimal("3.00"),
        Decimal("0.00"),
    )
    revised = warehouse.execute(
        "select item, count from marts.data_quality_notes"
        " where category = 'finance_revision' and fiscal_year = '2025-26' and stage = 'final'"
    ).fetchall()
    assert revised == [("2025-04", 2)]


def test_outcome_audit_balances(warehouse: duckdb.DuckDBPyConnection) -> None:
    unbalanced = warehouse.execute(
        "select count(*) from marts.outcome_audit where not balance_ok"
    ).fetchone()
    assert unbalanced == (0,)
    calls = warehouse.execute(
        """
        select seen, counted, abandoned, short_abandon, not_offered, test, spam, auto_dialer,
               static
        from marts.outcome_audit
        where fiscal_year = '2025-26' and stage = 'final' and channel = 'calls'
        """
    ).fetchone()
    # 30 calls: 15 counted, 3 abandoned, 1 not offered, 3 test (C2, C3, A3), 2 spam (C4, C5),
    # 5 auto-dialer (C6, A1, A2, A4, A6), 1 static
    assert calls == (30, 15, 3, 0, 1, 3, 2, 5, 1)


def test_every_stage_has_ten_elements(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = warehouse.execute(
        """
        select fiscal_year, stage, count(*), count(distinct rules_fingerprint)
        from marts.service_data_schedule group by all order by all
        """
    ).fetchall()
    assert rows == [
        (year, stage, 10, 1) for year in ("2024-25", "2025-26") for stage in ("Q2", "Q3", "final")
    ]
