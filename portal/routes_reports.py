"""Report pages: review, approve or return, send to the liaison, and download (portal.md,
"Report review, approval and delivery").

Approvers see every version; the liaison sees only versions that were sent. Every file served
is the manifest's file, its SHA-256 checked on the bytes actually sent; a mismatch is refused,
logged and audited, never served.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from portal import audit
from portal.accounts import APPROVER, LIAISON
from portal.approvals import (
    APPROVED,
    RETURNED,
    DecisionRefused,
    VersionState,
    record_decision,
    sent_versions,
    version_state,
    version_states,
)
from portal.delivery import send_version
from portal.i18n import N_, Language
from portal.mail import MailSettings, MailSettingsError
from portal.notices import Links
from portal.reports import (
    FILE_KINDS,
    FISCAL_YEAR_PATTERN,
    MEDIA_TYPES,
    ManifestUnreadable,
    ReportFileRefused,
    fiscal_years,
    verified_bytes,
    version_view,
)
from portal.sessions import Session
from portal.web import (
    Portal,
    attachment,
    client_address,
    for_roles,
    language_of,
    portal_of,
    redirect,
    render,
    session_of,
)

log = logging.getLogger("portal.reports")
router = APIRouter()

REPORT_APPROVED, REPORT_RETURNED = audit.REPORT_APPROVED, audit.REPORT_RETURNED
REPORT_SENT, REPORT_DOWNLOADED = audit.REPORT_SENT, audit.REPORT_DOWNLOADED
REPORT_REFUSED = audit.REPORT_REFUSED
MAX_COMMENT_CHARS = 4000
# Words the pages translate that come from the data (the workbook's outcome headings, the
# channel and kind names), listed here so extraction puts them in the catalogue.
DATA_WORDS = (
    N_("Counted"),
    N_("Abandoned"),
    N_("Short abandon"),
    N_("Not offered"),
    N_("Test"),
    N_("Spam"),
    N_("Auto dialer"),
    N_("Static"),
    N_("calls"),
    N_("chats"),
    N_("emails"),
    N_("texts"),
    N_("surveys"),
    N_("web"),
    N_("finance"),
)


def figure(lang: Language, value: Decimal | None, unit: str) -> str:
    """A figure as the page shows it in the reader's language (money and % per locale)."""
    if value is None:
        return ""
    if unit == "currency":
        return lang.money(value)
    if unit == "percent":
        return lang.gettext("{value}%").format(value=lang.number(value.quantize(Decimal("0.1"))))
    return lang.number(value)


def difference(lang: Language, value: Decimal | None, unit: str) -> str:
    if value is None:
        return ""
    sign = "+" if value > 0 else ""
    if unit == "percent":
        return sign + lang.gettext("{value} pts").format(value=lang.number(value))
    return sign + figure(lang, value, unit)


def links_of(portal: Portal) -> Links:
    return Links(portal.settings.portal_url, portal.settings.dagster_url)


def _fiscal_year(value: str) -> str:
    if not FISCAL_YEAR_PATTERN.match(value):
        raise HTTPException(status_code=404)
    return value


def _state(portal: Portal, fiscal_year: str, stage: str, version: int) -> VersionState:
    with portal.db.connect() as con:
        state = version_state(con, portal.paths.outbox, _fiscal_year(fiscal_year), stage, version)
    if state is None:
        raise HTTPException(status_code=404)
    return state


def _page_url(state: VersionState) -> str:
    v = state.version
    return f"/reports/{v.fiscal_year}/{v.stage}/v{v.version}"


async def refused_anywhere(request: Request, error: Exception) -> Response:
    """The app's handler for a refusal raised outside a route's own `try` (a broken manifest
    met while listing versions, on any page): the same page, log and audit entry."""
    session = session_of(request)
    if session is None or not isinstance(error, ReportFileRefused):
        raise error
    return _refused(request, session, error)


def _refused(request: Request, session: Session, error: ReportFileRefused) -> Response:
    """A file that differs from its manifest entry: logged, audited, shown; never served."""
    portal = portal_of(request)
    log.error("report file refused: %s", error)
    audit.record(
        portal.db, portal.settings, REPORT_REFUSED, actor=session.account.name,
        address=client_address(request), details=str(error),
    )  # fmt: skip
    return render(
        request,
        "error.html",
        {
            "status_code": 409,
            "message": N_(
                "This report file differs from the version that was written, so it is not"
                " served. The data team has been told through the audit log."
            )
            if not isinstance(error, ManifestUnreadable)
            else N_(
                "The list of report versions (manifest.json) cannot be read, so no report of"
                " that year is shown. The data team has been told through the audit log."
            ),
        },
        session=session,
        status_code=409,
    )


@router.get("/reports")
def reports_home(
    request: Request, session: Annotated[Session, for_roles(APPROVER, LIAISON)]
) -> Response:
    if session.account.role == LIAISON:
        return redirect("/reports/sent")
    years = fiscal_years(portal_of(request).paths.outbox)
    if years:
        return redirect(f"/reports/{years[0]}")
    return render(
        request, "reports_year.html", {"years": [], "fiscal_year": None, "stages": []},
        session=session,
    )  # fmt: skip


@router.get("/reports/sent")
def reports_sent(
    request: Request, session: Annotated[Session, for_roles(APPROVER, LIAISON)]
) -> Response:
    portal = portal_of(request)
    with portal.db.connect() as con:
        states = sent_versions(con, portal.paths.outbox)
    return render(request, "reports_sent.html", {"states": states}, session=session)


