"""Incremental dbt models give exactly what a full rebuild gives.

A hand-made warehouse is built, then a second set of loads arrives: a later day, corrected
earlier records (one takes a caller out of a burst, one moves a call to another caller), a
burst that straddles midnight, a replaced blocklist, a web day restatement and a finance month
revision. The warehouse is copied; the original is built incrementally, the copy with
`--full-refresh`, and every staging, intermediate and mart relation must hold the same rows.
A changed rule var is then checked the same way.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from ingest.warehouse import ensure_raw_tables
from o211.paths import DataPaths
from tests.test_dbt_rules import (
    CALLS_FILE_1,
    CALLS_FILE_2,
    CHATS,
    EMAILS,
    FINANCE_FILE_1,
    FINANCE_FILE_2,
    SURVEYS,
    TEXTS,
    WEB_FILE_1,
    WEB_FILE_2,
    Row,
    call,
    chat,
    insert,
    run_dbt_build,
    short,
)

# Five whole-project dbt builds: CI runs them, `--quick` does not.
pytestmark = pytest.mark.slow

# models and seeds only: the data tests run in test_dbt_rules, here only the rows matter
MODELS_ONLY = ("--resource-type", "seed", "--resource-type", "model")

# caller h_m: three short calls late on 9 September (Toronto), 23:30 to 23:50 ...
MIDNIGHT_BEFORE: list[Row] = [
    short("M1", "2025-09-10T03:30", "h_m"),
    short("M2", "2025-09-10T03:40", "h_m"),
    short("M3", "2025-09-10T03:50", "h_m"),
]
# ... and two just after midnight, loaded with the next day: five in [23:30, 00:30), a burst
# whose anchor is on the day already built
MIDNIGHT_AFTER: list[Row] = [
    short("M4", "2025-09-10T04:05", "h_m"),
    short("M5", "2025-09-10T04:10", "h_m"),
]

SECOND_CALLS: list[Row] = [
    *CALLS_FILE_2,
    *MIDNIGHT_AFTER,
    # a later day
    call("D1", "2025-09-11T15:00"),
    call("D2", "2025-09-11T15:10", queued=10, answered=None, ended=40),
    # A2 corrected to a long call: h_a keeps four short calls in the hour, so no burst
    call("A2", "2025-06-10T13:10", caller="h_a"),
    # B1 corrected to another caller: h_b's calls are looked at again, and so are h_x's
    short("B1", "2025-06-11T13:00", "h_x"),
]

SECOND_CHATS: list[Row] = [
    chat("CH9", "2025-09-11T15:00"),
    # a corrected chat: now abandoned
    chat("CH1", "2025-05-02T15:00", answered=False),
]


def load_first(con: duckdb.DuckDBPyConnection) -> None:
    ensure_raw_tables(con)
    insert(con, "calls", 1, "calls_1.csv", [*CALLS_FILE_1, *MIDNIGHT_BEFORE])
    insert(con, "chats", 3, "chats_1.csv", CHATS)
    insert(con, "emails", 4, "emails_1.csv", EMAILS)
    insert(con, "texts", 5, "texts_1.csv", TEXTS)
    insert(con, "surveys", 6, "surveys_1.csv", SURVEYS)
    insert(con, "web", 7, "web_1.csv", WEB_FILE_1)
    insert(con, "finance", 9, "finance_1.csv", FINANCE_FILE_1)
    con.execute("insert into raw.blocklist values ('h_block'), ('t_block')")


def load_second(con: duckdb.DuckDBPyConnection) -> None:
    insert(con, "calls", 11, "calls_2.csv", SECOND_CALLS)
    insert(con, "chats", 12, "chats_2.csv", SECOND_CHATS)
    insert(con, "web", 13, "web_2.csv", WEB_FILE_2)
    insert(con, "finance", 14, "finance_2.csv", FINANCE_FILE_2)
    # the blocklist is replaced whole at each ingest: h_block leaves, h_b arrives
    con.execute("delete from raw.blocklist")
    con.execute("insert into raw.blocklist values ('h_b'), ('t_block')")


def relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        """
        select table_schema || '.' || table_name from information_schema.tables
        where table_catalog = current_database()
          and table_schema in ('staging', 'intermediate', 'marts')
        order by 1
        """
    ).fetchall()
    return [name for (name,) in rows]


def differences(incremental: Path, rebuilt: Path) -> dict[str, tuple[int, int]]:
    """Relations whose rows differ: (rows only in the incremental, rows only in the rebuild)."""
    with duckdb.connect(str(incremental), read_only=True) as con:
        con.execute(f"attach '{rebuilt}' as rebuilt (read_only)")
        names = relations(con)
        assert "marts.service_data_schedule" in names and "marts.fct_calls" in names
        found: dict[str, tuple[int, int]] = {}
        for name in names:
            only_here = con.execute(
                f"select count(*) from (select * from {name} except all "
                f"select * from rebuilt.{name})"
            ).fetchone()
            only_there = con.execute(
                f"select count(*) from (select * from rebuilt.{name} except all "
                f"select * from {name})"
            ).fetchone()
            assert only_here is not None and only_there is not None
            if only_here[0] or only_there[0]:
                found[name] = (only_here[0], only_there[0])
        return found


def outcomes(database: Path, contact_ids: list[str]) -> dict[str, str]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select contact_id, outcome from marts.fct_calls where list_contains(?, contact_id)",
            [contact_ids],
        ).fetchall()
    return dict(rows)


def build(data_dir: Path, work_dir: Path, *extra_args: str) -> None:
    result = run_dbt_build(data_dir, work_dir, *MODELS_ONLY, *extra_args)
    assert result.returncode == 0, result.stdout[-5000:]


def rebuilt_copy(data_dir: Path, copy_dir: Path) -> Path:
    copy = DataPaths(copy_dir).warehouse
    copy.parent.mkdir(parents=True)
    shutil.copyfile(DataPaths(data_dir).warehouse, copy)
    return copy


def test_incremental_build_equals_full_rebuild(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = DataPaths(data_dir).warehouse
    database.parent.mkdir(parents=True)
    with duckdb.connect(str(database)) as con:
        load_first(con)
    build(data_dir, tmp_path / "dbt")
    before = outcomes(database, ["M1", "A1", "B1", "C5"])
    # hand-worked: no burst for h_m yet, h_a's five short calls are a burst, h_b has four, and
    # h_block is blocklisted
    assert before == {"M1": "counted", "A1": "auto_dialer", "B1": "counted", "C5": "spam"}

    with duckdb.connect(str(database)) as con:
        load_second(con)
    copy = rebuilt_copy(data_dir, tmp_path / "copy")
    build(data_dir, tmp_path / "dbt")
    build(tmp_path / "copy", tmp_path / "dbt-copy", "--full-refresh")
    assert differences(database, copy) == {}
    # the second loads changed calls built before them, through each path
    after = outcomes(database, ["M1", "A1", "B1", "B2", "C5", "D1"])
    assert after == {
        "M1": "auto_dialer",  # burst across midnight anchored on the earlier day
        "A1": "counted",  # A2's correction broke h_a's burst
        "B1": "counted",  # moved to caller h_x, not blocklisted
        "B2": "spam",  # h_b is blocklisted now
        "C5": "counted",  # h_block left the blocklist
        "D1": "counted",  # the later day
    }

    # a rule var changed: the incremental models work everything again
    rule = ("--vars", "{autodialer_min_calls: 3}")
    copy = rebuilt_copy(data_dir, tmp_path / "copy-rule")
    build(data_dir, tmp_path / "dbt", *rule)
    build(tmp_path / "copy-rule", tmp_path / "dbt-copy-rule", "--full-refresh", *rule)
    assert differences(database, copy) == {}
    # h_a's four short calls in the hour are a burst at three
    assert outcomes(database, ["A1"]) == {"A1": "auto_dialer"}
