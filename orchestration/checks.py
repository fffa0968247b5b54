"""Checks on the marts that a data team watches: outcome balance and completeness per channel.

Both open the warehouse read-only and briefly, inside the warehouse pool, after dbt finished.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import dagster as dg

from exports.report_data import OUTCOMES
from orchestration.resources import Warehouse
from orchestration.settings import WAREHOUSE_POOL

OUTCOME_AUDIT = dg.AssetKey(["marts", "outcome_audit"])
COMPLETENESS_GAPS = dg.AssetKey(["marts", "completeness_gaps"])
CONTACT_CHANNELS = ("calls", "chats", "emails", "texts")
COMPLETENESS_CHANNELS = ("calls", "chats", "emails", "texts", "web")
DATES_SHOWN = 5


def balance_problems(channel: str, rows: Sequence[tuple], unassigned: int) -> list[str]:
    """Periods where contacts seen differ from the sum of the outcomes (rules.md balance).

    `rows`: (fiscal_year, stage, seen, *OUTCOMES counts) from marts.outcome_audit.
    `unassigned`: contacts of the channel's fact table with no outcome at all.
    """
    problems = []
    for fiscal_year, stage, seen, *counts in rows:
        total = sum(int(c or 0) for c in counts)
        if int(seen or 0) != total:
            problems.append(
                f"{fiscal_year} {stage}: {int(seen or 0):,} {channel} seen but the outcomes add up "
                f"to {total:,} (difference {int(seen or 0) - total:+,})"
            )
    if unassigned:
        problems.append(f"{unassigned:,} {channel} in marts.fct_{channel} have no outcome")
    return problems


def gap_summary(channel: str, days: Sequence[tuple[str, date]]) -> str:
    """'2025-26: 3 days (2025-05-01, ...)' for the days a channel has no data."""
    by_year: dict[str, list[date]] = defaultdict(list)
    for fiscal_year, day in days:
        by_year[fiscal_year].append(day)
    parts = []
    for fiscal_year, missing in sorted(by_year.items()):
        missing.sort()
        shown = ", ".join(d.isoformat() for d in missing[:DATES_SHOWN])
        more = f" and {len(missing) - DATES_SHOWN} more" if len(missing) > DATES_SHOWN else ""
        parts.append(f"{fiscal_year}: {len(missing)} day(s) without {channel} data ({shown}{more})")
    return "; ".join(parts)


def build_outcome_balance_check(channel: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=OUTCOME_AUDIT,
        name=f"outcome_balance_{channel}",
        pool=WAREHOUSE_POOL,
        description=(
            f"Every {channel} contact ends in exactly one outcome: seen = counted + abandoned + "
            "each exclusion, for every fiscal year and stage."
        ),
    )
    def outcome_balance(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            rows = con.execute(
                f"select fiscal_year, stage, seen, {', '.join(OUTCOMES)} "
                "from marts.outcome_audit where channel = ? order by fiscal_year, stage",
                [channel],
            ).fetchall()
            (unassigned,) = con.execute(
                f"select count(*) from marts.fct_{channel} where outcome is null"
            ).fetchone() or (0,)
        problems = balance_problems(channel, rows, int(unassigned))
        if not problems:
            return dg.AssetCheckResult(
                passed=True, description=f"{channel}: outcomes balance in {len(rows)} period(s)."
            )
        return dg.AssetCheckResult(
            passed=False,
            description=(
                "; ".join(problems) + f". Look at marts.fct_{channel} for contacts whose outcome "
                "is missing or doubled, and at the precedence model int_"
                f"{channel}__outcomes (o211 explain --channel {channel} CONTACT_ID)."
            ),
            metadata={"problems": dg.MetadataValue.json(problems)},
        )

    return outcome_balance


def build_completeness_check(channel: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=COMPLETENESS_GAPS,
        name=f"completeness_{channel}",
        pool=WAREHOUSE_POOL,
        description=f"Warns when a day of a fiscal year has no {channel} data at all.",
    )
    def completeness(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            days = con.execute(
                "select fiscal_year, missing_date from marts.completeness_gaps "
                "where channel = ? order by missing_date",
                [channel],
            ).fetchall()
        if not days:
            return dg.AssetCheckResult(passed=True, description=f"{channel}: no day without data.")
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                gap_summary(channel, days) + f". Look in inbox/{channel}, rejected/{channel} and "
                f"archive/{channel} for the extracts of those days, or ask the source system "
                "to re-deliver them."
            ),
            metadata={"missing_days": len(days)},
        )

    return completeness


def build_mart_checks() -> list[dg.AssetChecksDefinition]:
    return [build_outcome_balance_check(c) for c in CONTACT_CHANNELS] + [
        build_completeness_check(c) for c in COMPLETENESS_CHANNELS
    ]