@router.get("/reports/{fiscal_year}")
def reports_year(
    request: Request, session: Annotated[Session, for_roles(APPROVER)], fiscal_year: str
) -> Response:
    portal = portal_of(request)
    with portal.db.connect() as con:
        states = version_states(con, portal.paths.outbox, _fiscal_year(fiscal_year))
    stages: dict[str, list[VersionState]] = {}
    for state in states:
        stages.setdefault(state.version.stage, []).append(state)
    return render(
        request,
        "reports_year.html",
        {
            "years": fiscal_years(portal.paths.outbox),
            "fiscal_year": fiscal_year,
            # Newest version first within a stage: the one waiting for a decision is on top.
            "stages": [(stage, list(reversed(listed))) for stage, listed in stages.items()],
        },
        session=session,
    )


def _version_page(
    request: Request, session: Session, state: VersionState, *, error: str | None = None,
    notice: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    portal = portal_of(request)
    try:
        view = version_view(portal.paths.outbox, state.version)
    except ReportFileRefused as refused:
        return _refused(request, session, refused)
    lang = language_of(request, session)
    return render(
        request,
        "report_version.html",
        {
            "state": state,
            "view": view,
            "figure": lambda value, unit: figure(lang, value, unit),
            "difference": lambda value, unit: difference(lang, value, unit),
            "error": error,
            "notice": notice,
        },
        session=session,
        status_code=status_code,
    )


@router.get("/reports/{fiscal_year}/{stage}/v{version}")
def report_version(
    request: Request,
    session: Annotated[Session, for_roles(APPROVER)],
    fiscal_year: str,
    stage: str,
    version: int,
) -> Response:
    return _version_page(request, session, _state(portal_of(request), fiscal_year, stage, version))


@router.post("/reports/{fiscal_year}/{stage}/v{version}/decide")
def decide(
    request: Request,
    session: Annotated[Session, for_roles(APPROVER)],
    fiscal_year: str,
    stage: str,
    version: int,
    decision: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=MAX_COMMENT_CHARS)] = "",
) -> Response:
    portal = portal_of(request)
    state = _state(portal, fiscal_year, stage, version)
    if decision not in (APPROVED, RETURNED):
        raise HTTPException(status_code=400)
    lang = language_of(request, session)
    try:
        with portal.db.connect() as con:
            # The state is read again inside the write transaction: a version written or a
            # decision recorded since the page was shown is taken into account.
            fresh = version_state(con, portal.paths.outbox, fiscal_year, stage, version)
            assert fresh is not None
            now = portal.settings.clock()
            recorded = record_decision(
                con, portal.paths.outbox, fresh, decision, session.account.name, now, comment,
            )  # fmt: skip
            # In the decision's transaction: a crash cannot leave an approval nobody audited.
            audit.append(
                con, now, REPORT_APPROVED if decision == APPROVED else REPORT_RETURNED,
                actor=session.account.name, address=client_address(request),
                details=f"{state.version.key} workbook SHA-256 {recorded.workbook_sha256}"
                + (f"; comment: {recorded.comment}" if recorded.comment else ""),
            )  # fmt: skip
    except DecisionRefused as refused:
        return _version_page(
            request, session, state, error=refused.text(lang.gettext), status_code=409
        )
    except ReportFileRefused as refused:
        return _refused(request, session, refused)
    return redirect(_page_url(state))


@router.post("/reports/{fiscal_year}/{stage}/v{version}/send")
def send(
    request: Request,
    session: Annotated[Session, for_roles(APPROVER)],
    fiscal_year: str,
    stage: str,
    version: int,
    resend: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    portal = portal_of(request)
    state = _state(portal, fiscal_year, stage, version)
    lang = language_of(request, session)
    try:
        # The delivery record, its queued message and its audit entry commit together.
        send_version(
            portal.db, portal.paths, MailSettings.from_env(), links_of(portal), state,
            session.account.name, portal.settings.clock(), resend=resend == "yes",
            address=client_address(request),
        )  # fmt: skip
    except DecisionRefused as refused:
        return _version_page(
            request, session, state, error=refused.text(lang.gettext), status_code=409
        )
    except ReportFileRefused as refused:
        return _refused(request, session, refused)
    except MailSettingsError as error:
        # Nothing was recorded or queued: the data team fixes O211_SMTP_* and the approver
        # sends again.
        log.error("mail settings refused: %s", error)
        message = lang.gettext(
            "The portal's mail settings are wrong, so nothing was sent: {error}"
        ).format(error=error)
        return _version_page(request, session, state, error=message, status_code=503)
    wake = getattr(request.app.state, "wake_mail", None)
    if wake is not None:
        wake()
    return redirect(_page_url(state))


@router.get("/reports/{fiscal_year}/{stage}/v{version}/{kind}")
def download(
    request: Request,
    session: Annotated[Session, for_roles(APPROVER, LIAISON)],
    fiscal_year: str,
    stage: str,
    version: int,
    kind: str,
) -> Response:
    portal = portal_of(request)
    if kind not in FILE_KINDS:
        raise HTTPException(status_code=404)
    state = _state(portal, fiscal_year, stage, version)
    if session.account.role == LIAISON and not state.deliveries:
        # The liaison sees only what was sent: an unsent version does not exist for them.
        raise HTTPException(status_code=404)
    try:
        data = verified_bytes(portal.paths.outbox, state.version, kind)
    except ReportFileRefused as refused:
        return _refused(request, session, refused)
    listed = state.version.file(kind)
    audit.record(
        portal.db, portal.settings, REPORT_DOWNLOADED, actor=session.account.name,
        address=client_address(request), details=f"{listed.name} SHA-256 {listed.sha256}",
    )  # fmt: skip
    return Response(
        content=data,
        media_type=MEDIA_TYPES[kind],
        headers={"content-disposition": attachment(listed.name)},
    )
