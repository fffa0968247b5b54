"""The extracts of extracts.md as data: each kind's fields, their types, and the limits every
kind shares (accepted dates, text length, the funding-source list).

One description, read by the reader (header check), the typing and pandera checks
(`ingest.contracts`), staging (which columns load where) and the sample generator's tests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd

from o211.paths import DBT_PROJECT_DIR

FUNDING_SOURCES_SEED = DBT_PROJECT_DIR / "seeds" / "funding_sources.csv"

TEXT = pd.StringDtype(na_value=np.nan)
INSTANT = "datetime64[us, UTC]"
DAY = "datetime64[us]"


class FieldType(Enum):
    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    WEB_DATE = "web date"
    BOOLEAN = "boolean"
    COUNT = "count"
    MONEY = "money"
    MONTH = "month"
    PHONE = "phone"  # personal information: normalised here, hashed before loading
    EMAIL = "email"
    VISITOR = "visitor id"
    FREE_TEXT = "free text"  # read for the header check only, never loaded


IDENTITY_TYPES = {FieldType.PHONE, FieldType.EMAIL, FieldType.VISITOR}


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool = False
    blank_ok: bool = True
    target: str | None = None

    @property
    def column(self) -> str | None:
        """The raw table column it loads into (None: not loaded)."""
        if self.type is FieldType.FREE_TEXT:
            return None
        return self.target or self.name


def _key(name: str, type_: FieldType = FieldType.TEXT) -> Field:
    return Field(name, type_, required=True, blank_ok=False)


@dataclass(frozen=True)
class Extract:
    kind: str
    fields: tuple[Field, ...]
    date_field: str
    formats: tuple[str, ...] = (".csv",)
    ended_not_before: tuple[str, str] | None = None

    @property
    def known(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.fields if f.column]


TS = FieldType.TIMESTAMP
EXTRACTS: dict[str, Extract] = {
    "calls": Extract(
        "calls",
        (
            _key("contact_id"),
            Field("segment_id", FieldType.TEXT),
            _key("started_at", TS),
            Field("queued_at", TS),
            Field("answered_at", TS),
            _key("ended_at", TS),
            Field("caller_number", FieldType.PHONE, target="caller_hash"),
            _key("queue"),
            Field("disposition", FieldType.TEXT),
            Field("language", FieldType.TEXT),
        ),
        date_field="started_at",
        ended_not_before=("ended_at", "started_at"),
    ),
    "chats": Extract(
        "chats",
        (
            _key("contact_id"),
            _key("started_at", TS),
            Field("answered_at", TS),
            _key("ended_at", TS),
            Field("visitor_id", FieldType.VISITOR, target="visitor_hash"),
            Field("spam_flag", FieldType.BOOLEAN),
            Field("disposition", FieldType.TEXT),
            Field("language", FieldType.TEXT),
        ),
        date_field="started_at",
    ),
    "emails": Extract(
        "emails",
        (
            _key("contact_id"),
            _key("received_at", TS),
            Field("sender", FieldType.EMAIL, target="sender_hash"),
            Field("spam_flag", FieldType.BOOLEAN),
            Field("disposition", FieldType.TEXT),
        ),
        date_field="received_at",
    ),
    "texts": Extract(
        "texts",
        (
            _key("contact_id"),
            _key("started_at", TS),
            Field("sender", FieldType.PHONE, target="sender_hash"),
            Field("spam_flag", FieldType.BOOLEAN),
            Field("disposition", FieldType.TEXT),
        ),
        date_field="started_at",
    ),
    "surveys": Extract(
        "surveys",
        (
            _key("response_id"),
            _key("channel"),
            _key("submitted_at", TS),
            Field("answer", FieldType.TEXT, required=True),
            Field("contact_id", FieldType.TEXT),
        ),
        date_field="submitted_at",
    ),
    "web": Extract(
        "web",
        (
            _key("date", FieldType.WEB_DATE),
            Field("hostname", FieldType.TEXT),
            _key("sessions", FieldType.COUNT),
        ),
        date_field="date",
    ),
    "finance": Extract(
        "finance",
        (
            _key("period", FieldType.MONTH),
            _key("account"),
            Field("description", FieldType.FREE_TEXT),
            _key("funding_source"),
            _key("amount", FieldType.MONEY),
        ),
        date_field="period",
        formats=(".csv", ".xlsx"),
    ),
}


@dataclass(frozen=True)
class AcceptedDates:
    """The dates a timestamp, date or finance period may fall on (inclusive, Toronto dates).

    A date far outside the service's life is a broken export (a year-1 placeholder, a 9999
    "never" marker); loaded, it would give fiscal years like `0-01` that break every report.
    """

    first: date = date(2000, 1, 1)
    last: date = date(2099, 12, 31)

    def params(self, day: str) -> dict[str, str]:
        """The parameters of the `date.outside_range` problem for a date outside the range."""
        return {"day": day, "first": str(self.first), "last": str(self.last)}


DEFAULT_ACCEPTED_DATES = AcceptedDates()

# Ids, queues, dispositions and languages are short codes; a longer cell is a broken export (a
# whole file pasted into one cell, a missing closing quote), never a value to count.
MAX_TEXT_CHARS = 1_000


# --- funding sources ---------------------------------------------------------------------------


def load_funding_sources(seed: Path = FUNDING_SOURCES_SEED) -> tuple[str, ...]:
    """The accepted `funding_source` values, from the dbt seed that maps them (rules.md).

    One list for ingest and dbt: a value the seed does not know could not be classified as
    ministry-funded or not, so it rejects the file.
    """
    if not seed.exists():
        raise FileNotFoundError(f"the funding-source list {seed} is missing")
    with seed.open(encoding="utf-8-sig", newline="") as handle:
        return tuple(
            row["funding_source"].strip()
            for row in csv.DictReader(handle)
            if row.get("funding_source", "").strip()
        )
