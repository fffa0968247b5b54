"""What is wrong with an extract, said to the person who has to fix it.

A `Problem` is one cell (or one whole-file issue) that stops a file from loading. The rejection
files beside a refused original are written here: `<file>.errors.csv` for machines and
spreadsheets, `<file>.errors.txt` for the person (extracts.md, "Rules common to every kind").
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.messages import render
from o211.text_safety import inert_csv_text

# Long cells (a whole pasted paragraph, a binary blob) are cut so the error list stays readable.
MAX_VALUE_CHARS = 120
# A file that is wrong on every row would give millions of identical lines; the first ones show
# the pattern, the summary gives the totals.
MAX_PROBLEMS_LISTED = 10_000
EXAMPLES_PER_GROUP = 3


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot load.

    `row` is the line as a person counts it in the file or sheet (header row = its own number,
    the first data row under a header on line 1 is 2); None for a whole-file problem.
    `column` is the extract's column name, None when the problem is not about one column.
    `code` names the sentence in `ingest.messages` and `params` fill its placeholders; the
    rendered English is `problem` (the same for every cell with the same fault, so problems
    group) and `fix` (what to do about it). A translation renders the code and params instead.
    """

    row: int | None
    column: str | None
    value: str | None
    code: str
    params: Mapping[str, str] = field(default_factory=dict, hash=False)
    problem: str = field(init=False)
    fix: str = field(init=False)

    def __post_init__(self) -> None:
        problem, fix = render(self.code, self.params)  # an unknown code fails here, at once
        object.__setattr__(self, "problem", problem)
        object.__setattr__(self, "fix", fix)


class ProblemLog:
    """Collects problems while a file streams past, keeping totals exact and the list bounded."""

    def __init__(self) -> None:
        self.listed: list[Problem] = []
        self.counts: Counter[tuple[str | None, str]] = Counter()
        self._fixes: dict[tuple[str | None, str], str] = {}

    def add(self, problem: Problem) -> None:
        key = (problem.column, problem.problem)
        self.counts[key] += 1
        self._fixes.setdefault(key, problem.fix)
        if len(self.listed) < MAX_PROBLEMS_LISTED:
            self.listed.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)

    def fix_for(self, column: str | None, problem: str) -> str:
        return self._fixes.get((column, problem), "")


def safe_cell(value: str | None) -> str:
    """A value as it may appear in the errors list: bounded, and never live as a formula."""
    if value is None:
        return ""
    text = value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"
    return inert_csv_text(text)


def write_errors_csv(path: Path, problems: Sequence[Problem]) -> None:
    """`row,column,value,problem`, one line per listed problem, in file order."""
    ordered = sorted(problems, key=lambda p: (p.row is not None, p.row or 0))
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "value", "problem"])
        for problem in ordered:
            writer.writerow(
                [
                    "" if problem.row is None else problem.row,
                    problem.column or "",
                    safe_cell(problem.value),
                    problem.problem,
                ]
            )


def summary_text(
    file_name: str,
    kind: str,
    log: ProblemLog,
    *,
    rejected: bool = True,
    kept_as: str | None = None,
) -> str:
    """The plain-language summary a finance clerk or an analyst can act on.

    `kept_as`: the name the rejected file was stored under, when it is not `file_name` (taken
    by an earlier rejection, or too long for the file system once `.errors.csv` is added).
    """
    verdict = "was NOT loaded" if rejected else "would NOT be loaded"
    lines = [
        f"The file {file_name!r} {verdict} ({kind} extract). Nothing from it was counted.",
        "",
    ]
    bad_rows = {p.row for p in log.listed if p.row is not None}
    if bad_rows:
        cut_short = len(log.listed) < log.total
        lines.append(
            f"{log.total} problem(s) found on {len(bad_rows)} row(s)"
            + (" (the list is cut short; fix these and check again)." if cut_short else ".")
        )
    else:
        lines.append("The file as a whole could not be read:")
    lines.append("")
    for (column, problem), count in log.counts.most_common():
        where = f"column '{column}'" if column else "file"
        examples = [p for p in log.listed if p.column == column and p.problem == problem]
        on_rows = f" ({count} row(s))" if examples and examples[0].row else ""
        lines.append(f"- {where}: {problem}{on_rows}")
        for example in examples[:EXAMPLES_PER_GROUP]:
            if example.row is not None:
                lines.append(f"    row {example.row}: {safe_cell(example.value)!r}")
        fix = log.fix_for(column, problem)
        if fix:
            lines.append(f"    How to fix: {fix}")
    lines += [
        "",
        "Every row must pass before any of the file is loaded. Correct the file and put it in",
        "the inbox again (or run `o211 check FILE --kind " + kind + "` first).",
    ]
    if rejected:
        stored = kept_as or file_name
        if stored != file_name:
            lines.append(
                f"The file is kept as {stored!r} (its name was taken, or too long to keep "
                "with the endings added here)."
            )
        lines.append(
            f"The full list is in {stored}.errors.csv (row numbers as shown in a spreadsheet)."
        )
    return "\n".join(lines) + "\n"


def one_line_reason(log: ProblemLog) -> str:
    """The reason column of an ingest table: the most frequent problem and the total."""
    (column, problem), count = log.counts.most_common(1)[0]
    where = f"{column}: " if column else ""
    more = f" (+{log.total - count} other problem(s))" if log.total > count else ""
    times = f" [{count} row(s)]" if count > 1 else ""
    return f"{where}{problem}{times}{more}"
