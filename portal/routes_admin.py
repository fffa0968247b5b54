"""The admin's pages: accounts (the same operations as `o211 user ...`) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from portal import audit
from portal.accounts import (
    ADMIN,
    ROLES,
    AccountError,
    add_user,
    disable_user,
    enable_user,
    list_users,
    set_password,
)
from portal.i18n import N_, Message
from portal.sessions import Session
from portal.web import client_address, for_roles, portal_of, redirect, render

router = APIRouter()
AUDIT_PAGE_ROWS = 500


def _users_page(
    request: Request, session: Session, *, error: str | Message | None = None,
    notice: str | Message | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    portal = portal_of(request)
    return render(
        request, "admin_users.html",
        {"users": list_users(portal.db), "roles": ROLES, "error": error, "notice": notice},
        session=session, status_code=status_code,
    )  # fmt: skip


@router.get("/admin/users")
def users(request: Request, session: Annotated[Session, for_roles(ADMIN)]) -> Response:
    return _users_page(request, session)


@router.post("/admin/users")
def add(
    request: Request,
    session: Annotated[Session, for_roles(ADMIN)],
    name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=2000)],
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    portal = portal_of(request)
    try:
        account = add_user(portal.db, portal.settings, name.strip(), role, password, email)
    except AccountError as error:
        return _users_page(request, session, error=error.message, status_code=400)
    audit.record(
        portal.db, portal.settings, audit.ACCOUNT_ADDED, actor=session.account.name,
        address=client_address(request), details=f"account {account.name}, role {account.role}",
    )  # fmt: skip
    return redirect("/admin/users")


@router.post("/admin/users/{name}/disable")
def disable(request: Request, session: Annotated[Session, for_roles(ADMIN)], name: str) -> Response:
    portal = portal_of(request)
    if name.lower() == session.account.name.lower():
        return _users_page(
            request, session, error=N_("You cannot disable your own account."), status_code=400
        )
    try:
        account = disable_user(portal.db, portal.settings, name)
    except AccountError as error:
        return _users_page(request, session, error=error.message, status_code=404)
    audit.record(
        portal.db, portal.settings, audit.ACCOUNT_DISABLED, actor=session.account.name,
        address=client_address(request), details=f"account {account.name}",
    )  # fmt: skip
    return redirect("/admin/users")


@router.post("/admin/users/{name}/enable")
def enable(request: Request, session: Annotated[Session, for_roles(ADMIN)], name: str) -> Response:
    portal = portal_of(request)
    try:
        account = enable_user(portal.db, name)
    except AccountError as error:
        return _users_page(request, session, error=error.message, status_code=404)
    audit.record(
        portal.db, portal.settings, audit.ACCOUNT_ENABLED, actor=session.account.name,
        address=client_address(request), details=f"account {account.name}",
    )  # fmt: skip
    return redirect("/admin/users")


@router.post("/admin/users/{name}/password")
def reset_password(
    request: Request,
    session: Annotated[Session, for_roles(ADMIN)],
    name: str,
    password: Annotated[str, Form(max_length=2000)],
) -> Response:
    portal = portal_of(request)
    try:
        account = set_password(portal.db, name, password)
    except AccountError as error:
        return _users_page(request, session, error=error.message, status_code=400)
    audit.record(
        portal.db, portal.settings, audit.PASSWORD_RESET, actor=session.account.name,
        address=client_address(request), details=f"account {account.name}",
    )  # fmt: skip
    return _users_page(
        request, session, notice=Message(N_("New password set for {name}."), {"name": account.name})
    )


@router.get("/admin/audit")
def audit_page(request: Request, session: Annotated[Session, for_roles(ADMIN)]) -> Response:
    portal = portal_of(request)
    return render(
        request, "audit.html",
        {"entries": audit.entries(portal.db, limit=AUDIT_PAGE_ROWS), "limit": AUDIT_PAGE_ROWS},
        session=session,
    )  # fmt: skip


@router.get("/admin/audit.csv")
def audit_csv(request: Request, session: Annotated[Session, for_roles(ADMIN)]) -> Response:
    portal = portal_of(request)
    return Response(
        audit.to_csv(audit.entries(portal.db)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="o211-portal-audit.csv"'},
    )
