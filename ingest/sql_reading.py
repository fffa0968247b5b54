"""The fast way through a load: DuckDB reads, types, checks and hashes a CSV that is surely clean.

Most extracts are clean, and reading them through pandas chunks, pandera and Python's HMAC
costs many times DuckDB's own reader. So a CSV of the row kinds first goes through SQL here:
DuckDB's `read_csv` (every column as text, the delimiter, quote and encoding the byte scan
already settled), the contracts of `ingest.contracts` written as SQL expressions, and
HMAC-SHA256 composed from DuckDB's `sha256` on blobs.

This path never writes a problem list. It only decides whether it can *vouch* for every row: a
row is vouched for when each cell is in a form whose reading is known to be the same as the
pandas path's (`ingest.reading`, `ingest.parsing`) and the value passes the same rules. Any
doubt (a quote beside a space, a blank line, a naive time in the spring gap, a non-ASCII phone
number, a value that breaks a rule, an error from DuckDB's reader, a row count that differs from
the lines counted in the bytes) returns None, and the caller reads the file the pandas way
instead, which loads it or lists its problems exactly as before. The rows staged here are
therefore the rows that path would have staged: the same values, the same row numbers.

Row numbers: a row is vouched for only when DuckDB returned exactly one row per line after the
header (no blank line skipped, no quoted line break), so the k-th row is on line header + k,
as a person counts it. DuckDB 2's reader can also return zero rows without an error (mixed line
endings under a `skip`; stack notes): the count comparison refuses that too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest import identity, parsing, readers, staging
from ingest.extracts import (
    EXTRACTS,
    IDENTITY_TYPES,
    MAX_TEXT_CHARS,
    TS,
    AcceptedDates,
    Field,
    FieldType,
)
from ingest.file_scan import OLE_MAGIC, READ_BLOCK, ZIP_MAGIC

# The kinds read here: every field type they use has an SQL reading below. Web (counts, compact
# dates, comment lines above the header) and finance (money, months, workbooks, Windows-1252)
# are small and always go the pandas way.
SQL_KINDS = frozenset({"calls", "chats", "emails", "texts", "surveys"})
# Larger files go the pandas way, whose memory stays flat: here the text of the file is held.
MAX_BYTES = 256 * 2**20
# Rows per batch of text handed to DuckDB: it types batches in parallel.
BATCH_ROWS = 8192

# A timestamp this path reads itself: ISO 8601 with seconds and fractions optional (at most six
# digits: microseconds, as the warehouse keeps them), and a `Z` or `+hh:mm` offset or none. Any
# other form the pandas path accepts (a decimal comma, `+hh`, `+hhmm`, nanoseconds) sends the
# file there. Hours, minutes and seconds are in range: DuckDB would read hour 24 as the next
# midnight and accept offsets past 23:59, which pandas refuses.
_WALL_CLOCK = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?"
)
_NAIVE_SHAPE = _WALL_CLOCK
_OFFSET_SHAPE = f"{_WALL_CLOCK}(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
# Naive (wall-clock) times are read in SQL only within these years; the two offsets Toronto uses
# there: `toronto_years`, read by `_timestamp_instant`.
_NAIVE_FROM = "2000-01-01"
_NAIVE_UNTIL = "2100-01-01"


# Every character Python's or Arrow's strip may remove (a wide net), as an RE2 class.
_WHITESPACE_CLASS = (
    "[\\x01-\\x20\\x7f-\\xa0\\x{1680}\\x{180e}\\x{2000}-\\x{200f}\\x{2028}-\\x{202f}"
    "\\x{205f}-\\x{2064}\\x{3000}\\x{feff}]"
)
WHITESPACE_AT_AN_END = f"^{_WHITESPACE_CLASS}|{_WHITESPACE_CLASS}$"


def _sql_words(words: frozenset[str]) -> str:
    return ", ".join(f"'{word}'" for word in sorted(words))


@dataclass(frozen=True)
class LineLayout:
    """How a file's lines end, from its bytes alone."""

    lines: int  # as a CSV reader splits them: at each \n (\r\n included); a last unended line
    uniform_endings: bool  # every line ends in \n, or every line in \r\n; no lone \r
    quote_beside_space: bool  # `"` next to a space: DuckDB and pandas read that differently


