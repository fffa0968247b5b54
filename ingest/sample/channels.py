"""One day of contacts on each channel, and the survey responses they lead to.

A day is generated from its own random stream (seeded by seed, kind and date) so any day can be
produced again on its own, for instance when an export re-delivers it. Instants are epoch seconds;
the delivery files decide how they are written.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date

from ingest.sample.people import (
    WITHHELD_CALLER_TEXT,
    Population,
    email_address,
    phone_text,
    random_number,
)

# Relative contact volume by local hour (0-23): 211 answers around the clock, busiest in office
# hours; chat and text lean later into the evening.
CALL_HOURS = (
    2,
    1.5,
    1,
    1,
    1,
    1.5,
    3,
    6,
    9,
    10,
    10,
    10,
    9.5,
    9.5,
    9,
    8.5,
    7,
    6,
    5.5,
    5,
    4.5,
    4,
    3,
    2.5,
)
CHAT_HOURS = (2, 1.5, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 8, 6, 4)
EMAIL_HOURS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 8, 8, 7, 7, 7, 7, 7, 6, 5, 4, 4, 3, 3, 2, 1)

SERVICE_DISPOSITIONS = ("Information and Referral", "Information Only", "Crisis Referral", "")
# Wrap-up codes that end in an exclusion. `Hoax Caller` and `Fax Tone` are deliberately not in
# the default mapping (rules.md) so the report's "unmapped disposition" note has something to list.
EXCLUDED_CALL_DISPOSITIONS = (
    ("Spam", 25),
    ("Prank", 12),
    ("Robocall", 12),
    ("Static", 14),
    ("Dead Air", 14),
    ("Test Call", 5),
    ("Hoax Caller", 4),
    ("Fax Tone", 4),
)

EXCLUDED_CODES = tuple(code for code, _ in EXCLUDED_CALL_DISPOSITIONS)
EXCLUDED_WEIGHTS = tuple(weight for _, weight in EXCLUDED_CALL_DISPOSITIONS)

PHONE_CHANNELS = ("phone", "Telephone", "call", "voice", "Phone ")
CHAT_CHANNELS = ("chat", "webchat", "Web Chat", "live chat")
OTHER_CHANNELS = ("email", "E-mail")
# (answer text, weight): mostly satisfied, in English and French, with the case and spacing a
# survey tool lets through, and a share of answers that are not a satisfaction level at all.
SURVEY_ANSWERS = (
    ("Very satisfied", 30),
    ("very satisfied", 6),
    (" Very Satisfied ", 3),
    ("Très satisfait", 6),
    ("tres satisfait", 1),
    ("Satisfied", 25),
    ("SATISFIED", 3),
    ("satisfait", 6),
    ("Not satisfied", 5),
    ("Dissatisfied", 2),
    ("Pas satisfait", 1.5),
    ("N/A", 2),
    ("", 2.5),
    ("5", 1),
)
SURVEY_ANSWER_TEXT = tuple(answer for answer, _ in SURVEY_ANSWERS)
SURVEY_ANSWER_WEIGHTS = tuple(weight for _, weight in SURVEY_ANSWERS)


@dataclass(slots=True)
class CallSegment:
    contact_id: str
    segment_id: str
    started_at: int
    queued_at: int | None
    answered_at: int | None
    ended_at: int
    caller_number: str
    queue: str
    disposition: str
    language: str


@dataclass(slots=True)
class Chat:
    contact_id: str
    started_at: int
    answered_at: int | None
    ended_at: int
    visitor_id: str
    spam_flag: bool | None  # None is written blank, which means false
    disposition: str
    language: str


@dataclass(slots=True)
class Message:
    """A text or an email conversation."""

    contact_id: str
    started_at: int
    sender: str
    spam_flag: bool | None
    disposition: str


@dataclass(slots=True)
class SurveyResponse:
    response_id: str
    channel: str
    submitted_at: int
    answer: str
    contact_id: str


@dataclass(frozen=True)
class Day:
    """What every channel needs to know about the day being generated."""

    day: date
    start: int  # local midnight, epoch seconds
    end: int  # next local midnight
    month_end: int  # local midnight that starts the next month: surveys stay in their month
    seed: int
    population: Population

    def rng(self, kind: str) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{self.day.isoformat()}")

    def starts(self, rng: random.Random, count: int, hours: tuple[float, ...]) -> list[int]:
        """Sorted start instants, hour-of-day weighted; clamped inside the (maybe 23 h) day."""
        picked = rng.choices(range(24), weights=hours, k=count)
        last = self.end - 1
        return sorted(min(self.start + h * 3600 + rng.randrange(3600), last) for h in picked)


def stochastic_round(rng: random.Random, expected: float) -> int:
    whole = math.floor(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _talk_seconds(rng: random.Random) -> int:
    return min(3600, max(15, round(rng.lognormvariate(math.log(330), 0.7))))


def _wait_seconds(rng: random.Random) -> int:
    return min(1800, max(1, round(rng.expovariate(1 / 75))))


def _caller(rng: random.Random, population: Population) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(WITHHELD_CALLER_TEXT)
    number = rng.choice(population.frequent_callers) if roll < 0.35 else random_number(rng)
    return phone_text(number, rng.randrange(6))


@dataclass(frozen=True)
class CallShares:
    """Shares of a day's calls by how they end (the issue's volumes; the rest are served)."""

    test_queue: float = 0.003
    excluding_disposition: float = 0.035
    ivr_only: float = 0.07
    abandoned: float = 0.10
    transferred: float = 0.07  # of served calls
    french: float = 0.07


CALL_SHARES = CallShares()


def _one_call(
    rng: random.Random, population: Population, contact_id: str, started: int
) -> tuple[list[CallSegment], int | None]:
    """One call's segments, and when it ended if an agent served it (it may be surveyed)."""
    shares = CALL_SHARES
    french = rng.random() < shares.french
    queue = "211_FR" if french else "211_EN"
    language = "" if rng.random() < 0.02 else ("fr" if french else "en")
    caller = _caller(rng, population)
    queued = started + rng.randrange(15, 90)

    def leg(
        queued_at: int | None,
        answered_at: int | None,
        ended_at: int,
        disposition: str = "",
        *,
        number: int = 1,
        started_at: int = started,
        caller_number: str = caller,
        leg_queue: str = queue,
    ) -> CallSegment:
        return CallSegment(
            contact_id=contact_id,
            segment_id=f"{contact_id}-{number}",
            started_at=started_at,
            queued_at=queued_at,
            answered_at=answered_at,
            ended_at=ended_at,
            caller_number=caller_number,
            queue=leg_queue,
            disposition=disposition,
            language=language,
        )

    roll = rng.random()
    threshold = shares.test_queue
    if roll < threshold:
        # Staff testing the line, on a queue named for it.
        answered = queued + rng.randrange(1, 30)
        test_queue = "211_TEST" if rng.random() < 0.5 else "TEST_211_EN"
        ended = answered + rng.randrange(20, 120)
        return [leg(queued, answered, ended, caller_number="", leg_queue=test_queue)], None
    threshold += shares.excluding_disposition
    if roll < threshold:
        code = rng.choices(EXCLUDED_CODES, weights=EXCLUDED_WEIGHTS)[0]
        if code in ("Spam", "Robocall", "Prank") and rng.random() < 0.5:
            caller = phone_text(rng.choice(population.spam_numbers), rng.randrange(6))
        answered = queued + _wait_seconds(rng)
        ended = answered + rng.randrange(3, 60)
        return [leg(queued, answered, ended, code, caller_number=caller)], None
    threshold += shares.ivr_only
    if roll < threshold:
        return [leg(None, None, started + rng.randrange(5, 150))], None
    threshold += shares.abandoned
    if roll < threshold:
        patience = min(1200, max(2, round(rng.expovariate(1 / 60))))
        return [leg(queued, None, queued + patience)], None

    answered = queued + _wait_seconds(rng)
    disposition = rng.choices(SERVICE_DISPOSITIONS, weights=(55, 20, 5, 20))[0]
    if rng.random() >= shares.transferred:
        ended = answered + _talk_seconds(rng)
        return [leg(queued, answered, ended, disposition)], ended
    # A warm transfer: the second leg is its own segment of the same call, often without the
    # caller's number (the switch places it), sometimes never picked up.
    first_end = answered + rng.randrange(60, 300)
    second_start = first_end + rng.randrange(1, 4)
    second_pickup = second_start + _wait_seconds(rng)
    second_answered: int | None = second_pickup
    second_end = second_pickup + _talk_seconds(rng)
    if rng.random() < 0.1:
        second_answered, second_end = None, second_start + rng.randrange(10, 200)
    second = leg(
        second_start,
        second_answered,
        second_end,
        disposition,
        number=2,
        started_at=second_start,
        caller_number="" if rng.random() < 0.5 else caller,
        leg_queue="211_EN" if french else rng.choice(("211_EN", "211_FR")),
    )
    return [leg(queued, answered, first_end, "Transferred"), second], second_end


