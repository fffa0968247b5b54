"""What every route shares: the portal's state, sessions, the role rule, CSRF, page rendering.

The role rule lives on each route as a dependency, `require_role(...)`; a route without one is
either listed in PUBLIC_PATHS or refused by the route-table test (tests/portal).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from o211.paths import DataPaths
from portal.accounts import ADMIN, APPROVER, FINANCE, LIAISON, ROLES
from portal.db import Database
from portal.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Language, choose_language
from portal.sessions import COOKIE_NAME, Session, current_session
from portal.settings import PortalSettings

log = logging.getLogger("portal")

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
LANGUAGE_COOKIE = "o211_language"
LOGIN_CSRF_COOKIE = "o211_login_csrf"
CSRF_FIELD = "csrf_token"
# The only pages reachable without a session (portal.md: "every page but the login page and
# static files needs a session").
PUBLIC_PATHS: frozenset[str] = frozenset({"/login", "/static"})


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # English message id, translated when rendered
    roles: frozenset[str]


# The menu of each role; part 2 (reports, status) adds its pages here.
NAV: list[NavItem] = [
    NavItem("/finance", N_("Finance uploads"), frozenset({FINANCE, APPROVER})),
    NavItem("/reports", N_("Reports"), frozenset({APPROVER, LIAISON})),
    NavItem("/admin/status", N_("Pipeline status"), frozenset({ADMIN})),
    NavItem("/admin/users", N_("Accounts"), frozenset({ADMIN})),
    NavItem("/admin/audit", N_("Audit log"), frozenset({ADMIN})),
    NavItem("/account", N_("My account"), frozenset(ROLES)),
]
# Where each role lands after login: the first of these pages that the app serves.
HOME_PAGES: Mapping[str, tuple[str, ...]] = {
    FINANCE: ("/finance",),
    APPROVER: ("/reports", "/finance"),
    LIAISON: ("/reports", "/account"),
    ADMIN: ("/admin/users",),
}


@dataclass
class Portal:
    paths: DataPaths
    settings: PortalSettings
    db: Database
    templates: Jinja2Templates


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


class LoginRequired(Exception):
    """No live session: pages redirect to the login page, other requests get 401."""


def session_of(request: Request) -> Session | None:
    """The request's live session (looked up once per request)."""
    if not hasattr(request.state, "session"):
        portal = portal_of(request)
        request.state.session = current_session(
            portal.db, portal.settings, request.cookies.get(COOKIE_NAME)
        )
    session: Session | None = request.state.session
    return session


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


RoleCheck = Callable[[Request], Awaitable[Session]]


def require_role(*roles: str, csrf: str = "form") -> RoleCheck:
    """A dependency: the session of a user with one of `roles`, else 401/redirect or 403.

    For a state-changing request it also checks the CSRF token: from the form (`csrf="form"`),
    or left to the route (`csrf="route"`) when the route streams its own body (uploads) and
    must call `check_csrf` itself.
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}; expected some of {ROLES}")
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Session:
        session = session_of(request)
        if session is None:
            raise LoginRequired()
        if session.account.role not in allowed:
            raise HTTPException(status_code=403, detail="your role may not use this page")
        if request.method not in {"GET", "HEAD", "OPTIONS"} and csrf == "form":
            form = await request.form()
            token = form.get(CSRF_FIELD)
            check_csrf(session, token if isinstance(token, str) else None)
        return session

    dependency.roles = allowed  # type: ignore[attr-defined]
    return dependency


def for_roles(*roles: str, csrf: str = "form") -> Any:
    """`Depends(require_role(...))`, for a route's `Annotated[Session, for_roles(...)]`."""
    return Depends(require_role(*roles, csrf=csrf))


def check_csrf(session: Session, token: str | None) -> None:
    if not session.csrf_matches(token):
        raise HTTPException(
            status_code=403,
            detail="the form had expired or did not come from this site; reload it and retry",
        )


def language_of(request: Request, session: Session | None = None) -> Language:
    account_language = session.account.language if session else None
    return Language(
        choose_language(
            account_language,
            request.cookies.get(LANGUAGE_COOKIE),
            request.headers.get("accept-language"),
        )
    )


def nav_for(role: str | None) -> list[NavItem]:
    return [item for item in NAV if role in item.roles]


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every endpoint of the app, also those of included routers (FastAPI wraps them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


def home_page(request: Request, role: str) -> str:
    served = {route.path for route in api_routes(request.app.routes)}
    for path in HOME_PAGES.get(role, ()):
        if path in served:
            return path
    return "/account"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    session: Session | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the request's language, with the layout's menu, language switch and token."""
    portal = portal_of(request)
    session = session if session is not None else session_of(request)
    language = language_of(request, session)
    page: dict[str, Any] = {
        "request": request,
        "session": session,
        "account": session.account if session else None,
        "csrf_token": session.csrf_token if session else "",
        "nav": nav_for(session.account.role if session else None),
        "lang": language,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        # Where the language switch returns to: this page, or after a form the landing page.
        "back_path": request.url.path if request.method == "GET" else "/",
        "_": language.gettext,
        "ngettext": language.ngettext,
    }
    page.update(context or {})
    return portal.templates.TemplateResponse(request, template, page, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    # 303: after a POST the browser fetches the next page with GET.
    return RedirectResponse(path, status_code=303)


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


# --- response headers --------------------------------------------------------------------------

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds the security headers to every response, error pages and static files included,
    and answers HEAD like GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            # HEAD answers as GET does (status, headers, length) without the body; the routes
            # are GET-only, and a GET never changes anything.
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers.extend(SECURITY_HEADERS)
                if not scope["path"].startswith("/static/"):
                    # Pages carry names, amounts and tokens: never keep them in a shared cache.
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OURS = frozenset(name for name, _ in SECURITY_HEADERS)


def attachment(name: str) -> str:
    """A Content-Disposition that saves as `name` and cannot be bent by it.

    The quoted `filename` keeps only letters, digits, `.`, `-`, `_` (a quote, a semicolon or a
    line break in a name would end the header's value); `filename*` carries the exact name,
    percent-encoded, for browsers that read it.
    """
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name.rsplit("/", 1)[-1]).lstrip(".") or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(
        request, "error.html", {"status_code": status_code, "message": message},
        status_code=status_code,
    )  # fmt: skip


def roles_of(dependencies: Iterable[Any]) -> frozenset[str] | None:
    """The roles a route's dependencies allow (None: no role rule), for the route-table test."""
    for dependency in dependencies:
        roles = getattr(dependency.call, "roles", None)
        if roles is not None:
            return frozenset(roles)
    return None
