"""Read the marts the report needs into plain dataclasses.

This is the only module of `exports` that knows mart table and column names
(docs/architecture.md, "Marts"), so a renamed column is a one-line fix here. The warehouse is
opened read-only, read in one go and closed before any file is written (stack notes: a reader
holding the file makes `dbt build` fail).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from exports.report_data import (
    OUTCOMES,
    Coverage,
    MonthlyValue,
    OutcomeAudit,
    QualityNote,
    ReportData,
    ReportDataMissing,
    RuleSetting,
    ScheduleRow,
    SourceFile,
    Stage,
)
from o211.kinds import KINDS
from o211.warehouse import connect

_SCHEDULE_SQL = """
    select fiscal_year, stage, stage_kind, period_start, period_end, element_order, element,
           definition, unit, value, numerator, denominator,
           q1_value, q2_value, q3_value, q4_value, basis, rules_fingerprint
    from marts.service_data_schedule
    where fiscal_year = ? and stage = ?
    order by element_order
"""
_STAGES_SQL = """
    select distinct fiscal_year, stage, stage_kind, period_start, period_end
    from marts.service_data_schedule
    order by fiscal_year, period_end, stage
"""
_FISCAL_YEARS_SQL = "select distinct fiscal_year from marts.service_data_schedule"
_MONTHLY_SQL = """
    select month_start, element_order, element, value, numerator, denominator
    from marts.monthly_elements
    where fiscal_year = ? and month_start between ? and ?
    order by element_order, month_start
"""
_AUDIT_SQL = f"""
    select channel, seen, {", ".join(OUTCOMES)}, balance_ok
    from marts.outcome_audit
    where fiscal_year = ? and stage = ?
"""
_COVERAGE_SQL = "select channel, first_date, last_date from marts.channel_coverage order by channel"
_NOTES_SQL = """
    select category, channel, item, count, amount, detail
    from marts.data_quality_notes
    where fiscal_year = ? and stage = ?
    order by category, channel nulls first, item
"""
_SOURCES_SQL = """
    select kind, file_name, sha256, rows, loaded_at, first_date, last_date, fiscal_years
    from marts.report_sources
    order by kind, loaded_at, file_name
"""
_RULES_SQL = "select name, value, source from marts.rules_config order by source, name"
_FINGERPRINT_SQL = "select fingerprint from marts.rules_fingerprint"

# The order channels are shown in wherever the report lists them: the kinds' own order.
CHANNEL_ORDER = KINDS


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _fiscal_years(value: Any) -> set[str]:
    """`report_sources.fiscal_years` may be a list or a delimited string: accept both."""
    if value is None:
        return set()
    if isinstance(value, list | tuple):
        return {str(item).strip() for item in value if item is not None}
    return {part for part in re.split(r"[\s,;|]+", str(value)) if part}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def _channel_key(channel: str | None) -> tuple[int, str]:
    name = channel or ""
    position = CHANNEL_ORDER.index(name) if name in CHANNEL_ORDER else len(CHANNEL_ORDER)
    return (position, name)


@contextmanager
def _marts(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A brief read-only connection; a missing warehouse or mart gets a message saying why."""
    if not warehouse.exists():
        raise ReportDataMissing(
            f"there is no warehouse at {warehouse}: load the extracts and build the marts first"
            " (`o211 ingest`, then `o211 build`)"
        )
    with connect(warehouse, read_only=True) as con:
        try:
            yield con
        except duckdb.CatalogException as error:
            raise ReportDataMissing(
                f"the warehouse {warehouse} lacks a mart the report reads ({error});"
                " run `o211 build` to create the marts"
            ) from error


def read_report_data(warehouse: Path, fiscal_year: str, stage: str) -> ReportData:
    """Read one report's marts into memory; the connection is closed on return."""
    with _marts(warehouse) as con:
        return _read(con, fiscal_year, stage)


def read_all_report_data(warehouse: Path, ended_before: date | None = None) -> list[ReportData]:
    """Every stage's data (those ending before `ended_before` when given), one connection."""
    with _marts(warehouse) as con:
        stages = [
            Stage(str(fy), str(st), str(kind), start, end)
            for fy, st, kind, start, end in _rows(con, _STAGES_SQL)
        ]
        return [
            _read(con, s.fiscal_year, s.stage)
            for s in stages
            if ended_before is None or s.period_end < ended_before
        ]