def _burst(rng: random.Random, day: Day, first_id: str, number: str) -> list[CallSegment]:
    """An auto-dialer: 5 to 9 calls of a few seconds, the first five inside 40 minutes."""
    burst_start = day.start + rng.randrange(8 * 3600, 18 * 3600)
    calls = []
    for call_index in range(rng.randrange(5, 10)):
        started = min(burst_start + call_index * rng.randrange(60, 540), day.end - 1)
        contact_id = f"{first_id}{call_index:03d}"
        queued = started + rng.randrange(5, 20)
        answered = queued + rng.randrange(1, 20)
        calls.append(
            CallSegment(
                contact_id=contact_id,
                segment_id=f"{contact_id}-1",
                started_at=started,
                queued_at=queued,
                answered_at=answered,
                ended_at=answered + rng.randrange(1, 9),
                caller_number=phone_text(number, call_index),
                queue="211_EN",
                disposition="" if rng.random() < 0.8 else "Auto Dialer",
                language="en",
            )
        )
    return calls


def calls_for_day(
    day: Day, expected_calls: float, burst_numbers: list[str]
) -> tuple[list[CallSegment], list[tuple[str, int, str]]]:
    """The day's call segments, in start order, and the served calls that may be surveyed.

    `burst_numbers` are auto-dialers that hit the line today: each makes one burst of at least
    five short calls inside an hour (rules.md, auto_dialer).
    """
    rng = day.rng("calls")
    prefix = f"CA{day.day:%Y%m%d}-"
    segments: list[CallSegment] = []
    served: list[tuple[str, int, str]] = []
    starts = day.starts(rng, stochastic_round(rng, expected_calls), CALL_HOURS)
    for number, started in enumerate(starts, start=1):
        contact_id = f"{prefix}{number:06d}"
        legs, served_until = _one_call(rng, day.population, contact_id, started)
        segments.extend(legs)
        if served_until is not None:
            served.append((contact_id, served_until, "phone"))
    for dialer_index, dialer_number in enumerate(burst_numbers):
        segments.extend(_burst(rng, day, f"{prefix}AD{dialer_index}", dialer_number))
    segments.sort(key=lambda segment: (segment.started_at, segment.segment_id))
    return segments, served


