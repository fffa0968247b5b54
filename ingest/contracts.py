"""The extract contracts of extracts.md: one column list and one pandera schema per kind.

`type_chunk` turns a chunk of text cells into the typed frame that becomes `raw.<kind>` rows,
recording every cell it cannot read; the pandera schema then checks the typed frame (types,
blanks, value rules, row rules) with `lazy=True` so every failure of a chunk is reported.
The frame's index is the row number in the file, so a failure's index is already a row number.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ingest import identity, parsing
from ingest.extracts import (
    DAY,
    DEFAULT_ACCEPTED_DATES,
    EXTRACTS,
    INSTANT,
    MAX_TEXT_CHARS,
    TEXT,
    TS,
    AcceptedDates,
    Field,
    FieldType,
    load_funding_sources,
)
from ingest.problems import Problem

# Re-exported: callers reach the extract descriptions through the contracts they define.
__all__ = [
    "DEFAULT_ACCEPTED_DATES",
    "EXTRACTS",
    "AcceptedDates",
    "FieldType",
    "contract",
    "load_funding_sources",
    "type_chunk",
]

# The `ingest.messages` code of each parser's refusal.
PARSE_CODES: dict[FieldType, str] = {
    TS: "timestamp.invalid",
    FieldType.DATE: "date.invalid",
    FieldType.WEB_DATE: "web_date.invalid",
    FieldType.BOOLEAN: "boolean.invalid",
    FieldType.COUNT: "count.invalid",
    FieldType.MONTH: "month.invalid",
}
# pandera check name -> `ingest.messages` code (any other check: `check.failed`).
CHECK_CODES = {
    "ended_not_before_started": "time.ended_before_started",
    "known_funding_source": "funding_source.unknown",
    "not_nullable": "value.blank",
}


# --- pandera schemas ---------------------------------------------------------------------------


def _dtype(field: Field) -> object:
    match field.type:
        case FieldType.TIMESTAMP:
            return INSTANT
        case FieldType.DATE | FieldType.WEB_DATE | FieldType.MONTH:
            return DAY
        case FieldType.BOOLEAN:
            return bool
        case FieldType.COUNT:
            return "int64"
        case FieldType.MONEY:
            return object
        case _:
            return TEXT


def _is_money(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v is None or isinstance(v, Decimal)).astype(bool)


@cache
def _schema(kind: str, funding_sources: tuple[str, ...]) -> pa.DataFrameSchema:
    extract = EXTRACTS[kind]
    columns: dict[str, pa.Column] = {}
    for field in extract.fields:
        if field.column is None:
            continue
        checks: list[pa.Check] = []
        if field.type is FieldType.COUNT:
            checks.append(pa.Check.ge(0))
        if field.type is FieldType.MONEY:
            checks.append(pa.Check(_is_money, name="decimal_amount"))
        if kind == "finance" and field.name == "funding_source":
            accepted = {source.lower() for source in funding_sources}
            checks.append(
                pa.Check(
                    lambda s, accepted=accepted: s.str.lower().isin(accepted),
                    name="known_funding_source",
                )
            )
        columns[field.column] = pa.Column(
            _dtype(field), checks=checks, nullable=field.blank_ok, required=True
        )
    frame_checks: list[pa.Check] = []
    if extract.ended_not_before:
        later, earlier = extract.ended_not_before
        frame_checks.append(
            pa.Check(
                lambda df, later=later, earlier=earlier: ~(df[later] < df[earlier]),
                name="ended_not_before_started",
            )
        )
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True, ordered=False)


def contract(kind: str, funding_sources: Collection[str] = ()) -> pa.DataFrameSchema:
    """The pandera schema of a kind's typed rows (finance needs the accepted funding sources)."""
    return _schema(kind, tuple(sorted(funding_sources)))


# --- text to typed -----------------------------------------------------------------------------


def _problems(
    mask: pd.Series, text: pd.Series, column: str, code: str, params: dict[str, str] | None = None
) -> list[Problem]:
    if not mask.any():
        return []
    shared = params or {}
    return [Problem(int(row), column, value, code, shared) for row, value in text[mask].items()]


Parser = Callable[[pd.Series], tuple[pd.Series, pd.Series]]
PARSERS: dict[FieldType, Parser] = {
    TS: parsing.parse_timestamps,
    FieldType.DATE: parsing.parse_dates,
    FieldType.WEB_DATE: lambda s: parsing.parse_dates(s, compact_allowed=True),
    FieldType.BOOLEAN: parsing.parse_booleans,
    FieldType.COUNT: parsing.parse_counts,
    FieldType.MONTH: parsing.parse_months,
}


def _absent(field: Field, index: pd.Index) -> pd.Series:
    if field.type is FieldType.BOOLEAN:
        return pd.Series(False, index=index, dtype=bool)
    if field.type is TS:
        return pd.Series(pd.NaT, index=index, dtype=INSTANT)
    return pd.Series(None, index=index, dtype=TEXT)


