"""Accounts: names, roles, Argon2id password hashes and the lock-out after failed logins.

The CLI (`o211 user ...`) and the admin pages both call these functions; neither keeps its own
rules. A password or a hash never leaves this module except into the database.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from portal.db import Database
from portal.i18n import N_, Message
from portal.settings import PortalSettings

FINANCE, APPROVER, LIAISON, ADMIN = "finance", "approver", "liaison", "admin"
ROLES: tuple[str, ...] = (FINANCE, APPROVER, LIAISON, ADMIN)
# The role names as pages show them (translated); marked here so extraction finds them.
ROLE_LABELS = (N_("finance"), N_("approver"), N_("liaison"), N_("admin"))
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # hashing megabytes of "password" would be a cheap denial of service
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about an account that cannot be done; the message says why, for a person."""

    def __init__(self, template: str, **params: object) -> None:
        self.message = Message(template, params)
        super().__init__(str(self.message))


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    email: str | None
    language: str | None
    created_at: str
    disabled_at: str | None
    locked_until: str | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def _account(row: sqlite3.Row) -> Account:
    return Account(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        email=row["email"],
        language=row["language"],
        created_at=row["created_at"],
        disabled_at=row["disabled_at"],
        locked_until=row["locked_until"],
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            N_("the password must have at least {count} characters"), count=MIN_PASSWORD_CHARS
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(
            N_("the password must have at most {count} characters"), count=MAX_PASSWORD_CHARS
        )


def _check_fields(name: str, role: str, email: str | None) -> None:
    if not NAME_PATTERN.match(name):
        raise AccountError(
            N_("a name is 1 to 64 letters, digits or . _ @ -, starting with a letter or digit")
        )
    if role not in ROLES:
        raise AccountError(N_("the role must be one of {roles}"), roles=", ".join(ROLES))
    if email is not None and not EMAIL_PATTERN.match(email):
        raise AccountError(N_("{email} is not an email address"), email=email)


def add_user(
    db: Database, settings: PortalSettings, name: str, role: str, password: str,
    email: str | None = None,
) -> Account:  # fmt: skip
    email = (email or "").strip() or None
    _check_fields(name, role, email)
    check_password(password)
    now = settings.clock().isoformat()
    try:
        with db.connect() as con:
            con.execute(
                "insert into users (name, role, email, password_hash, created_at) "
                "values (?, ?, ?, ?, ?)",
                (name, role, email, _hasher.hash(password), now),
            )
    except sqlite3.IntegrityError as error:
        raise AccountError(N_("an account named {name} already exists"), name=name) from error
    return get_user(db, name)


def get_user(db: Database, name: str) -> Account:
    with db.connect() as con:
        row = con.execute("select * from users where name = ?", (name,)).fetchone()
    if row is None:
        raise AccountError(N_("there is no account named {name}"), name=name)
    return _account(row)


def user_by_id(db: Database, user_id: int) -> Account | None:
    with db.connect() as con:
        row = con.execute("select * from users where id = ?", (user_id,)).fetchone()
    return None if row is None else _account(row)


def list_users(db: Database) -> list[Account]:
    with db.connect() as con:
        rows = con.execute("select * from users order by name collate nocase").fetchall()
    return [_account(row) for row in rows]


def emails_of_role(db: Database, role: str) -> list[str]:
    """The addresses of the active accounts of a role (who a notification goes to)."""
    with db.connect() as con:
        rows = con.execute(
            "select email from users where role = ? and disabled_at is null "
            "and email is not null order by name",
            (role,),
        ).fetchall()
    return [row["email"] for row in rows]


def disable_user(db: Database, settings: PortalSettings, name: str) -> Account:
    account = get_user(db, name)
    with db.connect() as con:
        con.execute(
            "update users set disabled_at = coalesce(disabled_at, ?) where id = ?",
            (settings.clock().isoformat(), account.id),
        )
        # A disabled account is out at once, not when its sessions expire.
        con.execute("delete from sessions where user_id = ?", (account.id,))
    return get_user(db, name)


def enable_user(db: Database, name: str) -> Account:
    account = get_user(db, name)
    with db.connect() as con:
        con.execute("update users set disabled_at = null where id = ?", (account.id,))
    return get_user(db, name)


def set_password(db: Database, name: str, password: str) -> Account:
    """A new password; clears the lock-out and ends the account's sessions."""
    check_password(password)
    account = get_user(db, name)
    with db.connect() as con:
        con.execute(
            "update users set password_hash = ?, failed_logins = 0, locked_until = null "
            "where id = ?",
            (_hasher.hash(password), account.id),
        )
        con.execute("delete from sessions where user_id = ?", (account.id,))
    return get_user(db, name)


def set_language(db: Database, user_id: int, language: str) -> None:
    with db.connect() as con:
        con.execute("update users set language = ? where id = ?", (language, user_id))


class LoginRefused(Exception):
    """Wrong name or password, a disabled account, or a locked one (`locked` says which).

    `known` is False when no account has the name: the name is then not repeated in logs or the
    audit log, since a password typed into the name field is the usual reason.
    """

    def __init__(self, locked: bool = False, known: bool = True) -> None:
        super().__init__("locked" if locked else "refused")
        self.locked = locked
        self.known = known


def authenticate(db: Database, settings: PortalSettings, name: str, password: str) -> Account:
    """The account when the password matches; counts failures and locks after too many.

    The lock is per name (portal.md: "5 failed logins for a name lock it for 15 minutes"); while
    it holds, even the right password is refused, so guessing cannot continue. Failures count
    while each comes within 15 minutes of the one before (choice: the spec gives no window).
    """
    now = settings.clock()
    # The failure counter must commit, so the refusal is raised after the transaction ends.
    refusal: LoginRefused | None = None
    with db.connect() as con:
        row = con.execute("select * from users where name = ?", (name,)).fetchone()
        if row is None:
            # Spend the time a real check takes, so a response time does not reveal names.
            _dummy_verify(password)
            raise LoginRefused(known=False)
        locked_until = row["locked_until"]
        if locked_until is not None and datetime.fromisoformat(locked_until) > now:
            _dummy_verify(password)  # a locked name answers no faster than any other
            raise LoginRefused(locked=True)
        try:
            _hasher.verify(row["password_hash"], password[:MAX_PASSWORD_CHARS])
            matched = True
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
        if not matched:
            last = row["last_failed_at"]
            recent = (
                last is not None and now - datetime.fromisoformat(last) < settings.lockout_period
            )
            failures = (row["failed_logins"] if recent else 0) + 1
            locked = failures >= settings.lockout_failures
            con.execute(
                "update users set failed_logins = ?, locked_until = ?, last_failed_at = ? "
                "where id = ?",
                (
                    0 if locked else failures,
                    (now + settings.lockout_period).isoformat() if locked else None,
                    now.isoformat(),
                    row["id"],
                ),
            )
            refusal = LoginRefused(locked=locked)
        elif row["disabled_at"] is not None:
            refusal = LoginRefused()
        else:
            con.execute(
                "update users set failed_logins = 0, locked_until = null where id = ?",
                (row["id"],),
            )
            if _hasher.check_needs_rehash(row["password_hash"]):
                con.execute(
                    "update users set password_hash = ? where id = ?",
                    (_hasher.hash(password), row["id"]),
                )
    if refusal is not None:
        raise refusal
    return _account(row)


_DUMMY_HASH = _hasher.hash("not a password of anybody here")


def _dummy_verify(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password[:MAX_PASSWORD_CHARS])