def chats_for_day(day: Day, expected: float) -> tuple[list[Chat], list[tuple[str, int, str]]]:
    rng = day.rng("chats")
    population = day.population
    chats: list[Chat] = []
    served: list[tuple[str, int, str]] = []
    for number, started in enumerate(day.starts(rng, stochastic_round(rng, expected), CHAT_HOURS)):
        contact_id = f"CH-{day.day:%Y%m%d}-{number + 1:05d}"
        visitor = (
            rng.choice(population.frequent_visitors)
            if rng.random() < 0.3
            else f"v-{rng.getrandbits(48):012x}"
        )
        if rng.random() < 0.03:
            visitor = ""
        language = "fr" if rng.random() < 0.08 else "en"
        spam_flag: bool | None = False if rng.random() < 0.6 else None
        disposition = rng.choices(SERVICE_DISPOSITIONS, weights=(50, 25, 5, 20))[0]
        answered: int | None = started + min(1200, max(5, round(rng.expovariate(1 / 90))))
        roll = rng.random()
        if roll < 0.02:
            spam_flag = True
            disposition = ""
        elif roll < 0.035:
            disposition = rng.choice(("Spam", "Robocall", "Junk", "Bot"))
        elif roll < 0.037:
            disposition = "Test"
        elif roll < 0.187:
            answered = None
        if answered is None:
            ended = started + rng.randrange(20, 900)
        else:
            ended = answered + min(5400, max(30, round(rng.lognormvariate(math.log(600), 0.6))))
            if roll >= 0.037:
                served.append((contact_id, ended, "chat"))
        chats.append(
            Chat(contact_id, started, answered, ended, visitor, spam_flag, disposition, language)
        )
    return chats, served


