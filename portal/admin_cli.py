"""Account commands for the terminal (`o211 user ...`, `o211 demo`): the CLI only wires these.

Passwords come from the terminal without echo, or from standard input when it is not a
terminal (one line, for scripts); never from the command line, where `ps` and shell history
would keep them.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from collections.abc import Callable

from o211.paths import DataPaths
from portal import audit
from portal.accounts import (
    ROLES,
    Account,
    AccountError,
    add_user,
    check_password,
    disable_user,
    get_user,
    list_users,
    set_password,
)
from portal.db import Database, open_database
from portal.i18n import N_
from portal.settings import PortalSettings

DEMO_PREFIX = "demo-"


def _actor() -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"o211 CLI ({who})"


def read_password(prompt: Callable[[str], str] = getpass.getpass) -> str:
    """A new password: asked twice on a terminal, one line of stdin otherwise."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        check_password(password)
        return password
    password = prompt("New password (at least 12 characters): ")
    check_password(password)
    if prompt("The same password again: ") != password:
        raise AccountError(N_("the two passwords differ"))
    return password


class AccountCommands:
    def __init__(self, paths: DataPaths, settings: PortalSettings | None = None) -> None:
        self.settings = settings or PortalSettings.from_env()
        self.db: Database = open_database(paths)

    def _audit(self, action: str, details: str) -> None:
        audit.record(
            self.db, self.settings, action, actor=_actor(), address="local", details=details
        )

    def add(self, name: str, role: str, password: str, email: str | None) -> Account:
        account = add_user(self.db, self.settings, name, role, password, email)
        self._audit(audit.ACCOUNT_ADDED, f"account {account.name}, role {account.role}")
        return account

    def disable(self, name: str) -> Account:
        account = disable_user(self.db, self.settings, name)
        self._audit(audit.ACCOUNT_DISABLED, f"account {account.name}")
        return account

    def reset_password(self, name: str, password: str) -> Account:
        account = set_password(self.db, name, password)
        self._audit(audit.PASSWORD_RESET, f"account {account.name}")
        return account

    def accounts(self) -> list[Account]:
        return list_users(self.db)

    def demo_accounts(self) -> list[tuple[str, str, str]]:
        """One account per role with a random password, (name, role, password) to print once.

        An existing demo account gets a new password (the old one was shown only once).
        """
        created = []
        for role in ROLES:
            name, password = f"{DEMO_PREFIX}{role}", secrets.token_urlsafe(12)
            try:
                get_user(self.db, name)
                self.reset_password(name, password)
            except AccountError:
                self.add(name, role, password, None)
            created.append((name, role, password))
        return created
