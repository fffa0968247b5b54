"""Text cells to typed columns, one explicit parser per type of extracts.md.

Every parser takes a column of text (already stripped; blank = "") and returns the typed column
plus a mask of the cells it could not read. Blank is never a parse failure here: whether a
blank is allowed is the contract's business (`ingest.contracts`).

Time: naive timestamps are America/Toronto wall-clock time. On the autumn night the clocks go
back, 01:00-01:59 happens twice: a naive time in that hour is read as the FIRST (daylight-time)
instant, except that an end time which would then precede its start is read as the second one
(see `later_reading_of_repeated_hour`). In the spring gap (02:00-02:59 does not exist) a naive
time is moved forward to the first real instant (03:00 EDT): exports written by a clock that
had not yet jumped are a minute-level error, not a reason to refuse a year of calls.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pandas as pd

from o211.calendar import TORONTO_ZONE_NAME

LOCAL_TIME_ZONE = TORONTO_ZONE_NAME
INSTANT = "datetime64[us, UTC]"

# Every pattern spells its digits [0-9]: `\d` also matches Arabic-Indic, full-width and other
# Unicode digits, which pandas or Decimal would then read as numbers.
_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
_OFFSET = r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_TIMESTAMP_RE = re.compile(f"{_TIMESTAMP}{_OFFSET}?")
_HAS_OFFSET_RE = re.compile(f"{_OFFSET}$")

TRUE_WORDS = frozenset({"true", "yes", "1", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", ""})

# Money text (extracts.md, finance `amount`: "text such as 1234.56, 1,234.56, $1,234.56,
# -1234.56, (1,234.56)"), read as one strict grammar: one minus sign before the amount or one
# pair of parentheses around it (never both), at most one `$` right before the digits, digits
# either ungrouped or in thousands groups (a first group of 1-3 digits without a leading zero,
# then groups of exactly 3, separated by commas: the only mark extracts.md shows), and an
# optional decimal part of at least one digit (more than 4 is a problem of its own). Nothing
# else, spaces included: "1 234" may be a thousands group or two numbers run together, and a
# figure sent to the ministry is never guessed at.
_MONEY_GROUPS = r"[1-9][0-9]{0,2}(?:,[0-9]{3})+"
_MONEY_DIGITS = rf"(?P<digits>{_MONEY_GROUPS}|[0-9]+)(?:\.(?P<decimals>[0-9]+))?"
_MONEY_RE = re.compile(rf"(?P<minus>-)?\$?{_MONEY_DIGITS}")
_MONEY_IN_PARENTHESES_RE = re.compile(rf"\(\$?{_MONEY_DIGITS}\)")
# A second negative sign after a first one (or inside parentheses), for a clearer message.
_NEGATED_TWICE_RE = re.compile(r"[-(]\$?-")
MONEY_MAX_DECIMALS = 4
# decimal(18, 4) in the warehouse: 14 digits before the point.
MONEY_LIMIT = Decimal(10) ** 14

# Naive times outside these years are not localised (see `parse_timestamps`).
_ZONE_RULES_FROM = pd.Timestamp("1800-01-01")
_ZONE_RULES_UNTIL = pd.Timestamp("9000-01-01")

# A month: `YYYY-MM`, a date in it, or a date and time (an Excel date cell with a time part
# reads as `2025-04-15T10:30:00`); groups year, month, day, hour, minute, second.
_MONTH_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})"
    r"(?:-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,6})?)?)?)?"
)


def _localise(naive: pd.Series, *, later: bool) -> pd.Series:
    ambiguous = np.full(len(naive), not later)
    return naive.dt.tz_localize(
        LOCAL_TIME_ZONE, ambiguous=ambiguous, nonexistent="shift_forward"
    ).dt.tz_convert("UTC")


def parse_timestamps(
    text: pd.Series, *, later_in_repeated_hour: bool = False
) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 text to UTC instants; naive text is America/Toronto (module docstring)."""
    blank = text == ""
    shaped = text.str.fullmatch(_TIMESTAMP_RE.pattern).fillna(False).astype(bool)
    # A decimal comma is allowed by ISO 8601; pandas only reads the point.
    cleaned = text.where(shaped, "")
    if cleaned.str.contains(",", regex=False).any():
        cleaned = cleaned.str.replace(",", ".", regex=False)
    has_offset = shaped & cleaned.str.contains(_HAS_OFFSET_RE.pattern, regex=True).fillna(False)
    naive_mask = shaped & ~has_offset
    # Whole-column conversions, combined with `where`: masked assignment is slow in pandas.
    result = pd.Series(pd.NaT, index=text.index, dtype=INSTANT)
    if has_offset.any():
        aware = pd.to_datetime(
            cleaned.where(has_offset, ""), format="ISO8601", utc=True, errors="coerce"
        ).astype(INSTANT)
        result = aware if has_offset.all() else aware.where(has_offset, result)
    if naive_mask.any():
        naive = pd.to_datetime(
            cleaned.where(naive_mask, ""), format="ISO8601", errors="coerce"
        ).astype("datetime64[us]")
        # Time-zone rules only exist within Python's datetime years (pandas raises beyond
        # them); a wall-clock time far from today is read as UTC instead: the accepted-date
        # check rejects it whatever its offset.
        far = naive.notna() & ((naive < _ZONE_RULES_FROM) | (naive >= _ZONE_RULES_UNTIL))
        local = _localise(naive.where(~far), later=later_in_repeated_hour)
        if far.any():
            local = local.where(~far, naive.where(far).dt.tz_localize("UTC"))
        result = local if naive_mask.all() else local.where(naive_mask, result)
    bad = ~blank & result.isna()
    return result, bad


