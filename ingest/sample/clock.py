"""Fiscal-year calendar and timestamp text for the synthetic extracts.

Instants are plain integer epoch seconds so that hundreds of thousands of timestamps can be
formatted quickly; the America/Toronto offset is looked up once per hour of the year.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum

from o211.calendar import TORONTO, fiscal_year_start


class TimestampStyle(Enum):
    """How an export writes its timestamps: real systems differ (extracts.md accepts all three)."""

    OFFSET = "offset"  # 2025-04-01T09:15:02-04:00, the offset correct for the instant
    NAIVE = "naive"  # 2025-04-01T09:15:02, local America/Toronto wall-clock time
    UTC = "utc"  # 2025-04-01T13:15:02Z


def parse_fiscal_year(fiscal_year: str) -> tuple[date, date]:
    """First and last day of a fiscal year named like `2025-26` (1 April to 31 March)."""
    start_year = fiscal_year_start(fiscal_year)
    return date(start_year, 4, 1), date(start_year + 1, 3, 31)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class Clock:
    """Local-day boundaries and ISO 8601 text for epoch-second instants in America/Toronto."""

    def __init__(self) -> None:
        self._offset_by_hour: dict[int, int] = {}
        self._date_text: dict[int, str] = {}

    @staticmethod
    def local_midnight(day: date) -> int:
        """Epoch seconds of local midnight that starts `day`."""
        return int(datetime(day.year, day.month, day.day, tzinfo=TORONTO).timestamp())

    def offset_seconds(self, instant: int) -> int:
        # Toronto changes offset only on the hour, so one lookup per UTC hour is exact.
        hour = instant // 3600
        offset = self._offset_by_hour.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, TORONTO)
            utc_offset = moment.utcoffset()
            assert utc_offset is not None
            offset = int(utc_offset.total_seconds())
            self._offset_by_hour[hour] = offset
        return offset

    def _wall_text(self, seconds: int) -> str:
        day_number, second_of_day = divmod(seconds, 86400)
        day_text = self._date_text.get(day_number)
        if day_text is None:
            day_text = (date(1970, 1, 1) + timedelta(days=day_number)).isoformat()
            self._date_text[day_number] = day_text
        hours, rest = divmod(second_of_day, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{day_text}T{hours:02d}:{minutes:02d}:{secs:02d}"

    def text(self, instant: int, style: TimestampStyle) -> str:
        if style is TimestampStyle.UTC:
            return self._wall_text(instant) + "Z"
        offset = self.offset_seconds(instant)
        wall = self._wall_text(instant + offset)
        if style is TimestampStyle.NAIVE:
            return wall
        sign = "-" if offset < 0 else "+"
        hours, rest = divmod(abs(offset), 3600)
        return f"{wall}{sign}{hours:02d}:{rest // 60:02d}"

    def local_date(self, instant: int) -> date:
        return datetime.fromtimestamp(instant, TORONTO).date()
