"""A user's own account: language (remembered) and password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from portal import audit
from portal.accounts import (
    ROLES,
    AccountError,
    LoginRefused,
    authenticate,
    set_language,
    set_password,
)
from portal.i18n import LANGUAGES, N_
from portal.sessions import COOKIE_NAME, Session, start_session
from portal.web import LANGUAGE_COOKIE, client_address, for_roles, portal_of, redirect, render

router = APIRouter()


@router.get("/account")
def account_page(request: Request, session: Annotated[Session, for_roles(*ROLES)]) -> Response:
    return render(request, "account.html", session=session)


@router.post("/account/language")
def change_language(
    request: Request,
    session: Annotated[Session, for_roles(*ROLES)],
    language: Annotated[str, Form(max_length=10)],
    back: Annotated[str, Form(max_length=200)] = "/account",
) -> Response:
    portal = portal_of(request)
    if language not in LANGUAGES:
        return render(request, "account.html", {"error": N_("Unknown language.")}, status_code=400)
    set_language(portal.db, session.account.id, language)
    audit.record(
        portal.db, portal.settings, audit.LANGUAGE_CHANGED, actor=session.account.name,
        address=client_address(request), details=language,
    )  # fmt: skip
    # Only a path of this site: an absolute or scheme-relative URL would be an open redirect.
    target = back if back.startswith("/") and not back.startswith("//") else "/account"
    response = redirect(target)
    response.set_cookie(
        LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="strict", httponly=True,
        secure=portal.settings.secure_cookies,
    )  # fmt: skip
    return response


@router.post("/account/password")
def change_password(
    request: Request,
    session: Annotated[Session, for_roles(*ROLES)],
    current: Annotated[str, Form(max_length=2000)],
    new: Annotated[str, Form(max_length=2000)],
    repeat: Annotated[str, Form(max_length=2000)],
) -> Response:
    portal = portal_of(request)
    name = session.account.name
    try:
        authenticate(portal.db, portal.settings, name, current)
    except LoginRefused:
        return render(
            request,
            "account.html",
            {"error": N_("The current password is wrong.")},
            status_code=400,
        )
    if new != repeat:
        return render(
            request, "account.html", {"error": N_("The two new passwords differ.")}, status_code=400
        )
    try:
        set_password(portal.db, name, new)
    except AccountError as error:
        return render(request, "account.html", {"error": error.message}, status_code=400)
    audit.record(
        portal.db, portal.settings, audit.PASSWORD_CHANGED, actor=name,
        address=client_address(request), details=f"account {name}",
    )  # fmt: skip
    # Changing the password ends every session of the account; this browser gets a new one.
    response = render(request, "account.html", {"notice": N_("Your password was changed.")})
    account = session.account
    response.set_cookie(
        COOKIE_NAME, start_session(portal.db, portal.settings, account), httponly=True,
        samesite="strict", secure=portal.settings.secure_cookies, path="/",
    )  # fmt: skip
    return response