def parse_dates(text: pd.Series, *, compact_allowed: bool = False) -> tuple[pd.Series, pd.Series]:
    """`YYYY-MM-DD` (and `YYYYMMDD` when allowed) to dates (datetime64 at midnight, no zone)."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    dashed = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False).astype(bool)
    if dashed.any():
        result[dashed] = pd.to_datetime(text[dashed], format="%Y-%m-%d", errors="coerce")
    if compact_allowed:
        compact = text.str.fullmatch(r"[0-9]{8}").fillna(False).astype(bool)
        if compact.any():
            result[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    # pandas reads year 0000 as a proleptic year 0, which is no calendar date.
    result[result.dt.year < 1] = pd.NaT
    bad = (text != "") & result.isna()
    return result, bad


def parse_booleans(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """true/false, yes/no, 1/0, y/n in any case; blank = false."""
    lowered = text.str.lower()
    truthy = lowered.isin(TRUE_WORDS)
    bad = ~(truthy | lowered.isin(FALSE_WORDS))
    return truthy.astype(bool), bad


def parse_counts(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers written as digits (a count cannot be negative or fractional)."""
    digits = text.str.fullmatch(r"[0-9]{1,18}").fillna(False).astype(bool)
    # Through Python's int, whole column: a text column's own astype, and a masked assignment
    # into an int64 column, both go through float and round counts past 2**53.
    values = text.where(digits, "0").map(int).astype("int64")
    bad = (text != "") & ~digits
    return values, bad


def money_from_text(text: str) -> Decimal | str:
    """An amount as Decimal, or the `ingest.messages` code of the reason it is not one.

    The one reading of money text (`_MONEY_RE`): ingest, `o211 check` and the portal's upload
    check all reach it through `contracts.type_chunk`. A number cell arrives here as the text
    `readers.cell_text` made of it, at Excel's 15 significant digits.
    """
    match = _MONEY_RE.fullmatch(text) or _MONEY_IN_PARENTHESES_RE.fullmatch(text)
    if match is None:
        if _NEGATED_TWICE_RE.match(text):
            return "amount.two_minus_signs"
        return "amount.invalid"
    decimals = match.group("decimals") or ""
    if len(decimals) > MONEY_MAX_DECIMALS:
        return "amount.too_many_decimals"
    whole = match.group("digits").replace(",", "")
    amount = Decimal(whole + (f".{decimals}" if decimals else ""))
    if amount >= MONEY_LIMIT:
        return "amount.too_large"
    negative = text.startswith("(") or match.group("minus") is not None
    return -amount if negative else amount


def parse_money(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Amounts as Decimal, a bad-cell mask and each bad cell's reason code (files are small)."""
    amounts: list[Decimal | None] = []
    reasons: list[str | None] = []
    for cell in text.tolist():
        if cell == "":
            amounts.append(None)
            reasons.append(None)
            continue
        parsed = money_from_text(cell)
        if isinstance(parsed, Decimal):
            amounts.append(parsed)
            reasons.append(None)
        else:
            amounts.append(None)
            reasons.append(parsed)
    reason_series = pd.Series(reasons, index=text.index, dtype=object)
    return (
        pd.Series(amounts, index=text.index, dtype=object),
        reason_series.notna(),
        reason_series,
    )


def parse_months(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`YYYY-MM`, a date in the month, or a date and time (an Excel date cell) -> its first day."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    parts = text.str.extract(f"^{_MONTH_RE.pattern}$")
    shaped = parts[0].notna()
    if shaped.any():
        year_month = parts.loc[shaped, 0] + "-" + parts.loc[shaped, 1]
        firsts = pd.to_datetime(year_month + "-01", format="%Y-%m-%d", errors="coerce")
        has_day = parts.loc[shaped, 2].notna()
        if has_day.any():
            full = pd.to_datetime(
                year_month[has_day] + "-" + parts.loc[shaped, 2][has_day],
                format="%Y-%m-%d",
                errors="coerce",
            )
            firsts[has_day & full.isna()] = pd.NaT
        clock = parts.loc[shaped, [3, 4, 5]].apply(pd.to_numeric)  # NaN where not written
        impossible = (clock[3] > 23) | (clock[4] > 59) | (clock[5] > 59)
        firsts[impossible] = pd.NaT
        result[shaped] = firsts
    bad = (text != "") & result.isna()
    return result, bad


def later_reading_of_repeated_hour(
    started: pd.Series, ended: pd.Series, ended_text: pd.Series
) -> pd.Series:
    """End times re-read as the second 01:xx where the first reading would end before the start.

    Only naive times in the hour that repeats when the clocks go back change: every other
    end time reads the same either way.
    """
    before = ended.notna() & started.notna() & (ended < started)
    if not before.any():
        return ended
    later, _ = parse_timestamps(ended_text[before], later_in_repeated_hour=True)
    fixed = ended.copy()
    fixed[before] = later
    return fixed
