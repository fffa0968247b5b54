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
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from o211.calendar import TORONTO_ZONE_NAME

LOCAL_TIME_ZONE = TORONTO_ZONE_NAME
INSTANT = "datetime64[us, UTC]"

_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"
_TIMESTAMP_RE = re.compile(f"{_TIMESTAMP}{_OFFSET}?")
_HAS_OFFSET_RE = re.compile(f"{_OFFSET}$")

TRUE_WORDS = frozenset({"true", "yes", "1", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", ""})

# Money text: optional sign or parentheses, optional $, digits with or without thousands commas.
_MONEY_RE = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?|\.(\d+)")
MONEY_MAX_DECIMALS = 4
# decimal(18, 4) in the warehouse: 14 digits before the point.
MONEY_LIMIT = Decimal(10) ** 14

# Naive times outside these years are not localised (see `parse_timestamps`).
_ZONE_RULES_FROM = pd.Timestamp("1800-01-01")
_ZONE_RULES_UNTIL = pd.Timestamp("9000-01-01")

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2})(?:[T ][\d:.]+)?)?")


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
    dashed = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
    if dashed.any():
        result[dashed] = pd.to_datetime(text[dashed], format="%Y-%m-%d", errors="coerce")
    if compact_allowed:
        compact = text.str.fullmatch(r"\d{8}").fillna(False).astype(bool)
        if compact.any():
            result[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
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
    digits = text.str.fullmatch(r"\d{1,18}").fillna(False).astype(bool)
    values = pd.Series(0, index=text.index, dtype="int64")
    if digits.any():
        values[digits] = text[digits].astype("int64")
    bad = (text != "") & ~digits
    return values, bad


def money_from_text(text: str) -> Decimal | str:
    """An amount as Decimal, or the `ingest.messages` code of the reason it is not one."""
    body = text.replace(" ", "").replace("\u00a0", "")
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    for _ in range(2):  # `-$5`, `$-5`
        if body.startswith("-"):
            if negative:
                return "amount.two_minus_signs"
            negative, body = True, body[1:]
        if body.startswith("$"):
            body = body[1:]
    match = _MONEY_RE.fullmatch(body)
    if match is None:
        return "amount.invalid"
    decimals = match.group(1) or match.group(2) or ""
    if len(decimals) > MONEY_MAX_DECIMALS:
        return "amount.too_many_decimals"
    try:
        amount = Decimal(body.replace(",", ""))
    except InvalidOperation:
        return "amount.invalid"
    if amount >= MONEY_LIMIT:
        return "amount.too_large"
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
    """`YYYY-MM`, or any date in the month (also an Excel date cell) -> the first of the month."""
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