def line_layout(path: Path) -> LineLayout:
    newlines = carriage_returns = crlf = 0
    quote_beside_space = False
    last = b""
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            newlines += block.count(b"\n")
            carriage_returns += block.count(b"\r")
            crlf += block.count(b"\r\n")
            joined = last + block
            if last == b"\r" and block.startswith(b"\n"):
                crlf += 1
            if not quote_beside_space and b'"' in joined:
                quote_beside_space = b' "' in joined or b'" ' in joined
            last = block[-1:]
    lines = newlines + (1 if last not in (b"", b"\n") else 0)
    uniform = carriage_returns == 0 or carriage_returns == crlf == newlines
    return LineLayout(lines, uniform, quote_beside_space)


@dataclass(frozen=True)
class CleanCsv:
    """A file typed by SQL, every row vouched for: its raw rows, ready to publish."""

    rows: pa.Table  # the raw columns and `_source_row`
    encoding: str
    extra_columns: list[str]
    first: pd.Timestamp | None  # the earliest and latest value of the kind's date field
    last: pd.Timestamp | None


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA256 pads of `key` (RFC 2104), for the SQL composition."""
    if len(key) > hashlib.sha256().block_size:
        key = hashlib.sha256(key).digest()
    key = key.ljust(hashlib.sha256().block_size, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def read_clean_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    scan: readers.ByteScan,
    pii_key: bytes,
    chunk_rows: int,
    accepted_dates: AcceptedDates,
) -> CleanCsv | None:
    """The file's raw rows, typed `chunk_rows` at a time (`staging.stage_rows`), when SQL can
    vouch for every one.

    None: the file is not one this path reads, or some row is in doubt; the pandas path then
    reads the file its own way. `con` only computes (it may be a cursor of another thread):
    nothing is written to the warehouse here.
    """
    extract = EXTRACTS[kind]
    if kind not in SQL_KINDS or path.suffix.lower() != ".csv" or not 0 < scan.size <= MAX_BYTES:
        return None
    if not scan.utf8 or scan.has_nul or scan.head.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return None
    try:
        encoding, header = readers.read_csv_header(path, scan, extract.known, extract.required)
    except readers.FileRejected:
        return None
    layout = line_layout(path)
    expected_rows = layout.lines - header.row
    if not layout.uniform_endings or layout.quote_beside_space or expected_rows <= 0:
        return None
    try:
        text = _text_rows(con, path, header.row, header.width)
        if text.num_rows != expected_rows:
            return None
        query = _typed_query(kind, header.positions, header.row + 1)
        params = _query_params(pii_key, accepted_dates)
        typed: list[pa.Table] = []
        for start in range(0, text.num_rows, chunk_rows):
            staging.stage_rows(con, kind, text.slice(start, chunk_rows), query, params, typed)
        rows = pa.concat_tables(typed)
    except duckdb.FatalException:
        raise
    except duckdb.Error:
        # The reader refused the file (a ragged row, a stray quote): the pandas path says why.
        return None
    if pc.any(rows.column("_doubt")).as_py():
        return None
    dates = rows.column(extract.date_field)
    return CleanCsv(
        rows=rows.drop_columns(["_doubt"]),
        encoding=encoding,
        extra_columns=header.extra_columns,
        first=_timestamp(pc.min(dates).as_py()),
        last=_timestamp(pc.max(dates).as_py()),
    )


def _timestamp(value: datetime | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def _text_rows(con: duckdb.DuckDBPyConnection, path: Path, skip: int, width: int) -> pa.Table:
    """Every cell after the header as DuckDB's reader returns it (text; NULL for blank), and
    `_row`: the row's place among the data rows, from 0.

    A plain scan keeps the file's order in its result (`preserve_insertion_order`), so `_row` is
    numbered here, before any operator that may reorder rows; the batches are small so that
    DuckDB types them on every thread.
    """
    text = con.sql(
        "select * from read_csv($path, columns = $columns, header = false, skip = $skip, "
        "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', auto_detect = false, "
        "strict_mode = true)",
        params={
            "path": str(path),
            "columns": {f"c{i}": "VARCHAR" for i in range(width)},
            "skip": skip,
        },
    ).to_arrow_table()
    rows = pa.array(np.arange(text.num_rows, dtype=np.int64))
    text = text.append_column("_row", rows)
    return pa.Table.from_batches(text.to_batches(max_chunksize=BATCH_ROWS), schema=text.schema)


def _query_params(pii_key: bytes, accepted_dates: AcceptedDates) -> dict[str, object]:
    ipad, opad = hmac_pads(pii_key)
    low, high = _instant_bounds(accepted_dates)
    years = toronto_years()
    never = [datetime(1, 1, 1)]
    return {
        "ipad": ipad,
        "opad": opad,
        "low": low,
        "high": high,
        "toronto_known": years is not None,
        "gap_from": years.gap_from if years else never,
        "gap_until": years.gap_until if years else never,
        "fold_from": years.fold_from if years else never,
        "fold_until": years.fold_until if years else never,
        "winter_minutes": years.winter_minutes if years else 0,
        "summer_minutes": years.summer_minutes if years else 0,
    }


def _instant_bounds(accepted: AcceptedDates) -> tuple[datetime, datetime]:
    """The accepted dates as instants, exactly as `contracts._outside` compares timestamps."""
    low = pd.Timestamp(accepted.first, tz=parsing.LOCAL_TIME_ZONE)
    high = pd.Timestamp(accepted.last, tz=parsing.LOCAL_TIME_ZONE) + pd.Timedelta(days=1)
    return low.to_pydatetime(), high.to_pydatetime()


# --- Toronto wall-clock time ------------------------------------------------------------------


@dataclass(frozen=True)
class TorontoYears:
    """The clock changes of America/Toronto for each year read here, as pandas knows them.

    Per year (lists indexed from `_NAIVE_FROM`'s year): the spring gap `[gap_from, gap_until)`
    and the autumn's repeated hour `[fold_from, fold_until)`, in wall-clock time; outside them
    a wall-clock time is winter time before the gap and after the fold, summer time between.
    """

    gap_from: list[datetime]
    gap_until: list[datetime]
    fold_from: list[datetime]
    fold_until: list[datetime]
    winter_minutes: int  # minutes to add to a winter wall-clock time to reach UTC
    summer_minutes: int


@cache
def toronto_years() -> TorontoYears | None:
    """From pandas' own time-zone rules (those `parsing.parse_timestamps` uses); None if they
    are not one spring and one autumn change a year between two offsets (then naive times are
    never read here)."""
    first_year, end_year = int(_NAIVE_FROM[:4]), int(_NAIVE_UNTIL[:4])
    hours = pd.date_range(_NAIVE_FROM, _NAIVE_UNTIL, freq="h", tz="UTC", inclusive="left")
    local = hours.tz_convert(parsing.LOCAL_TIME_ZONE).tz_localize(None)
    offsets = pd.Series((local - hours.tz_localize(None)).to_numpy())
    changes = offsets.index[offsets.ne(offsets.shift())][1:]
    if offsets.nunique() != 2 or len(changes) != 2 * (end_year - first_year):
        return None
    winter, summer = sorted(offsets.unique())  # the smaller UTC offset is winter time
    minute = pd.Timedelta(minutes=1)
    years = TorontoYears([], [], [], [], -int(winter // minute), -int(summer // minute))
    for spring, autumn in zip(changes[::2], changes[1::2], strict=True):
        year = first_year + len(years.gap_from)
        if not (offsets[spring - 1] == winter and offsets[spring] == summer):
            return None
        if offsets[autumn] != winter or not hours[spring].year == hours[autumn].year == year:
            return None
        change, back = hours[spring].tz_localize(None), hours[autumn].tz_localize(None)
        years.gap_from.append((change + winter).to_pydatetime())
        years.gap_until.append((change + summer).to_pydatetime())
        years.fold_from.append((back + winter).to_pydatetime())
        years.fold_until.append((back + summer).to_pydatetime())
    return years


# --- the contracts as SQL ----------------------------------------------------------------------
# Nested selects over a chunk of text rows: (1) each present field's cell, trimmed of spaces;
# (2) each timestamp's shape; (3) its wall-clock time or instant as written; (4) its instant;
# (5) the end time re-read in the repeated hour; (6) identities normalised; (7) the typed and
# hashed columns, and `_doubt`: true when any cell of the row is in doubt or breaks a rule.


def _typed_query(kind: str, positions: dict[str, int], first_line: int) -> str:
    extract = EXTRACTS[kind]
    present = [f for f in extract.fields if f.column and f.name in positions]
    stamps = [f.name for f in present if f.type is TS]
    # Timestamps and booleans are read untrimmed: with a space at an end they are in doubt.
    cells = ", ".join(
        f"coalesce(c{positions[f.name]}, '') as v_{f.name}"
        if f.type in (TS, FieldType.BOOLEAN)
        else f"trim(coalesce(c{positions[f.name]}, '')) as v_{f.name}"
        for f in present
    )
    query = f"select _row, {cells} from {staging.TEXT_ROWS}"
    for level in (_timestamp_shape, _timestamp_parts, _timestamp_instant):
        if stamps:
            added = ", ".join(column for name in stamps for column in level(name))
            query = f"select *, {added} from ({query})"
    for field in present:
        if field.type in IDENTITY_TYPES:
            for step in _normalised(field):
                query = f"select *, {step} from ({query})"
    ended = extract.ended_not_before
    finals = {name: f"t_{name}" for name in stamps}
    if ended and ended[0] in stamps and ended[1] in stamps:
        query = f"select *, {_ended(*ended)} as u_{ended[0]} from ({query})"
        finals[ended[0]] = f"u_{ended[0]}"
    values: list[str] = []
    doubts: list[str] = []
    for field in extract.fields:
        if not field.column:
            continue
        if field.name not in positions:
            values.append(f"{_absent(field)} as {field.column}")
            continue
        value, field_doubts = _typed(field, finals.get(field.name))
        values.append(f"{value} as {field.column}")
        doubts += field_doubts
    if ended and ended[0] in stamps and ended[1] in stamps:
        doubts.append(f"{finals[ended[0]]} < {finals[ended[1]]}")
    doubt = " or ".join(f"coalesce({d}, false)" for d in doubts) or "false"
    return (
        f"select {', '.join(values)}, _row + {first_line} as _source_row, ({doubt}) as _doubt "
        f"from ({query})"
    )


def _absent(field: Field) -> str:
    if field.type is FieldType.BOOLEAN:
        return "false"
    if field.type is TS:
        return "null::timestamptz"
    return "null::varchar"


def _timestamp_shape(name: str) -> list[str]:
    """Whether a cell is a naive time (`n_`) or a time with an offset (`o_`) in a form read
    here; a cell that is neither is in doubt unless blank."""
    v = f"v_{name}"
    return [
        f"regexp_full_match({v}, '{_NAIVE_SHAPE}') as n_{name}",
        f"regexp_full_match({v}, '{_OFFSET_SHAPE}') as o_{name}",
    ]


def _timestamp_parts(name: str) -> list[str]:
    """The time written: `w_` the wall-clock time of a naive cell, `a_` the instant of a cell
    with an offset (NULL for an impossible date, such as 2025-02-29)."""
    v = f"v_{name}"
    return [
        f"case when n_{name} then try_cast({v} as timestamp) end as w_{name}",
        f"case when o_{name} then try_cast({v} as timestamptz) end as a_{name}",
    ]


def _year(name: str) -> str:
    """The 1-based index of a wall-clock time's year in the `TorontoYears` lists."""
    return f"(year(w_{name}) - {int(_NAIVE_FROM[:4]) - 1})"


def _timestamp_instant(name: str) -> list[str]:
    """The instant as `parsing.parse_timestamps` reads the cell: with an offset, exact; naive,
    America/Toronto, the first reading of a repeated hour. NULL for a naive time in the spring
    gap or outside the years read here: the row is then in doubt."""
    w, k = f"w_{name}", _year(name)
    naive_read = (
        f"$toronto_known and {w} >= timestamp '{_NAIVE_FROM}' and {w} < timestamp '{_NAIVE_UNTIL}'"
    )
    return [
        f"case when o_{name} then a_{name} "
        f"when not ({naive_read}) then null "
        f"when {w} < list_extract($gap_from, {k}) "
        f"then timezone('UTC', {w} + to_minutes($winter_minutes)) "
        f"when {w} < list_extract($gap_until, {k}) then null "
        f"when {w} < list_extract($fold_until, {k}) "
        f"then timezone('UTC', {w} + to_minutes($summer_minutes)) "
        f"else timezone('UTC', {w} + to_minutes($winter_minutes)) end as t_{name}"
    ]


def _ended(later: str, earlier: str) -> str:
    """The end time after `parsing.later_reading_of_repeated_hour`: an end that would precede
    its start is read as the second (winter) reading when its naive time is in the fold."""
    w, k = f"w_{later}", _year(later)
    return (
        f"case when t_{later} < t_{earlier} and not o_{later} "
        f"and {w} >= list_extract($fold_from, {k}) and {w} < list_extract($fold_until, {k}) "
        f"then timezone('UTC', {w} + to_minutes($winter_minutes)) else t_{later} end"
    )


def _typed(field: Field, instant: str | None) -> tuple[str, list[str]]:
    """A field's typed column and the conditions that put its row in doubt."""
    v = f"v_{field.name}"
    doubts: list[str] = []
    if not field.blank_ok:
        doubts.append(f"{v} = ''")
    if field.type is TS and instant is not None:
        doubts.append(f"({v} <> '' and {instant} is null)")
        doubts.append(f"({instant} < $low or {instant} >= $high)")
        return f"case when {v} <> '' then {instant} end", doubts
    if field.type is FieldType.BOOLEAN:
        words = _sql_words(parsing.TRUE_WORDS | parsing.FALSE_WORDS)
        doubts.append(f"lower({v}) not in ({words})")
        return f"lower({v}) in ({_sql_words(parsing.TRUE_WORDS)})", doubts
    if field.type in (FieldType.TEXT, FieldType.PHONE, FieldType.EMAIL, FieldType.VISITOR):
        # Python's strip (the pandas path) removes more than spaces: any such character left at
        # an end by DuckDB's trim puts the row in doubt, as does a cell past the length limit.
        doubts.append(f"regexp_matches({v}, '{WHITESPACE_AT_AN_END}')")
        doubts.append(f"length({v}) > {MAX_TEXT_CHARS}")
        if field.type is FieldType.TEXT:
            return f"nullif({v}, '')", doubts
        if field.type in (FieldType.PHONE, FieldType.EMAIL):
            # Lower-casing and `\D` agree between Python, Arrow and DuckDB on ASCII only.
            doubts.append(f"strlen({v}) <> length({v})")
        return _hashed(f"n_{field.name}"), doubts
    raise ValueError(f"no SQL reading for {field.type}")  # kept out by SQL_KINDS


def _normalised(field: Field) -> list[str]:
    """`identity.normalise_*` in SQL: the levels that make `n_<name>`."""
    v, name = f"v_{field.name}", field.name
    if field.type is FieldType.PHONE:
        digits = f"d_{name}"
        national = (
            f"case when length({digits}) = 11 and starts_with({digits}, '1') "
            f"then substr({digits}, 2) else {digits} end"
        )
        withheld = _sql_words(identity.WITHHELD_WORDS)
        return [
            f"regexp_replace({v}, '[^0-9]', '', 'g') as {digits}",
            f"{national} as p_{name}",
            f"case when lower({v}) in ({withheld}) or length(p_{name}) < "
            f"{identity.MIN_PHONE_DIGITS} then null else p_{name} end as n_{name}",
        ]
    if field.type is FieldType.EMAIL:
        return [f"nullif(lower({v}), '') as n_{name}"]
    return [f"nullif({v}, '') as n_{name}"]


def _hashed(normalised: str) -> str:
    """HMAC-SHA256 as lower-case hex (`identity.hash_identities`), from two SHA-256 passes."""
    return (
        f"case when {normalised} is not null then "
        f"sha256($opad || unhex(sha256($ipad || encode({normalised})))) end"
    )
