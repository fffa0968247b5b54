"""Accounts from the terminal and from the admin pages, the schema's migrations, and the
append-only audit log with its CSV export (portal.md, "Accounts and roles", "Audit")."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest
from typer.testing import CliRunner

from o211.paths import DataPaths
from orchestration.cli import app as cli_app
from orchestration.cli import print_demo_accounts
from portal import audit
from portal.accounts import ADMIN, LIAISON, ROLES, AccountError, add_user, authenticate, list_users
from portal.db import MIGRATIONS, Database, database_file, open_database
from portal.settings import PortalSettings
from tests.portal.conftest import PASSWORD, csrf_of, login


def test_migrations_apply_once_in_wal_mode(tmp_path):
    db = Database(tmp_path / "portal.sqlite3")
    assert db.migrate() == len(MIGRATIONS)
    assert db.migrate() == len(MIGRATIONS)  # a second start changes nothing
    with sqlite3.connect(db.path) as con:
        assert con.execute("pragma user_version").fetchone()[0] == len(MIGRATIONS)
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_the_audit_log_refuses_updates_and_deletes(tmp_path):
    db = open_database(DataPaths(tmp_path))
    audit.record(db, PortalSettings(), audit.LOGIN, actor="someone", address="10.0.0.1")
    for statement in ("update audit_log set actor = 'nobody'", "delete from audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), db.connect() as con:
            con.execute(statement)
    assert [e.actor for e in audit.entries(db)] == ["someone"]


def test_the_audit_csv_export_neutralises_formula_cells(portal_env, as_role):
    db = portal_env.app.state.portal.db
    audit.record(db, portal_env.settings, audit.LOGIN_FAILED, actor='=HYPERLINK("x")', address="-1")
    response = as_role(ADMIN).get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    hostile = next(row for row in rows if row["action"] == "login failed")
    assert hostile["actor"] == '\'=HYPERLINK("x")' and hostile["address"] == "'-1"
    assert any(row["action"] == "login" and row["actor"] == "admin-user" for row in rows)


def test_passwords_are_argon2id_and_at_least_12_characters(tmp_path):
    db, settings = open_database(DataPaths(tmp_path)), PortalSettings()
    with pytest.raises(AccountError, match="at least 12"):
        add_user(db, settings, "shorty", LIAISON, "eleven char")
    add_user(db, settings, "ok", LIAISON, "twelve chars")
    with sqlite3.connect(database_file(DataPaths(tmp_path))) as con:
        (stored,) = con.execute("select password_hash from users").fetchone()
    assert stored.startswith("$argon2id$") and "twelve chars" not in stored
    assert authenticate(db, settings, "OK", "twelve chars").name == "ok"  # names ignore case
    with pytest.raises(AccountError, match="already exists"):
        add_user(db, settings, "Ok", ADMIN, "twelve chars")


def run_cli(data_dir, *args, password_input=None):
    return CliRunner().invoke(
        cli_app, list(args), input=password_input, env={"O211_DATA_DIR": str(data_dir)}
    )


def test_user_commands_from_the_terminal(tmp_path):
    secret = "a long enough secret"
    added = run_cli(tmp_path, "user", "add", "dana", "--role", "approver", "--email",
                    "dana@example.org", password_input=secret + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert secret not in added.output
    listed = run_cli(tmp_path, "user", "list")
    assert "dana" in listed.output and "approver" in listed.output and "active" in listed.output
    short = run_cli(tmp_path, "user", "reset-password", "dana", password_input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    reset = run_cli(tmp_path, "user", "reset-password", "dana", password_input="another secret!\n")
    assert reset.exit_code == 0
    disabled = run_cli(tmp_path, "user", "disable", "dana")
    assert disabled.exit_code == 0
    assert "disabled" in run_cli(tmp_path, "user", "list").output
    bad_role = run_cli(tmp_path, "user", "add", "eve", "--role", "boss", password_input="x" * 12)
    assert bad_role.exit_code == 2
    # There is no way to give a password on the command line.
    assert (
        run_cli(tmp_path, "user", "add", "eve", "--role", "admin", "--password", "x" * 12).exit_code
        == 2
    )
    db = open_database(DataPaths(tmp_path))
    actions = [e.action for e in reversed(audit.entries(db))]
    assert actions == ["account added", "password reset", "account disabled"]


def test_demo_accounts_one_per_role_printed_once(tmp_path, capsys):
    paths = DataPaths(tmp_path)
    print_demo_accounts(paths)
    printed = capsys.readouterr().out.strip()
    db = open_database(paths)
    accounts = {a.name: a.role for a in list_users(db)}
    assert accounts == {f"demo-{role}": role for role in ROLES}
    for line in printed.splitlines()[1:]:
        role, name, password = line.split()
        assert authenticate(db, PortalSettings(), name, password).role == role


def test_an_admin_manages_accounts_in_the_portal(portal_env, as_role):
    admin = as_role(ADMIN)
    form = {"name": "liam", "role": LIAISON, "password": PASSWORD, "email": "liam@example.org"}
    assert (
        admin.post("/admin/users", data={**form, "csrf_token": csrf_of(admin)}).status_code == 303
    )
    refused = admin.post("/admin/users", data={**form, "csrf_token": csrf_of(admin)})
    assert refused.status_code == 400 and "already exists" in refused.text
    assert login(portal_env.client(), "liam", PASSWORD).status_code == 303
    token = csrf_of(admin)
    assert admin.post("/admin/users/liam/disable", data={"csrf_token": token}).status_code == 303
    assert login(portal_env.client(), "liam", PASSWORD).status_code == 401
    assert admin.post("/admin/users/liam/enable", data={"csrf_token": token}).status_code == 303
    new = "a fresh password"
    assert admin.post("/admin/users/liam/password", data={"password": new, "csrf_token": token}).ok
    assert login(portal_env.client(), "liam", new).status_code == 303
    own = admin.post("/admin/users/admin-user/disable", data={"csrf_token": token})
    assert own.status_code == 400
    page = admin.get("/admin/audit").text
    for action in ("account added", "account disabled", "account enabled", "password reset"):
        assert action in page
