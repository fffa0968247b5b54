"""The portal's security rules over real HTTP (portal.md, "Accounts and roles"; issue 12, item 6).

Routes are enumerated from the app itself, so a new route without a role rule, or one that
answers without a session or to a role outside its table, fails here.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable

import pytest

from o211.paths import DataPaths
from portal.accounts import ADMIN, APPROVER, FINANCE, LIAISON, ROLES, add_user
from portal.app import create_app
from portal.db import database_file
from portal.sessions import COOKIE_NAME
from portal.settings import PortalSettings
from portal.web import LOGIN_CSRF_COOKIE, PUBLIC_PATHS, api_routes, roles_of
from tests.portal.conftest import (
    LOGIN_TOKEN_RE,
    PASSWORD,
    Client,
    LiveServer,
    PortalEnv,
    csrf_of,
    login,
)

# The role table of portal.md for every page (part 2's pages are also checked by their own
# tests, tests/portal/test_reports_routes.py).
EXPECTED_ROLES = {
    ("GET", "/finance"): {FINANCE, APPROVER},
    ("GET", "/finance/template"): {FINANCE, APPROVER},
    ("GET", "/finance/uploads/{upload_id}"): {FINANCE, APPROVER},
    ("POST", "/finance/upload"): {FINANCE},
    ("GET", "/admin/users"): {ADMIN},
    ("POST", "/admin/users"): {ADMIN},
    ("POST", "/admin/users/{name}/disable"): {ADMIN},
    ("POST", "/admin/users/{name}/enable"): {ADMIN},
    ("POST", "/admin/users/{name}/password"): {ADMIN},
    ("GET", "/admin/audit"): {ADMIN},
    ("GET", "/admin/audit.csv"): {ADMIN},
    ("GET", "/account"): set(ROLES),
    ("POST", "/logout"): set(ROLES),
    # Part 2: reports (portal.md, "Report review, approval and delivery") and pipeline status.
    ("GET", "/reports"): {APPROVER, LIAISON},
    ("GET", "/reports/sent"): {APPROVER, LIAISON},
    ("GET", "/reports/{fiscal_year}"): {APPROVER},
    ("GET", "/reports/{fiscal_year}/{stage}/v{version}"): {APPROVER},
    ("POST", "/reports/{fiscal_year}/{stage}/v{version}/decide"): {APPROVER},
    ("POST", "/reports/{fiscal_year}/{stage}/v{version}/send"): {APPROVER},
    ("GET", "/reports/{fiscal_year}/{stage}/v{version}/{kind}"): {APPROVER, LIAISON},
    ("GET", "/admin/status"): {ADMIN},
}


def endpoints(portal_env: PortalEnv) -> list[tuple[str, str, frozenset[str] | None]]:
    """(method, path with its parameters filled, roles) for every route of the app."""
    found = []
    for route in api_routes(portal_env.app.routes):
        path = re.sub(
            r"\{[^}]+\}", lambda m: "1" if m[0].endswith("_id}") else "someone", route.path
        )
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, path, roles_of(route.dependant.dependencies)))
    return found


def test_every_route_has_a_role_rule_or_is_public(portal_env):
    routes = {
        (method, route.path): roles_of(route.dependant.dependencies)
        for route in api_routes(portal_env.app.routes)
        for method in route.methods or ()
    }
    unruled = [key for key, roles in routes.items() if roles is None and key[1] not in PUBLIC_PATHS]
    assert not unruled, f"routes without require_role: {unruled}"
    for key, roles in EXPECTED_ROLES.items():
        assert routes.get(key) == roles, key


def test_without_a_session_every_page_redirects_to_login_and_every_form_is_refused(portal_env):
    client = portal_env.client()
    checked = 0
    for method, path, roles in endpoints(portal_env):
        if roles is None:
            continue
        response = client.request(method, path, data={"csrf_token": "x"})
        checked += 1
        if method == "GET":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].endswith("/login"), (method, path)
        else:
            assert response.status_code == 401, (method, path)
    assert checked >= len(EXPECTED_ROLES)
    assert client.get("/login").status_code == 200
    assert client.get("/static/portal.css").status_code == 200


def test_each_role_is_refused_outside_its_table(portal_env, as_role):
    clients = {role: as_role(role) for role in ROLES}
    tokens = {role: csrf_of(client) for role, client in clients.items()}
    refused = 0
    for method, path, roles in endpoints(portal_env):
        if roles is None:
            continue
        for role in set(ROLES) - roles:
            response = clients[role].request(method, path, data={"csrf_token": tokens[role]})
            assert response.status_code == 403, (role, method, path, response.status_code)
            refused += 1
    assert refused > 0
    # The refusal is a page in the portal's layout, not a bare error.
    page = clients[LIAISON].get("/admin/users")
    assert "Your role may not use this page." in page.text


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(portal_env, as_role):
    admin = as_role(ADMIN)
    for data in ({}, {"csrf_token": "forged"}):
        form = {"name": "mallory", "role": ADMIN, "password": PASSWORD, **data}
        response = admin.post("/admin/users", data=form)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    assert "mallory" not in admin.get("/admin/users").text
    # Another session's token is wrong too: tokens are per session.
    other = as_role(ADMIN)
    response = admin.post(
        "/admin/users",
        data={"name": "mallory", "role": ADMIN, "password": PASSWORD, "csrf_token": csrf_of(other)},
    )
    assert response.status_code == 403
    finance = as_role(FINANCE)
    upload = finance.post("/finance/upload", files={"file": ("a.csv", b"period\n")})
    assert upload.status_code == 403
    assert not any(portal_env.paths.inbox("finance").iterdir())
    # With the right token the same form works: the refusals above were about the token.
    response = admin.post(
        "/admin/users",
        data={"name": "mallory", "role": ADMIN, "password": PASSWORD, "csrf_token": csrf_of(admin)},
    )
    assert response.status_code == 303


def test_login_form_needs_the_token_it_was_served_with(portal_env):
    client = portal_env.client()
    client.get("/login")
    response = client.post(
        "/login", data={"name": "finance-user", "password": PASSWORD, "login_token": "forged"}
    )
    assert response.status_code == 403
    assert COOKIE_NAME not in client.cookies


def test_five_failed_logins_lock_the_name_for_fifteen_minutes(portal_env):
    client = portal_env.client()
    for _ in range(4):
        assert login(client, "finance-user", "wrong password!").status_code == 401
    fifth = login(client, "finance-user", "wrong password!")
    # The lock is not announced: the same sentence as for a name no account has.
    unknown = login(portal_env.client(), "nobody-has-this-name", "wrong password!")
    assert fifth.status_code == unknown.status_code == 401
    assert _error_of(fifth.text) == _error_of(unknown.text)
    assert "refused for 15 minutes" in _error_of(fifth.text)
    # Locked: even the right password is refused, and other names are not affected.
    assert login(client, "finance-user", PASSWORD).status_code == 401
    assert login(portal_env.client(), "approver-user", PASSWORD).status_code == 303
    portal_env.clock.advance(minutes=14, seconds=59)
    assert login(client, "finance-user", PASSWORD).status_code == 401
    portal_env.clock.advance(seconds=2)
    assert login(client, "finance-user", PASSWORD).status_code == 303
    actions = [row[0] for row in _audit_rows(portal_env, "finance-user")]
    assert actions.count("login failed") == 4
    assert actions.count("login locked") >= 2
    assert actions[-1] == "login"


def test_failures_spread_over_time_do_not_add_up_to_a_lock(portal_env):
    client = portal_env.client()
    for _ in range(4):
        assert login(client, "finance-user", "wrong password!").status_code == 401
    portal_env.clock.advance(minutes=16)
    for _ in range(4):
        assert "locked" not in login(client, "finance-user", "wrong password!").text
    assert login(client, "finance-user", PASSWORD).status_code == 303


def _error_of(page: str) -> str:
    found = re.search(r'class="error"[^>]*>([^<]*)<', page)
    assert found, page
    return found[1]


def _audit_rows(portal_env: PortalEnv, actor: str) -> list[tuple[str, str]]:
    with sqlite3.connect(database_file(portal_env.paths)) as con:
        return con.execute(
            "select action, address from audit_log where actor = ? order by id", (actor,)
        ).fetchall()


def test_session_cookie_is_httponly_samesite_strict_and_secure_when_configured(tmp_path):
    for secure in (False, True):
        paths = DataPaths(tmp_path / f"data-{secure}").ensure()
        app = create_app(paths, settings=PortalSettings(secure_cookies=secure))
        add_user(app.state.portal.db, app.state.portal.settings, "f", FINANCE, PASSWORD)
        server = LiveServer(app)
        try:
            client = Client(server.url)
            token = LOGIN_TOKEN_RE.search(client.get("/login").text)
            assert token
            # Over plain http a Secure cookie is not sent back by itself: send it by hand.
            response = client.post(
                "/login",
                data={"name": "f", "password": PASSWORD, "login_token": token[1]},
                cookies={LOGIN_CSRF_COOKIE: token[1]},
            )
        finally:
            server.stop()
        cookie = next(
            value
            for value in response.raw.headers.getlist("set-cookie")
            if value.startswith(COOKIE_NAME + "=")
        )
        attributes = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}
        assert "httponly" in attributes
        assert attributes["samesite"].strip().lower() == "samesite=strict"
        assert ("secure" in attributes) is secure
        assert "max-age" not in attributes and "expires" not in attributes


def test_responses_carry_a_restrictive_csp_and_frame_denial(portal_env, as_role):
    finance = as_role(FINANCE)
    for response in (
        portal_env.client().get("/login"),
        portal_env.client().get("/static/portal.css"),
        portal_env.client().get("/finance"),
        finance.get("/finance"),
        finance.get("/no-such-page"),
        finance.get("/admin/users"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    page = finance.get("/finance").text
    assert "<script" not in page and " style=" not in page


def test_sessions_expire_after_30_minutes_idle_and_8_hours_in_all(portal_env, as_role):
    client = as_role(FINANCE)
    portal_env.clock.advance(minutes=29)
    assert client.get("/finance").status_code == 200
    portal_env.clock.advance(minutes=29)  # 58 minutes in, but never 30 idle
    assert client.get("/finance").status_code == 200
    portal_env.clock.advance(minutes=30)
    assert client.get("/finance").status_code == 303

    busy = as_role(FINANCE)
    for _ in range(23):  # active every 20 minutes for 7 h 40
        portal_env.clock.advance(minutes=20)
        assert busy.get("/account").status_code == 200
    portal_env.clock.advance(minutes=19)
    assert busy.get("/account").status_code == 200
    portal_env.clock.advance(minutes=2)  # 8 h 01 since login, never idle for long
    assert busy.get("/account").status_code == 303


def test_login_gives_a_new_session_id_and_logout_ends_it(portal_env):
    client = portal_env.client()
    client.cookies.set(COOKIE_NAME, "planted-by-an-attacker", domain="127.0.0.1")
    assert login(client, "finance-user", PASSWORD).status_code == 303
    first = client.cookies.get(COOKIE_NAME)
    assert first and first != "planted-by-an-attacker"
    other = portal_env.login("finance-user")
    assert other.cookies.get(COOKIE_NAME) != first
    token = csrf_of(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    stale = portal_env.client()
    stale.cookies.set(COOKIE_NAME, first, domain="127.0.0.1")
    assert stale.get("/finance").status_code == 303  # the id ended with the logout
    assert other.get("/finance").status_code == 200  # the user's other session lives on


def test_a_disabled_account_is_out_at_once(portal_env, as_role):
    finance = as_role(FINANCE)
    admin = as_role(ADMIN)
    token = csrf_of(admin)
    assert (
        admin.post("/admin/users/finance-user/disable", data={"csrf_token": token}).status_code
        == 303
    )
    assert finance.get("/finance").status_code == 303
    assert login(portal_env.client(), "finance-user", PASSWORD).status_code == 401


def test_no_password_or_hash_ever_reaches_a_log_line(portal_env, as_role, caplog):
    caplog.set_level(logging.DEBUG)
    new_password = "a brand new passphrase"
    client = portal_env.client()
    login(client, "finance-user", "a wrong passphrase!")
    finance = as_role(FINANCE)
    form = {"current": PASSWORD, "new": new_password, "repeat": new_password}
    assert finance.post("/account/password", data={**form, "csrf_token": csrf_of(finance)}).ok
    admin = as_role(ADMIN)
    admin.post(
        "/admin/users",
        data={
            "name": "newcomer",
            "role": LIAISON,
            "password": new_password,
            "csrf_token": csrf_of(admin),
        },
    )
    admin.post(
        "/admin/users/newcomer/password",
        data={"password": PASSWORD + "!", "csrf_token": csrf_of(admin, "/admin/users")},
    )
    with sqlite3.connect(database_file(portal_env.paths)) as con:
        hashes = [row[0] for row in con.execute("select password_hash from users")]
    # A password typed into the name field is not repeated either.
    login(portal_env.client(), "my secret typed as a name", "whatever it was")
    secrets_ = [PASSWORD, new_password, "a wrong passphrase!", "my secret typed as a name", *hashes]
    lines = [record.getMessage() for record in caplog.records]
    assert any("login" in line for line in lines), "the portal logs logins (else this test is void)"
    for line in lines:
        for secret in secrets_:
            assert secret not in line
    assert all(h.startswith("$argon2id$") for h in hashes)
    audit_text = as_role(ADMIN).get("/admin/audit.csv").text
    for secret in secrets_:
        assert secret not in audit_text


def _as_each_role(as_role: Callable[[str], Client]) -> dict[str, Client]:
    return {role: as_role(role) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lands_on_a_page_it_may_use(as_role, role):
    client = as_role(role)
    response = client.get("/")
    assert response.status_code == 303
    for _ in range(3):  # a landing page may itself point on (e.g. to the latest year)
        if response.status_code != 303:
            break
        assert not response.headers["location"].endswith("/login")
        response = client.get(response.headers["location"].removeprefix(client.base))
    assert response.status_code == 200