def scheduled_fiscal_years(warehouse: Path) -> set[str]:
    """The fiscal years the Service Data Schedule mart holds (those with data that counts)."""
    with _marts(warehouse) as con:
        return {str(row[0]) for row in _rows(con, _FISCAL_YEARS_SQL)}


def _read(con: duckdb.DuckDBPyConnection, fiscal_year: str, stage: str) -> ReportData:
    rows = _rows(con, _SCHEDULE_SQL, fiscal_year, stage)
    if not rows:
        raise ReportDataMissing(
            f"the marts hold no Service Data Schedule for fiscal year {fiscal_year} stage {stage}:"
            " check the fiscal year label (e.g. 2025-26) and that the stage is enabled in the"
            " reporting_stages seed, then run `o211 build`"
        )
    first = rows[0]
    the_stage = Stage(str(first[0]), str(first[1]), str(first[2]), first[3], first[4])
    schedule = [
        ScheduleRow(
            element_order=int(r[5]),
            element=str(r[6]),
            definition=str(r[7]),
            unit=str(r[8]),
            value=_decimal(r[9]),
            numerator=_int(r[10]),
            denominator=_int(r[11]),
            quarters=(_decimal(r[12]), _decimal(r[13]), _decimal(r[14]), _decimal(r[15])),
            basis=_text(r[16]),
        )
        for r in rows
    ]
    fingerprints = {str(r[17]) for r in rows if r[17] is not None}
    monthly = [
        MonthlyValue(r[0], int(r[1]), str(r[2]), _decimal(r[3]), _int(r[4]), _int(r[5]))
        for r in _rows(con, _MONTHLY_SQL, fiscal_year, the_stage.period_start, the_stage.period_end)
    ]
    audit = sorted(
        (
            OutcomeAudit(
                channel=str(r[0]),
                seen=int(r[1]),
                outcomes={name: _int(v) for name, v in zip(OUTCOMES, r[2:-1], strict=True)},
                balance_ok=None if r[-1] is None else bool(r[-1]),
            )
            for r in _rows(con, _AUDIT_SQL, fiscal_year, stage)
        ),
        key=lambda a: _channel_key(a.channel),
    )
    coverage = sorted(
        (Coverage(str(r[0]), r[1], r[2]) for r in _rows(con, _COVERAGE_SQL)),
        key=lambda c: _channel_key(c.channel),
    )
    notes = [
        QualityNote(str(r[0]), _text(r[1]), _text(r[2]), _int(r[3]), _decimal(r[4]), _text(r[5]))
        for r in _rows(con, _NOTES_SQL, fiscal_year, stage)
    ]
    sources = [
        SourceFile(str(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4], r[5], r[6])
        for r in _rows(con, _SOURCES_SQL)
        if fiscal_year in _fiscal_years(r[7])
        # A file that starts after the stage's end did not feed this stage's figures.
        and (r[5] is None or r[5] <= the_stage.period_end)
    ]
    sources.sort(key=lambda s: (_channel_key(s.kind), s.file_name, s.sha256))
    rules = [
        RuleSetting(str(r[0]), "" if r[1] is None else str(r[1]), str(r[2]))
        for r in _rows(con, _RULES_SQL)
    ]
    mart_fingerprint = _rows(con, _FINGERPRINT_SQL)
    if mart_fingerprint:
        fingerprints.add(str(mart_fingerprint[0][0]))
    if not fingerprints:
        raise ReportDataMissing("marts.rules_fingerprint is empty: run `o211 build`")
    if len(fingerprints) != 1:
        raise ValueError(
            f"the marts disagree on the rules fingerprint ({sorted(fingerprints)}): the schedule"
            " and rules_fingerprint were built with different configurations; run `o211 build`"
        )
    return ReportData(
        stage=the_stage,
        schedule=schedule,
        monthly=monthly,
        audit=audit,
        coverage=coverage,
        notes=notes,
        sources=sources,
        rules=rules,
        rules_fingerprint=fingerprints.pop(),
    )
