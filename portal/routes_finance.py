"""The finance upload page: the file picker, the template, the verdict, past uploads."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from exports.template import seed_funding_sources, write_finance_template
from ingest.problems import Problem
from portal import audit, uploads
from portal.accounts import APPROVER, FINANCE
from portal.i18n import N_
from portal.problems import fix_text, problem_text
from portal.sessions import Session
from portal.web import (
    CSRF_FIELD,
    check_csrf,
    client_address,
    for_roles,
    language_of,
    portal_of,
    render,
)

router = APIRouter()
log = logging.getLogger("portal.finance")
TEMPLATE_NAME = "ON211_finance_upload_template.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Room for the form's other fields and the multipart boundaries around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
# Problems listed on the page; the count above the table is always the exact total.
PAGE_PROBLEMS = 1_000


STATUS_NAMES = {
    uploads.WAITING: N_("waiting"),
    uploads.LOADED: N_("loaded"),
    uploads.REJECTED: N_("rejected"),
    uploads.DUPLICATE: N_("loaded earlier (identical file)"),
    uploads.MISSING: N_("moved out of the pipeline's folders"),
}
ERRORS_SHOWN_BYTES = 20_000


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Whole-file problems first, then by row as the person reads the file."""
    return sorted(problems, key=lambda p: (p.row is not None, p.row or 0))


def _errors_of(upload: uploads.Upload) -> str:
    """The start of ingest's plain-language summary beside a rejected upload."""
    if upload.errors_txt is None:
        return ""
    with upload.errors_txt.open("rb") as handle:
        return handle.read(ERRORS_SHOWN_BYTES).decode("utf-8", "replace")


def _page(
    request: Request, session: Session, *, status_code: int = 200, **context: object
) -> Response:
    portal = portal_of(request)
    listed = uploads.uploads(portal.db, portal.paths)
    language = language_of(request, session)
    return render(
        request, "finance.html",
        {
            "uploads": listed,
            "in_force": uploads.months_in_force(listed),
            "may_upload": session.account.role == FINANCE,
            "back_path": "/finance",
            "max_mb": portal.settings.max_upload_bytes // (1024 * 1024),
            "status_names": STATUS_NAMES,
            "problem_text": lambda p: problem_text(language, p),
            "fix_text": lambda p: fix_text(language, p),
            **context,
        },
        session=session, status_code=status_code,
    )  # fmt: skip


@router.get("/finance")
def finance_page(
    request: Request, session: Annotated[Session, for_roles(FINANCE, APPROVER)]
) -> Response:
    return _page(request, session)


@router.get("/finance/uploads/{upload_id}")
def upload_page(
    request: Request, session: Annotated[Session, for_roles(FINANCE, APPROVER)], upload_id: int
) -> Response:
    """One upload; a rejected one with its problems in the reader's language."""
    portal = portal_of(request)
    found = uploads.uploads(portal.db, portal.paths, ids=[upload_id])
    if not found:
        raise HTTPException(status_code=404)
    upload = found[0]
    checked = uploads.recheck(upload)
    problems = _in_file_order(checked.result.problems)[:PAGE_PROBLEMS] if checked else []
    language = language_of(request, session)
    return render(
        request, "finance_upload.html",
        {
            "upload": upload,
            "problems": problems,
            # Only when the check no longer finds what ingest found (an unexpected error).
            "summary": _errors_of(upload) if not problems else "",
            "status_names": STATUS_NAMES,
            "problem_text": lambda p: problem_text(language, p),
            "fix_text": lambda p: fix_text(language, p),
            "back_path": "/finance",
        },
        session=session,
    )  # fmt: skip


