"""Every value parser against extracts.md (issue 14 item 1, the audit beside the money grammar).

For each type, a reference written by hand from extracts.md's wording (no regular expressions,
no pandas) judges generated valid values and mutations of them, and the product's parser must
agree on what it accepts and on the value; examples pin the rules and the leniencies that were
removed (Unicode digits, junk after a finance period, counts rounded past 2**53).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest import parsing
from ingest.extracts import TEXT
from o211.calendar import TORONTO_ZONE_NAME

TORONTO = ZoneInfo(TORONTO_ZONE_NAME)
DIGITS = frozenset("0123456789")
NOISE = "0123456789-:T Z+.,z/１٣\u00a0"
FAST = settings(max_examples=150, deadline=None)


def column(*cells: str) -> pd.Series:
    return pd.Series(list(cells), dtype=TEXT)


def test_blank_is_never_a_parse_failure():
    """Whether a blank is allowed is the contract's business (`value.blank`), not the parser's."""
    blank = column("")
    for parse in (
        parsing.parse_timestamps,
        parsing.parse_dates,
        parsing.parse_months,
        parsing.parse_counts,
        parsing.parse_booleans,
    ):
        _values, bad = parse(blank)
        assert not bad.iloc[0], parse.__name__


def digits(text: str, count: int) -> int | None:
    return int(text) if len(text) == count and set(text) <= DIGITS else None


def mutations(text: str) -> st.SearchStrategy[str]:
    """`text` with one character inserted, deleted or replaced."""
    positions = st.integers(min_value=0, max_value=len(text))
    chars = st.sampled_from(NOISE)
    return st.one_of(
        st.builds(lambda i, c: text[:i] + c + text[i:], positions, chars),
        st.builds(lambda i: text[:i] + text[i + 1 :], positions),
        st.builds(lambda i, c: text[:i] + c + text[i + 1 :], positions, chars),
    )


# --- dates: `YYYY-MM-DD`; the web kind also `YYYYMMDD` --------------------------------------------


def reference_date(text: str, *, compact_allowed: bool = False) -> date | None:
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        parts = (digits(text[:4], 4), digits(text[5:7], 2), digits(text[8:], 2))
    elif compact_allowed and len(text) == 8:
        parts = (digits(text[:4], 4), digits(text[4:6], 2), digits(text[6:], 2))
    else:
        return None
    if None in parts:
        return None
    try:
        return date(*parts)  # type: ignore[arg-type]
    except ValueError:
        return None


def product_date(text: str, *, compact_allowed: bool = False) -> date | None:
    if text == "":
        return None  # blank: the contract's business (test_blank_is_never_a_parse_failure)
    values, bad = parsing.parse_dates(column(text), compact_allowed=compact_allowed)
    return None if bad.iloc[0] else values.iloc[0].date()


@FAST
@given(st.dates(min_value=date(1000, 1, 1)), st.booleans(), st.data())
def test_dates_agree_with_the_reference(day, compact_allowed, data):
    for text in (day.isoformat(), day.strftime("%Y%m%d")):
        expected = reference_date(text, compact_allowed=compact_allowed)
        assert product_date(text, compact_allowed=compact_allowed) == expected
        mutated = data.draw(mutations(text))
        assert product_date(mutated, compact_allowed=compact_allowed) == reference_date(
            mutated, compact_allowed=compact_allowed
        )


@pytest.mark.parametrize(
    "text", ["２０２５-04-01", "2025-4-1", "2025-02-29", "2025/04/01", "0000-01-01"]
)
def test_dates_refused(text):
    assert product_date(text, compact_allowed=True) is None


def test_compact_dates_only_for_the_web_kind_and_in_ascii():
    assert product_date("20250401", compact_allowed=True) == date(2025, 4, 1)
    assert product_date("20250401") is None
    assert product_date("２０２５0401", compact_allowed=True) is None


# --- timestamps: ISO 8601; exact with an offset or Z, else Toronto wall-clock time ----------------


def _offset(text: str) -> timedelta | None:
    sign, body = text[0], text[1:]
    if len(body) == 2:
        hours, minutes = digits(body, 2), 0
    elif len(body) == 4:
        hours, minutes = digits(body[:2], 2), digits(body[2:], 2)
    elif len(body) == 5 and body[2] == ":":
        hours, minutes = digits(body[:2], 2), digits(body[3:], 2)
    else:
        return None
    if hours is None or minutes is None or hours > 23 or minutes > 59:
        return None
    size = timedelta(hours=hours, minutes=minutes)
    return size if sign == "+" else -size


def _wall_clock(text: str) -> tuple[int, int, int, int] | None:
    """HH:MM, HH:MM:SS or HH:MM:SS with a fraction after `.` or `,` (up to 9 digits)."""
    if len(text) < 5 or text[2] != ":":
        return None
    hour, minute, second, micro = digits(text[:2], 2), digits(text[3:5], 2), 0, 0
    rest = text[5:]
    if rest:
        if rest[0] != ":" or digits(rest[1:3], 2) is None:
            return None
        second, fraction = int(rest[1:3]), rest[3:]
        if fraction:
            if fraction[0] not in ".," or not 1 <= len(fraction) - 1 <= 9:
                return None
            if not set(fraction[1:]) <= DIGITS:
                return None
            micro = int(fraction[1:7].ljust(6, "0"))
    if hour is None or minute is None or hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second, micro


def reference_timestamp(text: str) -> datetime | None:
    day = reference_date(text[:10])
    if day is None or len(text) < 16 or text[10] not in "T ":
        return None
    rest, offset = text[11:], None
    if rest.endswith("Z"):
        rest, offset = rest[:-1], timedelta(0)
    else:
        cut = max(rest.rfind("+"), rest.rfind("-"))
        if cut >= 0:
            offset = _offset(rest[cut:])
            if offset is None:
                return None
            rest = rest[:cut]
    clock = _wall_clock(rest)
    if clock is None:
        return None
    wall = datetime(day.year, day.month, day.day, *clock)
    if offset is not None:
        return (wall - offset).replace(tzinfo=UTC)
    if not 1800 <= wall.year < 9000:  # beyond time-zone rules: read as UTC (parsing.py)
        return wall.replace(tzinfo=UTC)
    local = wall.replace(tzinfo=TORONTO)  # fold 0: the first reading of a repeated hour
    if local.astimezone(UTC).astimezone(TORONTO).replace(tzinfo=None) != wall:
        local = wall.replace(hour=3, minute=0, second=0, microsecond=0, tzinfo=TORONTO)
    return local.astimezone(UTC)


def product_timestamp(text: str) -> datetime | None:
    if text == "":
        return None  # blank: the contract's business (test_blank_is_never_a_parse_failure)
    values, bad = parsing.parse_timestamps(column(text))
    return None if bad.iloc[0] else values.iloc[0].to_pydatetime()


OFFSETS = st.sampled_from(["", "Z", "+00:00", "-04:00", "-05:00", "+0530", "-03", "+14:00"])


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
    separator = draw(st.sampled_from("T "))
    shape = draw(st.sampled_from(["%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%H:%M:%S,%f"]))
    return moment.strftime(f"%Y-%m-%d{separator}{shape}") + draw(OFFSETS)


@settings(max_examples=250, deadline=None)
@given(timestamp_texts(), st.data())
@example("2025-11-02T01:30:00", None)  # the repeated autumn hour: the first (daylight) reading
@example("2025-03-09T02:30:00", None)  # the spring gap: forward to 03:00 EDT
def test_timestamps_agree_with_the_reference(text, data):
    expected = reference_timestamp(text)
    assert expected is not None, text
    assert product_timestamp(text) == expected
    if data is not None:
        mutated = data.draw(mutations(text))
        assert product_timestamp(mutated) == reference_timestamp(mutated), mutated


def test_the_repeated_hour_and_the_spring_gap_read_as_documented():
    assert product_timestamp("2025-11-02T01:30:00") == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    assert product_timestamp("2025-03-09T02:30:00") == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    aware = product_timestamp("2025-04-01T09:30:00-04:00")
    assert aware == datetime(2025, 4, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))


@pytest.mark.parametrize(
    "text",
    [
        "２０２５-04-01T09:30:00",  # full-width digits
        "2025-04-01T09:30:00z",  # ISO 8601's designator is a capital Z
        "2025-04-01T24:00:00",
        "2025-04-01T09:30:60",
        "2025-04-01",  # a date is not a timestamp
        "2025-04-01T09:30:00+99:99",
        "2025-04-01T09:30:00.1234567891Z",
    ],
)
def test_timestamps_refused(text):
    assert product_timestamp(text) is None
    assert reference_timestamp(text) is None


# --- finance `period`: `YYYY-MM`, a date in that month, or an Excel date cell ---------------------


def reference_month(text: str) -> date | None:
    year, month = digits(text[:4], 4), digits(text[5:7], 2)
    if len(text) < 7 or text[4] != "-" or year is None or month is None or not 1 <= month <= 12:
        return None
    if len(text) > 7:
        day = reference_date(text[:10])
        if text[7] != "-" or day is None:
            return None
        if len(text) > 10:  # a date cell with a time of day: HH:MM, HH:MM:SS or with micro-s
            clock, fraction = text[11:], ""
            if len(clock) > 8 and clock[8] == ".":
                clock, fraction = clock[:8], clock[9:]
                if not 1 <= len(fraction) <= 6 or not set(fraction) <= DIGITS:
                    return None
            if text[10] not in "T " or _wall_clock(clock) is None:
                return None
    return date(year, month, 1)


def product_month(text: str) -> date | None:
    if text == "":
        return None  # blank: the contract's business (test_blank_is_never_a_parse_failure)
    values, bad = parsing.parse_months(column(text))
    return None if bad.iloc[0] else values.iloc[0].date()


@st.composite
def month_texts(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
    shape = draw(st.sampled_from(["%Y-%m", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]))
    return moment.strftime(shape)


@FAST
@given(month_texts(), st.data())
def test_months_agree_with_the_reference(text, data):
    assert product_month(text) == reference_month(text) == date(int(text[:4]), int(text[5:7]), 1)
    mutated = data.draw(mutations(text))
    assert product_month(mutated) == reference_month(mutated), mutated


@pytest.mark.parametrize(
    "text",
    ["2025-04-15T::::", "2025-04-15T9", "2025-04-15T24:00", "２０２５-04", "2025-13", "2025-4"],
)
def test_months_refused(text):
    assert product_month(text) is None


def test_an_excel_date_cell_with_a_time_reads_as_its_month():
    assert product_month(datetime(2025, 4, 15, 10, 30).isoformat()) == date(2025, 4, 1)


# --- web `sessions`: integer >= 0 -----------------------------------------------------------------


def product_count(text: str) -> int | None:
    if text == "":
        return None  # blank: the contract's business (test_blank_is_never_a_parse_failure)
    values, bad = parsing.parse_counts(column(text))
    return None if bad.iloc[0] else int(values.iloc[0])


@FAST
@given(st.integers(min_value=0, max_value=10**18 - 1), st.data())
@example(999_999_999_999_999_999, None)
@example(2**53 + 1, None)
def test_counts_are_exact_and_agree_with_the_reference(number, data):
    assert product_count(str(number)) == number
    if data is not None:
        mutated = data.draw(mutations(str(number)))
        reference = int(mutated) if 1 <= len(mutated) <= 18 and set(mutated) <= DIGITS else None
        assert product_count(mutated) == reference


@pytest.mark.parametrize("text", ["-1", "1.5", "1,200", "１２", "٣", "1e3", " 1"])
def test_counts_refused(text):
    assert product_count(text) is None


# --- booleans (`spam_flag`): true/false, yes/no, 1/0, y/n, any case; blank = false ----------------

TRUE_WORDS = ("true", "yes", "1", "y")
FALSE_WORDS = ("false", "no", "0", "n")


def product_boolean(text: str) -> bool | None:
    values, bad = parsing.parse_booleans(column(text))
    return None if bad.iloc[0] else bool(values.iloc[0])


@FAST
@given(st.sampled_from(TRUE_WORDS + FALSE_WORDS), st.data())
def test_booleans_in_any_case(word, data):
    cased = "".join(c.upper() if data.draw(st.booleans()) else c for c in word)
    assert product_boolean(cased) is (word in TRUE_WORDS)


@FAST
@given(st.text(alphabet="truefalsyno01YNTF ſıİ１", max_size=6))
def test_booleans_accept_only_the_listed_words(text):
    lowered = text.lower()
    expected = True if lowered in TRUE_WORDS else False if lowered in (*FALSE_WORDS, "") else None
    assert product_boolean(text) is expected
