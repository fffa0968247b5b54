"""The ministry report: one partition per fiscal year x stage (e.g. `2025-26|Q2`).

Materializing a partition writes the workbook and CSV of that stage into `outbox/<FY>/` (or
writes nothing new when the figures and inputs are unchanged) and checks that the CSV it leaves
equals `marts.service_data_schedule`.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.partitions import parse_report_partition, report_partitions
from orchestration.resources import Warehouse
from orchestration.settings import WAREHOUSE_POOL
from orchestration.translator import SCHEDULE_MART

REPORT_KEY = dg.AssetKey(["reports", "service_data_schedule"])
REPORTS_GROUP = "reports"
EQUALS_WAREHOUSE_CHECK = "report_equals_warehouse"
# The marts exports reads (docs/architecture.md): the report is downstream of all of them.
REPORT_MARTS = (
    "service_data_schedule",
    "monthly_elements",
    "outcome_audit",
    "channel_coverage",
    "data_quality_notes",
    "report_sources",
    "rules_config",
)


@dataclass(frozen=True)
class Figure:
    """One element of a report as written or as held by the warehouse."""

    element_order: int
    element: str
    unit: str
    value: Decimal | None
    numerator: int | None
    denominator: int | None


def _decimal(text: Any) -> Decimal | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        return Decimal(str(text).strip())
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not a number") from error


def _integer(text: Any) -> int | None:
    number = _decimal(text)
    return None if number is None else int(number)


def read_report_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def compare_report(csv_rows: Sequence[dict[str, str]], warehouse: Sequence[Figure]) -> list[str]:
    """Every difference between a written report CSV and the warehouse's figures, in words."""
    written = {int(row["element_order"]): row for row in csv_rows}
    differences = []
    for figure in warehouse:
        row = written.pop(figure.element_order, None)
        if row is None:
            differences.append(f"{figure.element}: missing from the CSV")
            continue
        if row["element"] != figure.element:
            differences.append(f"element {figure.element_order}: CSV names {row['element']!r}")
        value = _decimal(row["value"])
        # The warehouse already holds each figure at report precision: they must match exactly.
        if value != figure.value:
            differences.append(f"{figure.element}: CSV {value}, warehouse {figure.value}")
        if figure.unit == "percent":
            for part in ("numerator", "denominator"):
                if _integer(row[part]) != getattr(figure, part):
                    differences.append(
                        f"{figure.element} {part}: CSV {row[part] or 'blank'}, "
                        f"warehouse {getattr(figure, part)}"
                    )
    differences.extend(
        f"{row['element']}: in the CSV but not the warehouse" for row in written.values()
    )
    return differences


def warehouse_figures(warehouse: Warehouse, fiscal_year: str, stage: str) -> list[Figure]:
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            """
            select element_order, element, unit, value, numerator, denominator
            from marts.service_data_schedule
            where fiscal_year = ? and stage = ?
            order by element_order
            """,
            [fiscal_year, stage],
        ).fetchall()
    return [
        Figure(int(o), str(e), str(u), _decimal(v), _integer(n), _integer(d))
        for o, e, u, v, n, d in rows
    ]


def equals_warehouse_check(csv_path: Path, figures: Sequence[Figure]) -> dg.AssetCheckResult:
    differences = (
        compare_report(read_report_csv(csv_path), figures)
        if figures
        else ["the warehouse holds no figures for this stage"]
    )
    if not differences:
        return dg.AssetCheckResult(
            check_name=EQUALS_WAREHOUSE_CHECK,
            passed=True,
            description=(
                f"{csv_path.name} equals marts.service_data_schedule ({len(figures)} elements)."
            ),
        )
    return dg.AssetCheckResult(
        check_name=EQUALS_WAREHOUSE_CHECK,
        passed=False,
        description=(
            f"{csv_path.name} differs from marts.service_data_schedule: "
            + "; ".join(differences[:10])
            + ". Rebuild (o211 build) and write the report again (o211 report); if it persists, "
            "compare exports/ with the mart."
        ),
        metadata={"differences": dg.MetadataValue.json(differences)},
    )


def report_metadata(result: Any) -> dict[str, Any]:
    """Path, version, status and the ten figures of an `exports.report.ReportResult`."""
    metadata: dict[str, Any] = {
        "status": result.status,
        "version": result.version,
        "workbook": dg.MetadataValue.path(str(result.xlsx_path)),
        "csv": dg.MetadataValue.path(str(result.csv_path)),
        "reason": result.reason,
        "inputs_fingerprint": result.fingerprint,
        "figures_fingerprint": result.figures_fingerprint,
    }
    for element, value in result.figures.items():
        metadata[element] = dg.MetadataValue.text("" if value is None else f"{value:f}")
    return metadata


@dg.asset(
    key=REPORT_KEY,
    group_name=REPORTS_GROUP,
    partitions_def=report_partitions,
    pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(["marts", name]) for name in REPORT_MARTS],
    kinds={"excel", "csv"},
    description=(
        "The Service Data Schedule for the ministry: the workbook and CSV of one fiscal year and "
        "stage in `outbox/<fiscal year>/`, versioned (v1, v2, ...; nothing is ever overwritten)."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            EQUALS_WAREHOUSE_CHECK,
            asset=REPORT_KEY,
            description="The written CSV holds exactly the figures of marts.service_data_schedule.",
        )
    ],
)
def ministry_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    from exports.report import write_report

    target = parse_report_partition(context.partition_key)
    paths = warehouse.paths().ensure()
    with warehouse.one_writer(f"report {target}", context.log):
        result = write_report(paths, target.fiscal_year, target.stage)
        figures = warehouse_figures(warehouse, target.fiscal_year, target.stage)
    if result.status == "unchanged":
        context.log.info(
            f"{target}: figures and inputs unchanged; v{result.version} stays current."
        )
    else:
        context.log.info(
            f"{target}: wrote v{result.version} ({result.reason}) to {result.csv_path}"
        )
    return dg.MaterializeResult(
        metadata=report_metadata(result),
        check_results=[equals_warehouse_check(Path(result.csv_path), figures)],
    )


__all__ = ["REPORT_KEY", "SCHEDULE_MART", "ministry_report"]
