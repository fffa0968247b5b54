"""Write a synthetic fiscal year of extracts, delivered the way the source systems deliver them.

Calls, chats, texts and emails arrive as weekly files, surveys monthly, web quarterly, finance as
two uploads. Rows are written day by day as they are generated, so memory holds one day at most.
"""

from __future__ import annotations

import csv
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from ingest.sample.channels import (
    CallSegment,
    Day,
    calls_for_day,
    chats_for_day,
    emails_for_day,
    stochastic_round,
    surveys_for_day,
    texts_for_day,
)
from ingest.sample.clock import Clock, days_between, parse_fiscal_year
from ingest.sample.deliveries import (
    CHAT_COLUMNS,
    EMAIL_COLUMNS,
    TEXT_COLUMNS,
    Deliveries,
    Delivery,
    DeliveryWriter,
    Progress,
    SampleSummary,
    call_deliveries,
    call_record,
    chat_record,
    message_record,
    survey_deliveries,
    survey_record,
    web_deliveries,
    weekly_deliveries,
)
from ingest.sample.finance import month_starts, write_finance
from ingest.sample.people import Population
from o211.kinds import KINDS

# Contacts in a fiscal year at scale 1 (the volumes).
ANNUAL_VOLUME = {"calls": 420_000, "chats": 30_000, "texts": 10_000, "emails": 8_000}
AUTO_DIALER_BURSTS_PER_YEAR = 40
WEB_SESSIONS_PER_YEAR = 1_500_000
WEB_HOSTNAME_SHARES = (("www.211ontario.ca", 0.86), ("211ontario.ca", 0.14))
STAGING_HOSTNAME = "staging.211ontario.ca"


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
