"""Cell parsers and identity normalisation (extracts.md types, rules.md "Caller identity")."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from ingest import identity, parsing
from ingest.messages import render
from ingest.problems import safe_cell
from ingest.readers import cell_text
from o211.paths import DataPaths


def text(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def instants(series: pd.Series) -> list[datetime | None]:
    return [None if pd.isna(v) else v.to_pydatetime() for v in series]


def test_timestamps_with_offset_z_and_naive_toronto():
    values, bad = parsing.parse_timestamps(
        text(
            "2025-04-01T09:30:00-04:00",
            "2025-04-01T13:30:00Z",
            "2025-04-01T09:30:00",
            "2025-04-01 09:30",
            "2025-01-15T09:30:00.250",
            "2025-04-01T09:30:00+0530",
            "",
        )
    )
    assert bad.tolist() == [False] * 7
    got = instants(values)
    assert got[0] == got[1] == got[2] == got[3] == datetime(2025, 4, 1, 13, 30, tzinfo=UTC)
    assert got[4] == datetime(2025, 1, 15, 14, 30, 0, 250000, tzinfo=UTC)  # EST in January
    assert got[5] == datetime(2025, 4, 1, 4, 0, tzinfo=UTC)
    assert got[6] is None


@pytest.mark.parametrize(
    "cell",
    ["2025-04-01", "01/04/2025 09:30", "2025-13-01T00:00:00", "yesterday", "2025-04-01T25:00"],
)
def test_timestamps_refused(cell):
    _, bad = parsing.parse_timestamps(text(cell))
    assert bad.tolist() == [True]


def test_repeated_hour_reads_first_and_gap_moves_forward():
    values, bad = parsing.parse_timestamps(text("2025-11-02T01:30:00", "2025-03-09T02:30:00"))
    assert not bad.any()
    first, gap = instants(values)
    assert first == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first 01:30
    assert gap == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)  # 03:00 EDT


def test_end_in_repeated_hour_is_read_as_the_later_instant_when_needed():
    started, _ = parsing.parse_timestamps(text("2025-11-02T01:50:00-04:00"))
    ended_text = text("2025-11-02T01:05:00")
    ended, _ = parsing.parse_timestamps(ended_text)
    fixed = parsing.later_reading_of_repeated_hour(started, ended, ended_text)
    assert instants(fixed) == [datetime(2025, 11, 2, 6, 5, tzinfo=UTC)]  # 01:05 EST


def test_dates_and_compact_web_dates():
    values, bad = parsing.parse_dates(text("2025-04-01", "20250402", ""), compact_allowed=True)
    assert bad.tolist() == [False, False, False]
    assert [str(v.date()) for v in values[:2]] == ["2025-04-01", "2025-04-02"]
    _, bad = parsing.parse_dates(text("20250402", "2025-02-30"))
    assert bad.tolist() == [True, True]


def test_booleans():
    values, bad = parsing.parse_booleans(
        text("true", "FALSE", "Yes", "no", "1", "0", "Y", "n", "", "maybe")
    )
    assert values.tolist()[:9] == [True, False, True, False, True, False, True, False, False]
    assert bad.tolist() == [False] * 9 + [True]


def test_counts():
    values, bad = parsing.parse_counts(text("0", "1200", "-1", "1.5", "ten"))
    assert values.tolist()[:2] == [0, 1200]
    assert bad.tolist() == [False, False, True, True, True]


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1234.56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("$1,234.56", Decimal("1234.56")),
        ("-1234.56", Decimal("-1234.56")),
        ("(1,234.56)", Decimal("-1234.56")),
        ("-$5", Decimal("-5")),
        ("0.1234", Decimal("0.1234")),
        ("1234567.10", Decimal("1234567.10")),
    ],
)
def test_money_accepted_exactly(cell, amount):
    parsed = parsing.money_from_text(cell)
    assert isinstance(parsed, Decimal)
    assert parsed == amount


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("12.34567", "more than 4 decimal places"),
        ("1,23.00", "not a valid amount"),
        ("abc", "not a valid amount"),
        ("--5", "two minus signs"),
        ("1e5", "not a valid amount"),
    ],
)
def test_money_refused(cell, reason):
    parsed = parsing.money_from_text(cell)
    assert isinstance(parsed, str)
    assert reason in render(parsed, {})[0]


def test_excel_number_cells_read_at_15_significant_digits():
    assert cell_text(0.1 + 0.2) == "0.3"
    assert cell_text(1234.56) == "1234.56"
    assert Decimal(cell_text(1234.5600000000002)) == Decimal("1234.56")
    assert cell_text(datetime(2025, 4, 1)) == "2025-04-01"


def test_months():
    values, bad = parsing.parse_months(
        text("2025-04", "2025-05-17", "2025-06-01T00:00:00", "2025-02-30", "Apr-25")
    )
    assert [str(v.date()) for v in values[:3]] == ["2025-04-01", "2025-05-01", "2025-06-01"]
    assert bad.tolist() == [False, False, False, True, True]


def test_phone_normalisation_groups_one_caller_and_withholds():
    normalised = identity.normalise_phones(
        text(
            "+1 (416) 555-0100",
            "416.555.0100",
            "14165550100",
            "anonymous",
            "Restricted",
            "",
            "12345",
            " PRIVATE ",
        )
    )
    values = normalised.tolist()
    assert values[:3] == ["4165550100"] * 3
    assert all(pd.isna(v) for v in values[3:])


def test_hashes_are_keyed_lower_hex_and_nulls_stay_null():
    normalised = pd.Series(["4165550100", None, "4165550100"], dtype="str")
    one = identity.hash_identities(normalised, b"key-one")
    two = identity.hash_identities(normalised, b"key-two")
    assert one[0] == one[2] and len(one[0]) == 64 and one[0] == one[0].lower()
    assert pd.isna(one[1])
    assert one[0] != two[0]
    assert "4165550100" not in one[0]


def test_emails_and_visitors():
    assert identity.normalise_emails(text(" Ana@Example.COM ", "")).tolist()[0] == "ana@example.com"
    assert pd.isna(identity.normalise_visitor_ids(text("  ")).tolist()[0])


def test_pii_key_from_env_else_file_made_private(tmp_path, monkeypatch):
    paths = DataPaths(tmp_path)
    monkeypatch.setenv(identity.PII_KEY_ENV, "from-the-environment")
    assert identity.resolve_pii_key(paths) == b"from-the-environment"
    monkeypatch.delenv(identity.PII_KEY_ENV)
    made = identity.resolve_pii_key(paths)
    assert len(made) >= 32
    assert stat.S_IMODE(os.stat(paths.pii_key_file).st_mode) == 0o600
    assert identity.resolve_pii_key(paths) == made


def test_error_values_cannot_act_as_formulas():
    assert safe_cell('=HYPERLINK("x")').startswith("'=")
    assert safe_cell("@SUM(A1)").startswith("'@")
    assert len(safe_cell("x" * 10_000)) <= 120
