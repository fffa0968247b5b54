"""The portal's settings: what an operator may change, and the clock tests replace."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SECURE_COOKIES_ENV = "O211_PORTAL_SECURE_COOKIES"
MB = 1024 * 1024
DEFAULT_PORTAL_URL = "http://127.0.0.1:8211"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PortalSettings:
    """Limits from portal.md ("Accounts and roles", "Finance upload").

    `secure_cookies` marks the session cookie Secure; turn it on when a TLS reverse proxy sits
    in front (over plain http on 127.0.0.1 a Secure cookie would never come back).
    """

    secure_cookies: bool = False
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=8)
    lockout_failures: int = 5
    lockout_period: timedelta = timedelta(minutes=15)
    max_upload_bytes: int = 10 * MB
    clock: Callable[[], datetime] = field(default=utc_now)
    # Part 2: links in emails and on the status page, and how often the mail outbox is drained
    # (O211_PORTAL_URL, O211_DAGSTER_URL, O211_MAIL_INTERVAL_SECONDS; 0 = no background task).
    portal_url: str = DEFAULT_PORTAL_URL
    dagster_url: str = DEFAULT_DAGSTER_URL
    mail_interval_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> PortalSettings:
        secure = os.environ.get(SECURE_COOKIES_ENV, "").strip().lower() in {"1", "true", "yes"}
        interval = os.environ.get("O211_MAIL_INTERVAL_SECONDS", "").strip()
        return cls(
            secure_cookies=secure,
            portal_url=os.environ.get("O211_PORTAL_URL", "").strip().rstrip("/")
            or DEFAULT_PORTAL_URL,
            dagster_url=os.environ.get("O211_DAGSTER_URL", "").strip().rstrip("/")
            or DEFAULT_DAGSTER_URL,
            mail_interval_seconds=float(interval) if interval else 30.0,
        )
