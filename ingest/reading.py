"""One pass over an extract: typed chunks out, problems and facts about the file collected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingest import contracts, readers
from ingest.extracts import EXTRACTS
from ingest.problems import Problem, ProblemLog
from ingest.results import unreadable

FINANCE_SHEET = "Expenditures"


def funding_sources_for(kind: str) -> tuple[str, ...]:
    """The funding sources a kind's rows are checked against (only finance has them)."""
    return contracts.load_funding_sources() if kind == "finance" else ()


@dataclass
class Reading:
    """The state of one pass over a file: typed chunks out, problems and facts collected."""

    path: Path
    kind: str
    scan: readers.ByteScan
    funding_sources: Sequence[str]
    chunk_rows: int
    accepted_dates: contracts.AcceptedDates = contracts.DEFAULT_ACCEPTED_DATES
    log: ProblemLog = field(default_factory=ProblemLog)
    rows: int = 0
    encoding: str | None = None
    extra_columns: list[str] = field(default_factory=list)

    def typed_chunks(self) -> Iterator[pd.DataFrame]:
        try:
            opened = self._open()
        except readers.FileRejected as rejection:
            self.log.extend(rejection.problems)
            return
        except Exception as error:  # a damaged file must not stop the files beside it
            self.log.add(unreadable(error))
            return
        self.encoding = opened.encoding
        self.extra_columns = opened.header.extra_columns
        try:
            not_loaded = {f.name for f in EXTRACTS[self.kind].fields if f.column is None}
            for chunk in opened.chunks:
                # A formula in a column that is never loaded (description) is never copied.
                self.log.extend(p for p in chunk.problems if p.column not in not_loaded)
                frame, problems = contracts.type_chunk(
                    self.kind, chunk.frame, self.funding_sources, self.accepted_dates
                )
                seen = {(p.row, p.column) for p in chunk.problems}
                self.log.extend(p for p in problems if (p.row, p.column) not in seen)
                self.rows += len(frame)
                yield frame
        except readers.FileRejected as rejection:
            self.log.extend(rejection.problems)
            return
        except Exception as error:
            self.log.add(unreadable(error))
            return
        if self.rows == 0 and not self.log:
            self.log.add(Problem(None, None, None, "file.no_rows"))

    def _open(self) -> readers.OpenedExtract:
        extract = EXTRACTS[self.kind]
        suffix = self.path.suffix.lower()
        if suffix not in extract.formats:
            code = "file.not_csv_or_xlsx" if ".xlsx" in extract.formats else "file.not_csv"
            if not suffix:
                raise readers.whole_file(f"{code}_no_extension", kind=self.kind)
            raise readers.whole_file(code, kind=self.kind, suffix=suffix)
        if self.scan.size == 0:
            raise readers.whole_file("file.empty")
        if suffix == ".xlsx":
            return readers.open_workbook(
                self.path,
                self.scan,
                extract.known,
                extract.required,
                sheet_name=FINANCE_SHEET,
                chunk_rows=self.chunk_rows,
            )
        return readers.open_csv(
            self.path,
            self.scan,
            extract.known,
            extract.required,
            legacy_encoding_allowed=self.kind == "finance",
            title_rows_allowed=self.kind == "finance",
            chunk_rows=self.chunk_rows,
        )
