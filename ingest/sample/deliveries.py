"""The files of a synthetic year: each kind's columns, delivery plan (which days go in which
file, under which name and format) and the writer that fills one file row by row."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from ingest.sample.channels import (
    CallSegment,
    Chat,
    Message,
    SurveyResponse,
)
from ingest.sample.clock import Clock, TimestampStyle
from ingest.sample.finance import month_starts
from o211.kinds import KINDS

WEEK = 7

CALL_COLUMNS = (
    "contact_id",
    "segment_id",
    "started_at",
    "queued_at",
    "answered_at",
    "ended_at",
    "caller_number",
    "queue",
    "disposition",
    "language",
)
# Some telephony exports have no segment_id column (it is optional) and their own column order.
CALL_COLUMNS_WITHOUT_SEGMENT = (
    "contact_id",
    "started_at",
    "ended_at",
    "queued_at",
    "answered_at",
    "queue",
    "caller_number",
    "language",
    "disposition",
)
CHAT_COLUMNS = (
    "contact_id",
    "started_at",
    "answered_at",
    "ended_at",
    "visitor_id",
    "spam_flag",
    "disposition",
    "language",
)
TEXT_COLUMNS = ("contact_id", "started_at", "sender", "spam_flag", "disposition")
EMAIL_COLUMNS = ("contact_id", "received_at", "sender", "spam_flag", "disposition")
SURVEY_COLUMNS = ("response_id", "channel", "submitted_at", "answer", "contact_id")
WEB_COLUMNS = ("Date", "Hostname", "Sessions")  # GA4 capitalises; headers match by name

# How each platform spells a boolean (extracts.md accepts all); a file uses one spelling.
BOOLEAN_SPELLINGS = (("true", "false"), ("yes", "no"), ("1", "0"), ("Y", "N"), ("TRUE", "FALSE"))

Progress = Callable[[str, int], None]


@dataclass
class SampleSummary:
    """What `write_sample` wrote: every file in delivery order and data rows per kind."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    blocklist: Path | None = None

    def files_of(self, kind: str) -> list[Path]:
        return [path for path in self.files if path.parent.name == kind]


@dataclass(frozen=True)
class Delivery:
    """One export file: the days it covers and how its system writes it."""

    kind: str
    first: date
    last: date
    name: str
    style: TimestampStyle = TimestampStyle.OFFSET
    columns: Sequence[str] = ()
    encoding: str = "utf-8"
    booleans: tuple[str, str] = ("true", "false")
    preamble: tuple[str, ...] = ()
    compact_dates: bool = False
    repeats_previous_day: bool = False  # a re-delivery of the day before `first`


class DeliveryWriter:
    """An open export file that rows are streamed into."""

    def __init__(self, delivery: Delivery, folder: Path, clock: Clock) -> None:
        self.delivery = delivery
        self.path = folder / delivery.name
        self.clock = clock
        self.rows = 0
        # Opened at the first row: a quiet week at a small scale writes no header-only file,
        # which ingest would rightly reject.
        self._handle: IO[str] | None = None
        self._csv: Any = None

    def _open(self) -> None:
        self._handle = self.path.open("w", encoding=self.delivery.encoding, newline="")
        for line in self.delivery.preamble:
            self._handle.write(line + "\n")
        self._csv = csv.writer(self._handle)
        self._csv.writerow(self.delivery.columns)

    def when(self, instant: int | None) -> str:
        return "" if instant is None else self.clock.text(instant, self.delivery.style)

    def flag(self, value: bool | None) -> str:
        if value is None:
            return ""
        true_text, false_text = self.delivery.booleans
        return true_text if value else false_text

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        columns = self.delivery.columns
        for record in records:
            if self._handle is None:
                self._open()
            self._csv.writerow([record[column] for column in columns])
            self.rows += 1

    @property
    def written(self) -> bool:
        return self._handle is not None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def call_record(writer: DeliveryWriter, segment: CallSegment) -> dict[str, Any]:
    return {
        "contact_id": segment.contact_id,
        "segment_id": segment.segment_id,
        "started_at": writer.when(segment.started_at),
        "queued_at": writer.when(segment.queued_at),
        "answered_at": writer.when(segment.answered_at),
        "ended_at": writer.when(segment.ended_at),
        "caller_number": segment.caller_number,
        "queue": segment.queue,
        "disposition": segment.disposition,
        "language": segment.language,
    }


def chat_record(writer: DeliveryWriter, chat: Chat) -> dict[str, Any]:
    return {
        "contact_id": chat.contact_id,
        "started_at": writer.when(chat.started_at),
        "answered_at": writer.when(chat.answered_at),
        "ended_at": writer.when(chat.ended_at),
        "visitor_id": chat.visitor_id,
        "spam_flag": writer.flag(chat.spam_flag),
        "disposition": chat.disposition,
        "language": chat.language,
    }


def message_record(writer: DeliveryWriter, message: Message) -> dict[str, Any]:
    moment = writer.when(message.started_at)
    return {
        "contact_id": message.contact_id,
        "started_at": moment,
        "received_at": moment,
        "sender": message.sender,
        "spam_flag": writer.flag(message.spam_flag),
        "disposition": message.disposition,
    }


