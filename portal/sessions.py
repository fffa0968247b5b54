"""Server-side sessions: an opaque random id in the cookie, its SHA-256 in the database.

Storing only the digest means a copy of the database does not hand out live sessions. Each
session carries its own CSRF token (the synchronizer token every form posts back). Expiry
follows portal.md: 30 minutes idle, 8 hours in all, a new id at every login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from portal.accounts import Account, user_by_id
from portal.db import Database
from portal.settings import PortalSettings

COOKIE_NAME = "o211_session"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    created_at: datetime

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf_token)


def start_session(db: Database, settings: PortalSettings, account: Account) -> str:
    """A new session for `account`; returns the id for the cookie (never stored as such)."""
    session_id = secrets.token_urlsafe(32)
    now = settings.clock().isoformat()
    with db.connect() as con:
        con.execute(
            "insert into sessions (id_hash, user_id, created_at, last_seen_at, csrf_token) "
            "values (?, ?, ?, ?, ?)",
            (_digest(session_id), account.id, now, now, secrets.token_urlsafe(32)),
        )
    return session_id


def current_session(
    db: Database, settings: PortalSettings, session_id: str | None
) -> Session | None:
    """The live session of this cookie value, its idle clock restarted; None when expired."""
    if not session_id or len(session_id) > 128:
        return None
    now = settings.clock()
    with db.connect() as con:
        row = con.execute(
            "select * from sessions where id_hash = ?", (_digest(session_id),)
        ).fetchone()
        if row is None:
            return None
        created = datetime.fromisoformat(row["created_at"])
        last_seen = datetime.fromisoformat(row["last_seen_at"])
        if now - last_seen >= settings.session_idle or now - created >= settings.session_absolute:
            con.execute("delete from sessions where id_hash = ?", (row["id_hash"],))
            return None
        con.execute(
            "update sessions set last_seen_at = ? where id_hash = ?",
            (now.isoformat(), row["id_hash"]),
        )
    account = user_by_id(db, row["user_id"])
    if account is None or not account.active:
        return None
    return Session(account=account, csrf_token=row["csrf_token"], created_at=created)


def end_session(db: Database, session_id: str | None) -> None:
    if not session_id:
        return
    with db.connect() as con:
        con.execute("delete from sessions where id_hash = ?", (_digest(session_id),))


def purge_expired(db: Database, settings: PortalSettings) -> int:
    """Drop sessions past either limit (kept small; called at login)."""
    now = settings.clock()
    with db.connect() as con:
        cursor = con.execute(
            "delete from sessions where last_seen_at <= ? or created_at <= ?",
            (
                (now - settings.session_idle).isoformat(),
                (now - settings.session_absolute).isoformat(),
            ),
        )
    return cursor.rowcount