def texts_for_day(day: Day, expected: float) -> list[Message]:
    rng = day.rng("texts")
    population = day.population
    texts: list[Message] = []
    for number, started in enumerate(day.starts(rng, stochastic_round(rng, expected), CHAT_HOURS)):
        sender = phone_text(
            rng.choice(population.frequent_callers)
            if rng.random() < 0.2
            else f"{rng.choice(('416', '647', '437', '289'))}555{rng.randrange(10000):04d}",
            rng.randrange(6),
        )
        spam_flag: bool | None = False if rng.random() < 0.5 else None
        disposition = rng.choices(SERVICE_DISPOSITIONS, weights=(40, 40, 5, 15))[0]
        roll = rng.random()
        if roll < 0.05:
            spam_flag = True
        elif roll < 0.08:
            # Only the staff blocklist catches these (rules.md, texts: sender on the blocklist).
            sender = phone_text(rng.choice(population.blocklisted), rng.randrange(6))
        elif roll < 0.10:
            disposition = rng.choice(("Spam", "Junk"))
        elif roll < 0.102:
            disposition = "Test"
        texts.append(
            Message(f"TX{day.day:%Y%m%d}{number + 1:05d}", started, sender, spam_flag, disposition)
        )
    return texts


def emails_for_day(day: Day, expected: float) -> tuple[list[Message], list[tuple[str, int, str]]]:
    rng = day.rng("emails")
    emails: list[Message] = []
    served: list[tuple[str, int, str]] = []
    for number, received in enumerate(
        day.starts(rng, stochastic_round(rng, expected), EMAIL_HOURS)
    ):
        contact_id = f"EM-{day.day:%Y%m%d}-{number + 1:04d}"
        spam_flag: bool | None = False if rng.random() < 0.7 else None
        disposition = rng.choices(SERVICE_DISPOSITIONS, weights=(40, 40, 5, 15))[0]
        roll = rng.random()
        if roll < 0.07:
            spam_flag = True
        elif roll < 0.10:
            disposition = rng.choice(("Junk", "Spam"))
        elif rng.random() < 0.02:
            served.append((contact_id, received + rng.randrange(3600, 4 * 3600), "email"))
        emails.append(Message(contact_id, received, email_address(rng), spam_flag, disposition))
    return emails, served


def surveys_for_day(day: Day, served: list[tuple[str, int, str]]) -> list[SurveyResponse]:
    """Responses from about 15% of served phone and chat clients (and a few email ones).

    A response that would land in the next month is not sent, so each monthly survey export
    holds only its own month.
    """
    rng = day.rng("surveys")
    responses: list[SurveyResponse] = []
    for contact_id, ended, channel in served:
        if channel != "email" and rng.random() >= 0.15:
            continue
        submitted = ended + rng.randrange(30, 900)
        if submitted >= day.month_end:
            continue
        spellings = {"phone": PHONE_CHANNELS, "chat": CHAT_CHANNELS}.get(channel, OTHER_CHANNELS)
        answer = rng.choices(SURVEY_ANSWER_TEXT, weights=SURVEY_ANSWER_WEIGHTS)[0]
        known_contact = contact_id if rng.random() < 0.9 else ""
        responses.append(
            SurveyResponse("", rng.choice(spellings), submitted, answer, known_contact)
        )
    responses.sort(key=lambda response: response.submitted_at)
    for number, response in enumerate(responses, start=1):
        response.response_id = f"SR-{day.day:%Y%m%d}-{number:05d}"
    return responses
