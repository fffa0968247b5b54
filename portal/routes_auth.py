"""Logging in and out, the landing page, and the language of a visitor not yet logged in."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from portal import audit
from portal.accounts import ROLES, LoginRefused, authenticate
from portal.i18n import LANGUAGES, N_
from portal.sessions import COOKIE_NAME, Session, end_session, purge_expired, start_session
from portal.web import (
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    client_address,
    for_roles,
    home_page,
    new_login_token,
    portal_of,
    redirect,
    render,
    session_of,
)

router = APIRouter()
log = logging.getLogger("portal.auth")
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    """The login form with a fresh pre-session CSRF token (double-submit cookie)."""
    token = new_login_token()
    response = render(
        request, "login.html", {"login_token": token, "error": error}, session=None,
        status_code=status_code,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
        secure=portal_of(request).settings.secure_cookies, path="/login",
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request, lang: str | None = None) -> Response:
    if lang in LANGUAGES:
        # The language links on the login page: remember the choice for this browser.
        response = redirect("/login")
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_SECONDS, samesite="strict",
            httponly=True, secure=portal_of(request).settings.secure_cookies,
        )  # fmt: skip
        return response
    session = session_of(request)
    if session is not None:
        return redirect(home_page(request, session.account.role))
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=2000)],
    login_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    portal = portal_of(request)
    address = client_address(request)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(cookie_token, login_token):
        return _login_page(
            request, error=N_("The form had expired. Please try again."), status_code=403
        )
    name = name.strip()
    try:
        account = authenticate(portal.db, portal.settings, name, password)
    except LoginRefused as refusal:
        action = audit.LOGIN_LOCKED if refusal.locked else audit.LOGIN_FAILED
        actor, details = (name, "") if refusal.known else (None, "no account has the name given")
        audit.record(
            portal.db, portal.settings, action, actor=actor, address=address, details=details
        )
        log.info("%s for %r from %s", action, actor or "an unknown name", address)
        # One sentence whether the name exists, is locked or not: a lock announced only for
        # real names would tell an intruder which names to guess passwords for.
        message = N_(
            "Wrong name or password. After 5 failed logins a name is refused for 15 minutes."
        )
        return _login_page(request, error=message, status_code=401)
    purge_expired(portal.db, portal.settings)
    # The old session (if any) ends: a new id at every login, so a planted id is worthless.
    end_session(portal.db, request.cookies.get(COOKIE_NAME))
    session_id = start_session(portal.db, portal.settings, account)
    audit.record(
        portal.db, portal.settings, audit.LOGIN, actor=account.name, address=address,
        details=f"role {account.role}",
    )  # fmt: skip
    log.info("login for %r from %s", account.name, address)
    response = redirect(home_page(request, account.role))
    response.set_cookie(
        COOKIE_NAME, session_id, httponly=True, samesite="strict",
        secure=portal.settings.secure_cookies, path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: Annotated[Session, for_roles(*ROLES)]) -> Response:
    portal = portal_of(request)
    end_session(portal.db, request.cookies.get(COOKIE_NAME))
    audit.record(
        portal.db, portal.settings, audit.LOGOUT, actor=session.account.name,
        address=client_address(request),
    )  # fmt: skip
    response = redirect("/login")
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/")
def home(request: Request, session: Annotated[Session, for_roles(*ROLES)]) -> Response:
    return redirect(home_page(request, session.account.role))
