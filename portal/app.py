"""The portal application: `create_app(paths)` gives the FastAPI app `o211 portal` serves.

Server-rendered pages (Jinja2) that work without JavaScript; state in SQLite under
`$O211_DATA_DIR/portal/`; never the warehouse. Each area's routes are a router in its own
module, included below.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from o211.paths import DataPaths
from portal import (
    routes_account,
    routes_admin,
    routes_auth,
    routes_finance,
    routes_reports,
    routes_status,
    uploads,
)
from portal.background import mail_lifespan
from portal.db import Database, database_file
from portal.i18n import N_
from portal.reports import ReportFileRefused
from portal.settings import PortalSettings
from portal.web import (
    STATIC_DIR,
    TEMPLATES_DIR,
    LoginRequired,
    Portal,
    SecurityHeaders,
    error_page,
    redirect,
)


def create_app(paths: DataPaths, *, settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings.from_env()
    db = Database(database_file(paths))
    db.migrate()
    # Before serving: an upload a killed portal left half-way is completed or removed.
    uploads.finish_interrupted(db, paths)
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.autoescape = True
    app = FastAPI(
        title="Ontario 211 portal",
        # No interactive API pages: every page is one of ours, behind the role rules.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=mail_lifespan(paths, db, settings),
    )
    app.state.portal = Portal(paths=paths, settings=settings, db=db, templates=templates)

    app.include_router(routes_auth.router)
    app.include_router(routes_account.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_finance.router)
    # Part 2 (reports, approval, delivery, status) includes its routers here, one line each.
    app.include_router(routes_reports.router)
    app.include_router(routes_status.router)
    app.add_exception_handler(ReportFileRefused, routes_reports.refused_anywhere)

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _error: LoginRequired) -> Response:
        if request.method in {"GET", "HEAD"}:
            return redirect("/login")
        return error_page(request, 401, N_("Your session has ended. Log in again."))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        messages = {
            403: N_("Your role may not use this page."),
            404: N_("This page does not exist."),
            405: N_("This page does not accept that request."),
        }
        # Never the framework's own English detail (e.g. a form field past its size limit).
        message = messages.get(
            error.status_code, N_("The request could not be read. Go back and try again.")
        )
        if error.status_code == 403 and "form" in str(error.detail):
            message = N_(
                "The form had expired or did not come from this site. Reload it and retry."
            )
        return error_page(request, error.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _error: RequestValidationError) -> Response:
        return error_page(
            request, 400, N_("The form was incomplete. Go back and fill it in again.")
        )

    return app
