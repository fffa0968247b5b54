"""The admin's pipeline status page: loads, rejections, warnings, stages due, runs, mail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o211.calendar import TORONTO, report_delay_days
from portal.accounts import ADMIN
from portal.notifications import event_details, recent_messages
from portal.reports import ReportFileRefused, all_versions, version_view
from portal.sessions import Session
from portal.status import last_loads, newest_version, rejected_files, stage_statuses
from portal.web import for_roles, portal_of, render

router = APIRouter()
RECENT_ROWS = 10


@router.get("/admin/status")
def status(request: Request, session: Annotated[Session, for_roles(ADMIN)]) -> Response:
    portal = portal_of(request)
    paths = portal.paths
    now: datetime = portal.settings.clock()
    today = now.astimezone(TORONTO).date()
    newest = newest_version(paths)
    warnings, warnings_error = [], None
    if newest is not None:
        try:
            warnings = version_view(paths.outbox, newest).warnings
        except ReportFileRefused as refused:
            warnings_error = str(refused)
    with portal.db.connect() as con:
        failures = event_details(con, "run-failed", RECENT_ROWS)
        mail = recent_messages(con, limit=RECENT_ROWS)
        waiting = con.execute("select count(*) from notifications where sent_at is null")
        mail_waiting = waiting.fetchone()[0]
    written = sorted(all_versions(paths.outbox), key=lambda v: v.generated_at, reverse=True)
    return render(
        request,
        "status.html",
        {
            "dagster_url": portal.settings.dagster_url,
            "loads": last_loads(paths),
            "rejected": rejected_files(paths),
            "stages": [s for s in stage_statuses(paths, today, report_delay_days())],
            "newest": newest,
            "warnings": warnings,
            "warnings_error": warnings_error,
            "failures": failures,
            "written": written[:RECENT_ROWS],
            "mail": mail,
            "mail_waiting": mail_waiting,
        },
        session=session,
    )
