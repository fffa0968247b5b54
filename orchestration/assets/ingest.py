"""One ingest asset per extract kind: load the inbox folder of that kind into `raw.<kind>`.

Each materialization records what happened to every file (accepted, rejected, duplicate) and
carries a check that fails when a file was rejected in that run, so a refused upload is visible
in the UI and the run log says in plain words what to fix.
"""

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import dagster as dg

from o211.kinds import KINDS
from orchestration.partitions import FISCAL_YEARS
from orchestration.resources import Warehouse
from orchestration.settings import WAREHOUSE_POOL

INGEST_GROUP = "ingest"
REJECTION_CHECK = "no_rejected_files"
DESCRIPTIONS = {
    "calls": "Call segments from the telephony export, one row per segment, every load kept.",
    "chats": "Chats from the chat platform export, one row per chat, every load kept.",
    "emails": "Email conversations from the shared mailbox export, every load kept.",
    "texts": "Text conversations from the SMS platform export, every load kept.",
    "surveys": "Satisfaction survey responses, one row per response, every load kept.",
    "web": "Daily website sessions by hostname from web analytics, every load kept.",
    "finance": "Expenditure ledger lines uploaded by finance staff, every upload kept.",
}


def ingest_asset_key(kind: str) -> dg.AssetKey:
    """The raw table a kind loads into; dbt's source `raw.<kind>` maps to the same key."""
    return dg.AssetKey(["raw", kind])


# How many problems a run-log line and a check quote; the rest are in the `.errors.txt` file.
PROBLEMS_QUOTED = 3
VALUE_QUOTED_CHARS = 60


@dataclass(frozen=True)
class FileProblem:
    """One reason a file was refused: where (row, column), the value, what is wrong, the fix."""

    row: int | None
    column: str | None
    value: str | None
    problem: str
    fix: str = ""


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file, in the words of the ingest table."""

    kind: str
    file: str
    status: str  # accepted, rejected, duplicate or skipped
    rows: int
    reason: str
    errors_file: str | None = None
    problems: tuple[FileProblem, ...] = ()  # the first few, quoted in the run log and the check
    problem_count: int = 0


def file_outcome(result: Any) -> FileOutcome:
    """Read an `ingest.pipeline.FileResult` into the table's words."""
    problems = tuple(
        FileProblem(
            row=getattr(p, "row", None),
            column=getattr(p, "column", None),
            value=getattr(p, "value", None),
            problem=str(p.problem),
            fix=getattr(p, "fix", "") or "",
        )
        for p in list(result.problems)[:PROBLEMS_QUOTED]
    )
    reason = result.reason or "; ".join(describe_problem(p) for p in problems)
    errors = f"{result.rejected_path}.errors.txt" if result.rejected_path else None
    return FileOutcome(
        kind=result.kind,
        file=result.file_name,
        status=result.status,
        rows=int(result.rows),
        reason=reason,
        errors_file=errors,
        problems=problems,
        problem_count=int(getattr(result, "problem_count", 0) or len(result.problems)),
    )


def outcomes_for(kind: str, results: Sequence[Any]) -> list[FileOutcome]:
    """This kind's files; the blocklist (reloaded by every ingest) is reported with calls."""
    wanted = {kind, "blocklist"} if kind == "calls" else {kind}
    return [file_outcome(r) for r in results if r.kind in wanted]


def quoted_value(value: str | None) -> str:
    """A cell as the person will find it in the file: quoted, shortened, control characters out."""
    if value is None:
        return "(empty)"
    text = " ".join(str(value).split())
    if len(text) > VALUE_QUOTED_CHARS:
        text = text[: VALUE_QUOTED_CHARS - 3] + "..."
    return repr(text)


def describe_problem(problem: Any) -> str:
    """`row 7, column amount, value '1.23456': has more than 4 decimals (how to fix: ...)`."""
    where = []
    if getattr(problem, "row", None) is not None:
        where.append(f"row {problem.row}")
    if getattr(problem, "column", None):
        where.append(f"column {problem.column}")
    if getattr(problem, "row", None) is not None and getattr(problem, "column", None):
        where.append(f"value {quoted_value(getattr(problem, 'value', None))}")
    prefix = ", ".join(where)
    text = f"{prefix}: {problem.problem}" if prefix else str(problem.problem)
    fix = getattr(problem, "fix", "")
    return f"{text} (how to fix: {fix.rstrip('.')})" if fix else text


def problems_text(outcome: FileOutcome) -> str:
    """The first problems of a rejected file, and how many more the errors file lists."""
    if not outcome.problems:
        return ""
    shown = "; ".join(describe_problem(p) for p in outcome.problems)
    more = outcome.problem_count - len(outcome.problems)
    return f"First problems: {shown}" + (f"; and {more:,} more." if more > 0 else ".")


