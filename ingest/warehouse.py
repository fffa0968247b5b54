"""The raw layer of the warehouse: its DDL. The only place raw tables are defined."""

from __future__ import annotations

import duckdb

from o211.calendar import fiscal_years_between

LOAD_METADATA = """
    _load_id bigint not null,
    _source_file varchar not null,
    _source_sha256 varchar not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null
"""

RAW_TABLES: dict[str, str] = {
    "calls": """
        contact_id varchar not null,
        segment_id varchar,
        started_at timestamptz not null,
        queued_at timestamptz,
        answered_at timestamptz,
        ended_at timestamptz not null,
        caller_hash varchar,
        queue varchar not null,
        disposition varchar,
        language varchar
    """,
    "chats": """
        contact_id varchar not null,
        started_at timestamptz not null,
        answered_at timestamptz,
        ended_at timestamptz not null,
        visitor_hash varchar,
        spam_flag boolean not null,
        disposition varchar,
        language varchar
    """,
    "emails": """
        contact_id varchar not null,
        received_at timestamptz not null,
        sender_hash varchar,
        spam_flag boolean not null,
        disposition varchar
    """,
    "texts": """
        contact_id varchar not null,
        started_at timestamptz not null,
        sender_hash varchar,
        spam_flag boolean not null,
        disposition varchar
    """,
    "surveys": """
        response_id varchar not null,
        channel varchar not null,
        submitted_at timestamptz not null,
        answer varchar,
        contact_id varchar
    """,
    "web": """
        date date not null,
        hostname varchar,
        sessions bigint not null
    """,
    "finance": """
        period date not null,
        account varchar not null,
        funding_source varchar not null,
        amount decimal(18, 4) not null
    """,
}

OTHER_TABLES: dict[str, str] = {
    "blocklist": "number_hash varchar not null",
    "load_log": """
        load_id bigint primary key,
        kind varchar not null,
        file_name varchar not null,
        sha256 varchar not null,
        rows bigint not null,
        loaded_at timestamptz not null,
        encoding varchar,
        extra_columns varchar,
        archive_path varchar,
        first_date date,
        last_date date
    """,
    # One row: the fingerprint of the key every hash here was made with (`ingest.pii_key`).
    "pii_key": """
        fingerprint varchar not null,
        recorded_at timestamptz not null,
        recorded_by varchar not null
    """,
}


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and tables when missing, so dbt sources always resolve."""
    con.execute("create schema if not exists raw")
    for name, columns in RAW_TABLES.items():
        con.execute(f"create table if not exists raw.{name} ({columns}, {LOAD_METADATA})")
    for name, columns in OTHER_TABLES.items():
        con.execute(f"create table if not exists raw.{name} ({columns})")


def loaded_fiscal_years(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Fiscal years the loaded files cover, from `raw.load_log` (oldest first)."""
    ensure_raw_tables(con)
    first, last = con.execute(
        "select min(first_date), max(last_date) from raw.load_log"
    ).fetchone() or (None, None)
    return fiscal_years_between(first, last) if first and last else []
