"""Write a synthetic fiscal year of extracts, delivered the way the source systems deliver them.

Calls, chats, texts and emails arrive as weekly files, surveys monthly, web quarterly, finance as
two uploads. Rows are written day by day as they are generated, so memory holds one day at most.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from ingest.sample.channels import (
    CallSegment,
    Chat,
    Day,
    Message,
    SurveyResponse,
    calls_for_day,
    chats_for_day,
    emails_for_day,
    stochastic_round,
    surveys_for_day,
    texts_for_day,
)
from ingest.sample.clock import Clock, TimestampStyle, days_between, parse_fiscal_year
from ingest.sample.finance import month_starts, write_finance
from ingest.sample.people import Population
from o211.kinds import KINDS

# Contacts in a fiscal year at scale 1 (the volumes).
ANNUAL_VOLUME = {"calls": 420_000, "chats": 30_000, "texts": 10_000, "emails": 8_000}
AUTO_DIALER_BURSTS_PER_YEAR = 40
WEB_SESSIONS_PER_YEAR = 1_500_000
WEB_HOSTNAME_SHARES = (("www.211ontario.ca", 0.86), ("211ontario.ca", 0.14))
STAGING_HOSTNAME = "staging.211ontario.ca"
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


def day_weight(day: date) -> float:
    """Relative contact volume of a day: weekdays and winter are busier, holidays quiet."""
    weight = (1.15, 1.12, 1.1, 1.08, 1.0, 0.7, 0.6)[day.weekday()]
    if day.month in (12, 1, 2):
        weight *= 1.08
    elif day.month in (7, 8):
        weight *= 0.94
    if (day.month, day.day) in ((12, 25), (1, 1), (7, 1)):
        weight *= 0.6
    return weight


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


def correct_one_call(segments: list[CallSegment]) -> list[CallSegment]:
    """The re-delivered day: the telephony vendor fixed one abandoned call that was answered
    (or, on a day without an abandoned call, one wrap-up code)."""
    corrected = list(segments)
    for index, segment in enumerate(corrected):
        if segment.queued_at is not None and segment.answered_at is None:
            answered = segment.queued_at + 42
            corrected[index] = replace(
                segment,
                answered_at=answered,
                ended_at=max(segment.ended_at, answered + 300),
                disposition="Information and Referral",
            )
            return corrected
    if corrected:
        corrected[-1] = replace(corrected[-1], disposition="Corrected - Information Only")
    return corrected


def write_web_day(
    writer: DeliveryWriter, day: date, rng: random.Random, daily_sessions: float
) -> None:
    day_text = f"{day:%Y%m%d}" if writer.delivery.compact_dates else day.isoformat()
    records = [
        {
            "Date": day_text,
            "Hostname": hostname,
            "Sessions": stochastic_round(rng, daily_sessions * share),
        }
        for hostname, share in WEB_HOSTNAME_SHARES
    ]
    staging = stochastic_round(rng, daily_sessions * 0.004 * rng.uniform(0.5, 1.5))
    records.append({"Date": day_text, "Hostname": STAGING_HOSTNAME, "Sessions": staging})
    writer.write(records)


def write_blocklist(path: Path, population: Population) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number"])
        writer.writerows([number] for number in population.blocklist_rows())


def write_sample(
    out_dir: Path,
    fiscal_year: str = "2025-26",
    scale: float = 1,
    seed: int = 7,
    progress: Progress | None = None,
) -> SampleSummary:
    """Write a fiscal year of synthetic extracts under the data directory `out_dir`.

    Contact volumes and web sessions scale linearly with `scale`; finance does not (see
    `ingest.sample.finance`). The same arguments always give byte-identical files.
    """
    if scale <= 0:
        raise ValueError(f"scale must be greater than 0, got {scale}")
    out_dir = Path(out_dir)
    first_day, last_day = parse_fiscal_year(fiscal_year)
    days = days_between(first_day, last_day)
    clock = Clock()
    summary = SampleSummary(out_dir=out_dir)
    population = Population.draw(random.Random(f"{seed}:population"), scale)
    inbox = out_dir / "inbox"

    weights = [day_weight(day) for day in days]
    total_weight = sum(weights)
    expected = {
        kind: [volume * scale * weight / total_weight for weight in weights]
        for kind, volume in ANNUAL_VOLUME.items()
    }
    burst_rng = random.Random(f"{seed}:auto-dialer")
    burst_count = max(1, round(AUTO_DIALER_BURSTS_PER_YEAR * scale))
    burst_days: dict[date, list[str]] = {}
    for burst_day in burst_rng.choices(days, k=burst_count):
        burst_days.setdefault(burst_day, []).append(
            burst_rng.choice(population.auto_dialer_numbers)
        )
    web_rng = random.Random(f"{seed}:web")
    daily_sessions = WEB_SESSIONS_PER_YEAR * scale / total_weight

    def open_kind(plan: list[Delivery]) -> Deliveries:
        return Deliveries(plan, inbox / plan[0].kind, clock, summary, progress)

    calls = open_kind(call_deliveries(days))
    chat_plan = weekly_deliveries("chats", days, CHAT_COLUMNS)
    # The chat platform's first export was saved with a byte-order mark (UTF-8 with BOM).
    chat_plan[0] = replace(chat_plan[0], encoding="utf-8-sig")
    chats = open_kind(chat_plan)
    texts = open_kind(weekly_deliveries("texts", days, TEXT_COLUMNS))
    emails = open_kind(weekly_deliveries("emails", days, EMAIL_COLUMNS))
    surveys = open_kind(survey_deliveries(first_day))
    web = open_kind(web_deliveries(first_day, fiscal_year))

    try:
        previous_day_calls: list[CallSegment] = []
        for index, day in enumerate(days):
            month_end = month_starts(day, 2)[1]
            context = Day(
                day=day,
                start=clock.local_midnight(day),
                end=clock.local_midnight(day + timedelta(days=1)),
                month_end=clock.local_midnight(month_end),
                seed=seed,
                population=population,
            )
            segments, served_calls = calls_for_day(
                context, expected["calls"][index], burst_days.get(day, [])
            )
            writer, opened = calls.for_day(day)
            if opened and writer.delivery.repeats_previous_day:
                writer.write(call_record(writer, s) for s in correct_one_call(previous_day_calls))
            writer.write(call_record(writer, segment) for segment in segments)
            previous_day_calls = segments

            chat_rows, served_chats = chats_for_day(context, expected["chats"][index])
            writer, _ = chats.for_day(day)
            writer.write(chat_record(writer, chat) for chat in chat_rows)

            writer, _ = texts.for_day(day)
            writer.write(
                message_record(writer, text)
                for text in texts_for_day(context, expected["texts"][index])
            )

            email_rows, served_emails = emails_for_day(context, expected["emails"][index])
            writer, _ = emails.for_day(day)
            writer.write(message_record(writer, email) for email in email_rows)

            writer, _ = surveys.for_day(day)
            responses = surveys_for_day(context, served_calls + served_chats + served_emails)
            writer.write(survey_record(writer, response) for response in responses)

            writer, _ = web.for_day(day)
            write_web_day(writer, day, web_rng, daily_sessions * weights[index])

    finally:
        # A failure part-way still closes (and reports) the files written so far.
        for kind_deliveries in (calls, chats, texts, emails, surveys, web):
            kind_deliveries.close()

    for path, rows in write_finance(inbox / "finance", fiscal_year, first_day, seed):
        summary.files.append(path)
        summary.rows["finance"] += rows
        if progress is not None:
            progress("finance", rows)

    summary.blocklist = out_dir / "config" / "blocklist.csv"
    write_blocklist(summary.blocklist, population)
    summary.files.sort(key=lambda path: (KINDS.index(path.parent.name), path.name))
    return summary
