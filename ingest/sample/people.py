"""Who contacts 211 in the synthetic year: callers, spam numbers, visitors, email senders.

Numbers are fictional: area codes of Ontario with the 555 exchange; the spam and auto-dialer
numbers sit in the 555-01xx range reserved for fiction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

AREA_CODES = ("416", "647", "437", "905", "289", "365", "613", "343", "705", "249", "519", "226")

# Caller ID text for a withheld number, as different carriers and switches write it.
WITHHELD_CALLER_TEXT = ("", "anonymous", "Restricted", "PRIVATE", "unknown", "Unavailable")

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def phone_text(digits: str, style: int) -> str:
    """One 10-digit number in one of the formattings real exports use."""
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    match style % 6:
        case 0:
            return f"+1 ({area}) {exchange}-{line}"
        case 1:
            return f"{area}.{exchange}.{line}"
        case 2:
            return f"1{digits}"
        case 3:
            return digits
        case 4:
            return f"({area}) {exchange}-{line}"
        case _:
            return f"{area}-{exchange}-{line}"


def random_number(rng: random.Random) -> str:
    return f"{rng.choice(AREA_CODES)}555{rng.randrange(10000):04d}"


@dataclass(frozen=True)
class Population:
    """The recurring identities of a year: drawn once so they repeat across days and files."""

    frequent_callers: tuple[str, ...]
    spam_numbers: tuple[str, ...]
    auto_dialer_numbers: tuple[str, ...]
    blocklisted: tuple[str, ...]  # a subset of spam_numbers: what staff put on the blocklist
    frequent_visitors: tuple[str, ...]

    @classmethod
    def draw(cls, rng: random.Random, scale: float) -> Population:
        frequent = tuple(random_number(rng) for _ in range(max(40, round(3000 * scale))))
        fiction = [f"{area}55501{n:02d}" for area in AREA_CODES[:4] for n in range(100)]
        picked = rng.sample(fiction, 10)
        spam, auto_dialers = tuple(picked[:7]), tuple(picked[7:])
        visitors = tuple(
            f"v-{rng.getrandbits(48):012x}" for _ in range(max(20, round(800 * scale)))
        )
        return cls(
            frequent_callers=frequent,
            spam_numbers=spam,
            auto_dialer_numbers=auto_dialers,
            blocklisted=spam[:4],
            frequent_visitors=visitors,
        )

    def blocklist_rows(self) -> list[str]:
        """The staff blocklist: the same numbers, typed by hand in whatever format."""
        return [phone_text(number, style) for style, number in enumerate(self.blocklisted)]


def email_address(rng: random.Random) -> str:
    """A sender address at an example domain, sometimes with capitals or stray spaces."""
    first = rng.choice(("alex", "sam", "marie", "jean", "li", "priya", "omar", "chris", "ana"))
    address = f"{first}.{rng.randrange(1, 9999)}@{rng.choice(EMAIL_DOMAINS)}"
    roll = rng.random()
    if roll < 0.1:
        return address.title()
    if roll < 0.15:
        return f" {address} "
    return address