def problems_table(rejected: Sequence[FileOutcome]) -> str:
    """The quoted problems as a Markdown table (file, row, column, value, problem, how to fix)."""

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    rows = [
        "| file | row | column | value | problem | how to fix |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in rejected:
        for p in outcome.problems or (FileProblem(None, None, None, outcome.reason),):
            rows.append(
                "| "
                + " | ".join(
                    cell(v)
                    for v in (
                        outcome.file,
                        "" if p.row is None else p.row,
                        p.column or "",
                        quoted_value(p.value) if p.row is not None and p.column else "",
                        p.problem,
                        p.fix,
                    )
                )
                + " |"
            )
        if outcome.errors_file:
            rows.append(
                f"| {cell(outcome.file)} | | | | every problem: {cell(outcome.errors_file)} | |"
            )
    return "\n".join(rows)


def rejection_check(kind: str, outcomes: Sequence[FileOutcome]) -> dg.AssetCheckResult:
    """Fail when any file of this run was rejected; say which, why, and where the details are."""
    rejected = [o for o in outcomes if o.status == "rejected"]
    if not rejected:
        return dg.AssetCheckResult(
            check_name=REJECTION_CHECK,
            asset_key=ingest_asset_key(kind),
            passed=True,
            description=f"No {kind} file was rejected in this run ({len(outcomes)} file(s) seen).",
        )
    lines = [
        f"{o.file}: {o.reason or 'rejected'}."
        + (f" {problems_text(o)}" if o.problems else "")
        + (f" Every problem is listed in {o.errors_file}." if o.errors_file else "")
        for o in rejected
    ]
    return dg.AssetCheckResult(
        check_name=REJECTION_CHECK,
        asset_key=ingest_asset_key(kind),
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(rejected)} {kind} file(s) rejected: " + " | ".join(lines),
        metadata={
            "rejected_files": dg.MetadataValue.json([asdict(o) for o in rejected]),
            "first_problems": dg.MetadataValue.md(problems_table(rejected)),
        },
    )


def ingest_metadata(outcomes: Sequence[FileOutcome]) -> dict[str, Any]:
    def count(status: str) -> int:
        return sum(1 for o in outcomes if o.status == status)

    return {
        "files": dg.MetadataValue.json([asdict(o) for o in outcomes]),
        "files_seen": len(outcomes),
        "rows_loaded": sum(o.rows for o in outcomes if o.status == "accepted"),
        "accepted": count("accepted"),
        "rejected": count("rejected"),
        "duplicate": count("duplicate"),
        "skipped": count("skipped"),
        "reasons": dg.MetadataValue.md(
            "\n".join(f"- `{o.file}`: {o.reason}" for o in outcomes if o.reason) or "none"
        ),
    }


def plain_words(outcome: FileOutcome) -> str:
    """The run-log line finance staff read after an upload."""
    kind = outcome.kind
    if outcome.status == "accepted":
        return f"ACCEPTED: {kind} file {outcome.file} was loaded ({outcome.rows:,} rows)."
    if outcome.status == "duplicate":
        return f"ALREADY LOADED: {kind} file {outcome.file} has the same content as a loaded file."
    if outcome.status == "skipped":
        return f"SKIPPED: {kind} file {outcome.file} stays in the inbox. {outcome.reason}"
    first = f" {problems_text(outcome)}" if outcome.problems else ""
    where = f" Every problem is listed in {outcome.errors_file}." if outcome.errors_file else ""
    return (
        f"REJECTED: {kind} file {outcome.file} was not loaded. {outcome.reason.rstrip('.')}."
        f"{first}{where} Fix the file and drop it in the inbox again."
    )


def loaded_fiscal_years(warehouse: Warehouse) -> list[str]:
    """Fiscal years the loaded files cover, from `raw.load_log` (for the report partitions)."""
    from ingest.warehouse import loaded_fiscal_years as from_load_log

    with warehouse.connect() as con:
        return from_load_log(con)


def build_ingest_asset(kind: str) -> dg.AssetsDefinition:
    key = ingest_asset_key(kind)

    @dg.asset(
        key=key,
        group_name=INGEST_GROUP,
        description=DESCRIPTIONS[kind],
        pool=WAREHOUSE_POOL,
        kinds={"python", "duckdb"},
        check_specs=[
            dg.AssetCheckSpec(
                REJECTION_CHECK,
                asset=key,
                description=f"Fails when a file in the {kind} inbox was rejected in this run.",
            )
        ],
    )
    def ingest_kind(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        from ingest.pipeline import PiiKeyMismatch, ingest_inbox

        def notice(line: str) -> None:
            # The run log, and the terminal of the o211 command running this in process.
            print(f"o211: {line}", file=sys.stderr, flush=True)
            context.log.warning(line)

        paths = warehouse.paths().ensure()
        with warehouse.one_writer(f"ingest {kind}", context.log):
            try:
                results = ingest_inbox(paths, kinds=[kind], notice=notice)
            except PiiKeyMismatch as error:
                # The step fails with this line; the run log says it in the ingest's own words.
                context.log.error(f"NOTHING LOADED: {error}")
                raise
            years = loaded_fiscal_years(warehouse)
        outcomes = outcomes_for(kind, results)
        for outcome in outcomes:
            line = plain_words(outcome)
            (context.log.error if outcome.status == "rejected" else context.log.info)(line)
        if not outcomes:
            context.log.info(f"No {kind} file waiting in {paths.inbox(kind)}.")
        new_years = [
            y for y in years if not context.instance.has_dynamic_partition(FISCAL_YEARS, y)
        ]
        if new_years:
            context.instance.add_dynamic_partitions(FISCAL_YEARS, new_years)
        return dg.MaterializeResult(
            metadata=ingest_metadata(outcomes),
            check_results=[rejection_check(kind, outcomes)],
        )

    return ingest_kind


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    return [build_ingest_asset(kind) for kind in KINDS]