def survey_record(writer: DeliveryWriter, response: SurveyResponse) -> dict[str, Any]:
    return {
        "response_id": response.response_id,
        "channel": response.channel,
        "submitted_at": writer.when(response.submitted_at),
        "answer": response.answer,
        "contact_id": response.contact_id,
    }


def weekly_deliveries(kind: str, days: list[date], columns: Sequence[str]) -> list[Delivery]:
    """Weekly files from the first day of the fiscal year; the last one may be short.

    Each kind gets a few weeks written naive (local time) and a few in UTC (`Z`), the way an
    export's settings drift over a year. Naive weeks are in summer, away from the DST changes,
    where local time is ambiguous.
    """
    deliveries = []
    for index, start in enumerate(range(0, len(days), WEEK)):
        week = days[start : start + WEEK]
        style = TimestampStyle.OFFSET
        if 10 <= index <= 12:
            style = TimestampStyle.NAIVE
        elif 30 <= index <= 32:
            style = TimestampStyle.UTC
        booleans = BOOLEAN_SPELLINGS[index % len(BOOLEAN_SPELLINGS)]
        deliveries.append(
            Delivery(
                kind=kind,
                first=week[0],
                last=week[-1],
                name=f"{kind}_{week[0].isoformat()}_{week[-1].isoformat()}.csv",
                style=style,
                columns=columns,
                booleans=booleans,
            )
        )
    return deliveries


def call_deliveries(days: list[date]) -> list[Delivery]:
    deliveries = weekly_deliveries("calls", days, CALL_COLUMNS)
    # Two late-summer weeks come from an export without segment_id, in its own column order.
    for index in (20, 21):
        if index < len(deliveries):
            deliveries[index] = replace(deliveries[index], columns=CALL_COLUMNS_WITHOUT_SEGMENT)
    # The second week's export re-delivers the first week's last day (with one row corrected),
    # so the file name starts a day earlier and still sorts after the first week's file.
    if len(deliveries) > 1:
        second = deliveries[1]
        redelivered = deliveries[0].last
        deliveries[1] = replace(
            second,
            name=f"calls_{redelivered.isoformat()}_{second.last.isoformat()}.csv",
            repeats_previous_day=True,
        )
    return deliveries


def survey_deliveries(first_day: date) -> list[Delivery]:
    deliveries = []
    for index, month in enumerate(month_starts(first_day, 12)):
        next_month = month_starts(month, 2)[1]
        deliveries.append(
            Delivery(
                kind="surveys",
                first=month,
                last=next_month - timedelta(days=1),
                name=f"surveys_{month:%Y-%m}.csv",
                style=TimestampStyle.UTC if index in (7, 8) else TimestampStyle.OFFSET,
                columns=SURVEY_COLUMNS,
            )
        )
    return deliveries


def web_deliveries(first_day: date, fiscal_year: str) -> list[Delivery]:
    """Quarterly GA4 exports: `#` comment lines first; Q1 and Q3 write dates as YYYYMMDD."""
    deliveries = []
    for quarter in range(4):
        start = month_starts(first_day, quarter * 3 + 1)[-1]
        end = month_starts(start, 4)[-1] - timedelta(days=1)
        compact = quarter in (0, 2)
        deliveries.append(
            Delivery(
                kind="web",
                first=start,
                last=end,
                name=f"web_{start.isoformat()}_{end.isoformat()}.csv",
                columns=WEB_COLUMNS,
                preamble=(
                    "# ----------------------------------------",
                    f"# 211 Ontario - Sessions by date and hostname, FY {fiscal_year} "
                    f"Q{quarter + 1}",
                    f"# {start:%Y%m%d}-{end:%Y%m%d}",
                    "# ----------------------------------------",
                ),
                compact_dates=compact,
            )
        )
    return deliveries


class Deliveries:
    """The current file of one kind: opens the next file when a day falls past the current one."""

    def __init__(
        self,
        plan: list[Delivery],
        folder: Path,
        clock: Clock,
        summary: SampleSummary,
        progress: Progress | None,
    ) -> None:
        self._plan = plan
        self._next = 0
        self._folder = folder
        self._clock = clock
        self._summary = summary
        self._progress = progress
        self.current: DeliveryWriter | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def for_day(self, day: date) -> tuple[DeliveryWriter, bool]:
        """The writer for `day`, and whether it was just opened."""
        if self.current is not None and day <= self.current.delivery.last:
            return self.current, False
        self.close()
        while self._plan[self._next].last < day:
            self._next += 1
        self.current = DeliveryWriter(self._plan[self._next], self._folder, self._clock)
        self._next += 1
        return self.current, True

    def close(self) -> None:
        if self.current is None:
            return
        self.current.close()
        kind = self.current.delivery.kind
        if not self.current.written:
            self.current = None
            return
        self._summary.files.append(self.current.path)
        self._summary.rows[kind] += self.current.rows
        if self._progress is not None:
            self._progress(kind, self.current.rows)
        self.current = None
