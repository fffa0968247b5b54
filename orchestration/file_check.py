"""`o211 check`: validate one file as ingest would, without the Dagster definitions.

Finance staff run it before every upload, so it stays in its own module: importing the runner
would pull in Dagster (seconds of start-up) for a check that never touches the warehouse.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=False)


def check(file: Path, kind: str) -> bool:
    """Validate one file as ingest would; print its problems. True when it would be accepted."""
    from ingest.checking import check_file

    result = check_file(file, kind)
    if result.ok:
        console.print(
            f"[green]{result.file_name}: would be accepted[/] as {kind} "
            f"({result.rows:,} rows; nothing was loaded)"
        )
        return True
    console.print(f"[red]{result.file_name}: would be rejected[/]")
    if result.summary:
        console.print(result.summary.rstrip())
    table = Table(title=f"{result.problem_count:,} problem(s)")
    for column in ("row", "column", "value", "problem", "how to fix"):
        table.add_column(column)
    for p in result.problems:
        table.add_row(
            "" if p.row is None else str(p.row), p.column or "", p.value or "", p.problem, p.fix
        )
    console.print(table)
    return False