def _outside(
    values: pd.Series, cells: pd.Series, field: Field, accepted: AcceptedDates
) -> list[Problem]:
    """One problem per read value whose date falls outside `accepted`."""
    if field.type is TS:
        # Compared as instants: converting a year-1 or year-9999 instant to Toronto time raises.
        low = pd.Timestamp(accepted.first, tz=parsing.LOCAL_TIME_ZONE)
        high = pd.Timestamp(accepted.last, tz=parsing.LOCAL_TIME_ZONE) + pd.Timedelta(days=1)
    else:
        low = pd.Timestamp(accepted.first)
        high = pd.Timestamp(accepted.last) + pd.Timedelta(days=1)
    mask = values.notna() & ((values < low) | (values >= high))
    if not mask.any():
        return []
    if field.type is TS:
        # The Toronto date, as the range is read; for an instant beyond the years time-zone
        # rules cover (converting it raises), the date as written (the pattern starts with it).
        days = cells[mask].str.slice(0, 10)
        outside = values[mask]
        zoned = (outside >= _ZONED_FROM) & (outside < _ZONED_UNTIL)
        if zoned.any():
            local = outside[zoned].dt.tz_convert(parsing.LOCAL_TIME_ZONE).dt.strftime("%Y-%m-%d")
            days = local.combine_first(days)
    else:
        stamps = values[mask].to_numpy(dtype="datetime64[us]").astype("datetime64[D]")
        days = pd.Series(np.datetime_as_string(stamps), index=values.index[mask])
    return [
        Problem(int(row), field.name, cells[row], "date.outside_range", accepted.params(day))
        for row, day in days.items()
    ]


_ZONED_FROM = pd.Timestamp("1800-01-01", tz="UTC")
_ZONED_UNTIL = pd.Timestamp("9000-01-01", tz="UTC")
DATED_TYPES = {TS, FieldType.DATE, FieldType.WEB_DATE, FieldType.MONTH}


def type_chunk(
    kind: str,
    text: pd.DataFrame,
    funding_sources: Sequence[str] = (),
    accepted_dates: AcceptedDates = DEFAULT_ACCEPTED_DATES,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Text cells -> typed raw columns (identities normalised, not yet hashed) and problems.

    A timestamp, date or period outside `accepted_dates`, or a loaded text cell longer than
    MAX_TEXT_CHARS, is a problem of its row; the value is then left out of the typed frame.
    """
    extract = EXTRACTS[kind]
    typed: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for field in extract.fields:
        column = field.column
        if column is None:
            continue
        if field.name not in text.columns:
            typed[column] = _absent(field, text.index)
            continue
        cells = text[field.name].astype(TEXT)
        blank = cells == ""
        if not field.blank_ok and blank.any():
            problems += _problems(blank, cells, field.name, "value.blank")
        if field.type not in PARSERS and field.type is not FieldType.MONEY:
            long = cells.str.len() > MAX_TEXT_CHARS
            if long.any():
                # The problem quotes the start of the cell, not megabytes of it.
                quoted = cells[long].str.slice(0, 100) + "…"
                problems += _problems(
                    long[long],
                    quoted,
                    field.name,
                    "text.too_long",
                    {"max_chars": f"{MAX_TEXT_CHARS:,}"},
                )
                cells = cells.where(~long, "")
        if field.type in PARSERS:
            values, bad = PARSERS[field.type](cells)
            problems += _problems(bad, cells, field.name, PARSE_CODES[field.type])
            if field.type in DATED_TYPES:
                outside = _outside(values, cells, field, accepted_dates)
                if outside:
                    problems += outside
                    rows = [p.row for p in outside]
                    values = values.copy()
                    values.loc[rows] = pd.NaT
        elif field.type is FieldType.MONEY:
            values, bad, reasons = parsing.parse_money(cells)
            for row, code in reasons[bad].items():
                problems.append(Problem(int(row), field.name, cells[row], code))
        elif field.type is FieldType.PHONE:
            values = identity.normalise_phones(cells)
        elif field.type is FieldType.EMAIL:
            values = identity.normalise_emails(cells)
        elif field.type is FieldType.VISITOR:
            values = identity.normalise_visitor_ids(cells)
        else:
            values = cells.where(~blank, None).astype(TEXT)
        typed[column] = values
    frame = pd.DataFrame(typed, index=text.index)
    if extract.ended_not_before:
        later, earlier = extract.ended_not_before
        frame[later] = parsing.later_reading_of_repeated_hour(
            frame[earlier], frame[later], text[later]
        )
    reported = {(p.row, p.column) for p in problems}
    problems += _schema_problems(kind, frame, text, funding_sources, reported)
    return frame, problems


def _schema_problems(
    kind: str,
    frame: pd.DataFrame,
    text: pd.DataFrame,
    funding_sources: Sequence[str],
    reported: set[tuple[int | None, str | None]],
) -> list[Problem]:
    try:
        contract(kind, funding_sources).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return []
    extract = EXTRACTS[kind]
    by_target = {f.column: f for f in extract.fields if f.column}
    problems: list[Problem] = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        column = case.column if isinstance(case.column, str) else None
        row = None if pd.isna(case.index) else int(case.index)
        if check == "ended_not_before_started" and (
            extract.ended_not_before is None or column != extract.ended_not_before[0]
        ):
            continue
        code = CHECK_CODES.get(check, "check.failed")
        params = {"check": check} if code == "check.failed" else {}
        if code == "funding_source.unknown":
            params = {"sources": ", ".join(funding_sources)}
        field = by_target.get(column) if column else None
        name = field.name if field else column
        if (row, name) in reported:
            continue
        reported.add((row, name))
        value = None
        if row is not None and name in text.columns:
            value = str(text.at[row, name])
        problems.append(Problem(row, name, value, code, params))
    return problems