@router.get("/finance/template")
def template(
    request: Request, session: Annotated[Session, for_roles(FINANCE, APPROVER)]
) -> Response:
    with tempfile.TemporaryDirectory(prefix="o211-template-") as folder:
        path = write_finance_template(Path(folder) / TEMPLATE_NAME, seed_funding_sources())
        content = path.read_bytes()
    return Response(
        content,
        media_type=XLSX_TYPE,
        headers={"content-disposition": f'attachment; filename="{TEMPLATE_NAME}"'},
    )


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, stopped as soon as it passes `limit`: a huge upload is never read."""
    seen = 0
    async for block in request.stream():
        seen += len(block)
        if seen > limit:
            raise uploads.UploadTooLarge()
        yield block


@router.post("/finance/upload")
async def upload(
    request: Request, session: Annotated[Session, for_roles(FINANCE, csrf="route")]
) -> Response:
    portal = portal_of(request)
    limit = portal.settings.max_upload_bytes
    too_large = {
        "refusal": "too_large",
        "max_mb": limit // (1024 * 1024),
    }
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        return await run_in_threadpool(_page, request, session, status_code=413, **too_large)
    parser = MultiPartParser(
        request.headers, _limited(request, limit + FORM_OVERHEAD_BYTES), max_files=1, max_fields=5
    )
    try:
        form = await parser.parse()
    except uploads.UploadTooLarge:
        return await run_in_threadpool(_page, request, session, status_code=413, **too_large)
    except MultiPartException:
        return await run_in_threadpool(
            _page, request, session, status_code=400, refusal="unreadable_form"
        )
    try:
        token = form.get(CSRF_FIELD)
        check_csrf(session, token if isinstance(token, str) else None)
        sent = form.get("file")
        if not isinstance(sent, UploadFile) or not sent.filename:
            return await run_in_threadpool(
                _page, request, session, status_code=400, refusal="no_file"
            )
        return await run_in_threadpool(_receive, request, session, sent)
    finally:
        await form.close()


def _receive(request: Request, session: Session, sent: UploadFile) -> Response:
    portal = portal_of(request)
    limit = portal.settings.max_upload_bytes
    incoming = uploads.Incoming(portal.paths, sent.filename or "", limit)
    address = client_address(request)
    try:
        try:
            while block := sent.file.read(1 << 20):
                incoming.write(block)
        except uploads.UploadTooLarge:
            return _page(
                request, session, status_code=413, refusal="too_large", max_mb=limit // 2**20
            )
        incoming.finish()
        earlier = uploads.earlier_upload_of(portal.db, incoming.sha256)
        if earlier is not None:
            return _page(
                request, session, status_code=409, refusal="same_bytes",
                earlier_id=earlier[0], earlier_at=earlier[1], file_name=incoming.original_name,
            )  # fmt: skip
        checked = uploads.check(incoming)
        if not checked.ok or checked.summary is None:
            audit.record(
                portal.db, portal.settings, audit.UPLOAD_REFUSED, actor=session.account.name,
                address=address,
                details=f"{incoming.original_name!r} sha256 {incoming.sha256}: "
                f"{checked.result.problem_count} problem(s)",
            )  # fmt: skip
            log.info("finance upload refused for %r", session.account.name)
            return _page(
                request, session, status_code=422, checked=checked,
                problems=_in_file_order(checked.result.problems)[:PAGE_PROBLEMS],
                file_name=incoming.original_name,
            )  # fmt: skip
        try:
            # Records its audit entry in the upload's own transaction.
            placed = uploads.record_upload(
                portal.db, portal.settings, portal.paths, incoming, checked.summary,
                session.account.name, address,
            )  # fmt: skip
        except uploads.SameBytes as same:
            return _page(
                request, session, status_code=409, refusal="same_bytes",
                earlier_id=same.earlier_id, earlier_at=same.earlier_at,
                file_name=incoming.original_name,
            )  # fmt: skip
        except FileExistsError:
            # A file of that name is already in the inbox (the portal's database was replaced
            # while the inbox was not): it is never overwritten, and this upload is not saved.
            log.error("finance upload not placed: its inbox name is taken")
            return _page(request, session, status_code=409, refusal="name_taken")
        log.info("finance upload %s accepted for %r", placed.id, session.account.name)
        return _page(request, session, accepted=placed)
    finally:
        incoming.discard()
