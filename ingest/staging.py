"""The scratch table a file's checked rows wait in, and their copy into `raw.<kind>`.

Chunks land in `ingest_staging.<kind>`, each committed on its own, so that DuckDB can write them
out instead of holding a whole file's rows in one open transaction: memory stays flat with file
size. Nothing else reads that schema; a copy left by a crash is replaced at the next load.

Rows typed by SQL (`ingest.sql_reading`, files under its size limit) wait in memory instead, as
Arrow tables (`stage_rows`): nothing is written before the load's own transaction.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd
import pyarrow as pa

from ingest import identity, parsing
from ingest.extracts import EXTRACTS, IDENTITY_TYPES, FieldType

STAGING_SCHEMA = "ingest_staging"
# The names a chunk of text rows is registered under while `stage_rows` types it, and a file's
# typed rows while `publish` copies them.
TEXT_ROWS = "ingest_text_rows"
TYPED_ROWS = "ingest_typed_rows"


def _select_list(kind: str) -> str:
    expressions = []
    for spec in EXTRACTS[kind].fields:
        column = spec.column
        if column is None:
            continue
        if spec.type in (FieldType.DATE, FieldType.WEB_DATE, FieldType.MONTH):
            expressions.append(f"cast({column} as date)")
        elif spec.type is FieldType.MONEY:
            expressions.append(f"cast({column} as decimal(18, 4))")
        else:
            expressions.append(column)
    return ", ".join(expressions)


def hash_identities(kind: str, frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Replace the kind's identity columns (callers, senders, visitors) by their HMAC."""
    for spec in EXTRACTS[kind].fields:
        if spec.type in IDENTITY_TYPES and spec.column:
            frame[spec.column] = identity.hash_identities(frame[spec.column], key)
    return frame


def staging_table(kind: str) -> str:
    return f"{STAGING_SCHEMA}.{kind}"


def create_staging(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """An empty scratch table with the raw columns and the row number, outside `raw`."""
    columns = ", ".join(EXTRACTS[kind].columns)
    con.execute(f"create schema if not exists {STAGING_SCHEMA}")
    con.execute(
        f"create or replace table {staging_table(kind)} as "
        f"select {columns}, _source_row from raw.{kind} limit 0"
    )


def drop_staging(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    con.execute(f"drop table if exists {staging_table(kind)}")


def stage(con: duckdb.DuckDBPyConnection, kind: str, frame: pd.DataFrame) -> None:
    """Append one typed, hashed chunk to the staging table (bulk, through a registered frame)."""
    extract = EXTRACTS[kind]
    money = [s.column for s in extract.fields if s.type is FieldType.MONEY and s.column]
    for column in money:
        frame[column] = frame[column].map(lambda amount: None if amount is None else str(amount))
    frame = frame.assign(_source_row=frame.index.to_numpy(dtype="int64"))
    con.register("ingest_chunk", frame)
    try:
        columns = ", ".join(extract.columns)
        con.execute(
            f"insert into {staging_table(kind)} ({columns}, _source_row) "
            f"select {_select_list(kind)}, _source_row from ingest_chunk"
        )
    finally:
        con.unregister("ingest_chunk")


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    rows: pa.Table,
    query: str,
    params: dict[str, object],
    staged: list[pa.Table],
) -> None:
    """Type one chunk of a file's text rows in SQL (`ingest.sql_reading`) and append the result
    to `staged`, the file's rows so far, held in memory until `publish`.

    `query` reads the chunk as `TEXT_ROWS` and yields the raw columns of `kind`, `_source_row`
    and `_doubt`.
    """
    used = {name: value for name, value in params.items() if f"${name}" in query}
    con.register(TEXT_ROWS, rows)
    try:
        staged.append(con.sql(query, params=used).to_arrow_table())
    finally:
        con.unregister(TEXT_ROWS)


def publish(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    load_id: int,
    file_name: str,
    sha256: str,
    loaded_at: datetime,
    *,
    rows: pa.Table | None = None,
) -> None:
    """Copy the staged rows into `raw.<kind>` with the load's metadata (inside its transaction).

    `rows`: the rows `stage_rows` typed, instead of the staging table's.
    """
    columns = ", ".join(EXTRACTS[kind].columns)
    source = TYPED_ROWS if rows is not None else staging_table(kind)
    if rows is not None:
        con.register(TYPED_ROWS, rows)
    try:
        con.execute(
            f"insert into raw.{kind} ({columns}, _load_id, _source_file, _source_sha256, "
            f"_source_row, _loaded_at) select {columns}, ?, ?, ?, _source_row, ? from {source}",
            [load_id, file_name, sha256, loaded_at],
        )
    finally:
        if rows is not None:
            con.unregister(TYPED_ROWS)


class DateRange:
    """The local (America/Toronto) dates a file covers, folded chunk by chunk."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.column = EXTRACTS[kind].date_field
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None

    def add(self, frame: pd.DataFrame) -> None:
        values = frame[self.column].dropna()
        if values.empty:
            return
        self.add_range(values.min(), values.max())

    def add_range(self, low: pd.Timestamp, high: pd.Timestamp) -> None:
        self.first = low if self.first is None else min(self.first, low)
        self.last = high if self.last is None else max(self.last, high)

    def dates(self) -> tuple[date | None, date | None]:
        if self.first is None or self.last is None:
            return None, None
        if self.first.tzinfo is not None:
            return (
                self.first.tz_convert(parsing.LOCAL_TIME_ZONE).date(),
                self.last.tz_convert(parsing.LOCAL_TIME_ZONE).date(),
            )
        last = self.last.date()
        if self.kind == "finance":  # a period is a whole month
            last = (self.last + pd.offsets.MonthEnd(0)).date()
        return self.first.date(), last
