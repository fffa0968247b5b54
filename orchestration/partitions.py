"""Report partitions: fiscal year x stage, the Dagster face of `o211.calendar`.

A report partition is a `MultiPartitionKey` such as `2025-26|Q2` (dimensions `fiscal_year`,
dynamic, and `stage`, static). In the UI, pick the fiscal year and the stage in the two columns
of the partition picker. Fiscal years join the dynamic dimension when data for them is loaded
(the ingest assets add them) or when a command asks for them.
"""

from __future__ import annotations

import dagster as dg

from o211.calendar import STAGES, ReportStage, report_stage

FISCAL_YEARS = "fiscal_years"

fiscal_year_partitions = dg.DynamicPartitionsDefinition(name=FISCAL_YEARS)
stage_partitions = dg.StaticPartitionsDefinition(list(STAGES))
report_partitions = dg.MultiPartitionsDefinition(
    {"fiscal_year": fiscal_year_partitions, "stage": stage_partitions}
)


def report_partition_key(stage: ReportStage) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"fiscal_year": stage.fiscal_year, "stage": stage.stage})


def parse_report_partition(key: str | dg.MultiPartitionKey) -> ReportStage:
    """Read a report partition key (`2025-26|Q2` or a MultiPartitionKey) and check both parts."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        fiscal_year, stage = dims["fiscal_year"], dims["stage"]
    else:
        parts = str(key).split("|")
        if len(parts) != 2:
            raise ValueError(f"report partition {key!r} is not of the form 2025-26|Q2")
        fiscal_year, stage = parts
    return report_stage(fiscal_year, stage)
