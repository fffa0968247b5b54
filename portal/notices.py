"""What each notification says, in the recipient's language, and when it is queued.

Three watchers queue events into the outbox (`portal.notifications`): a new report version
(found by scanning the manifests), a finance upload's fate (found in `archive/finance/` or
`rejected/finance/`), and a failed pipeline run (called by the Dagster run-failure sensor).
Each event is queued once, whatever number of times a watcher sees it.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path

from ingest.problems import Problem
from o211.paths import DataPaths
from portal.accounts import ADMIN, APPROVER, Account, list_users
from portal.db import Database, database_file
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language
from portal.mail import MailSettings, build_message
from portal.notifications import Outgoing, event_known, queue_event
from portal.problems import fix_text, problem_text
from portal.reports import ManifestUnreadable, ReportVersion, fiscal_years, versions
from portal.settings import PortalSettings
from portal.uploads import DUPLICATE, LOADED, REJECTED, Upload, recheck, uploads

ERROR_LINE_CHARS = 500
log = logging.getLogger("portal.mail")


@dataclass(frozen=True)
class Links:
    """Where the links in a message point: the portal and the Dagster UI as people reach them."""

    portal_url: str
    dagster_url: str


def recipients(db: Database, role: str) -> list[Account]:
    """Active accounts of a role that have an email address."""
    return [a for a in list_users(db) if a.role == role and a.active and a.email]


def language_of(account: Account | None) -> Language:
    code = account.language if account and account.language in LANGUAGES else None
    return Language(code or DEFAULT_LANGUAGE)


Compose = Callable[[Language], tuple[str, str]]


def per_recipient(
    accounts: Iterable[Account], mail: MailSettings, now: datetime, compose: Compose
) -> list[Outgoing]:
    """One message per account, each in that account's language."""
    outgoing = []
    for account in accounts:
        assert account.email is not None
        language = language_of(account)
        subject, body = compose(language)
        message = build_message(
            sender=mail.sender,
            recipients=[account.email],
            subject=subject,
            body=body,
            sent_at=now,
            language=language.code,
        )
        outgoing.append(Outgoing([account.email], message))
    return outgoing


# --- new report versions -------------------------------------------------------------------


def version_event_key(version: ReportVersion) -> str:
    return f"report-version:{version.key}"


def _version_text(version: ReportVersion, links: Links) -> Compose:
    def compose(lang: Language) -> tuple[str, str]:
        _ = lang.gettext
        names = {"fy": version.fiscal_year, "stage": version.stage, "n": version.version}
        subject = _("New report version to review: {fy} {stage} v{n}").format(**names)
        body = "\n\n".join(
            [
                _("Version v{n} of the {fy} {stage} report was written on {at}.").format(
                    at=lang.moment(version.generated_at), **names
                ),
                _("It needs your review and approval before it can be sent to the ministry.")
                if version.version == 1
                else _(
                    "It replaces v{previous}: any approval of an earlier version no longer"
                    " counts, and this version needs its own approval. The page shows what"
                    " changed."
                ).format(previous=version.version - 1),
                _("Review it here: {url}").format(
                    url=f"{links.portal_url}/reports/{version.fiscal_year}"
                ),
            ]
        )
        return subject, body

    return compose


def readable_versions(paths: DataPaths) -> list[ReportVersion]:
    """Every version of every year whose manifest reads; a broken one is logged, not fatal, so
    one damaged year does not silence the notices of the others."""
    found = []
    for year in fiscal_years(paths.outbox):
        try:
            found += versions(paths.outbox, year)
        except ManifestUnreadable as error:
            log.warning("new versions of %s not noticed: %s", year, error)
    return found


def queue_new_versions(
    db: Database, paths: DataPaths, mail: MailSettings, links: Links, now: datetime
) -> list[str]:
    """Tell the approvers about every version not noticed before; returns the new event keys."""
    queued = []
    approvers: list[Account] | None = None
    for version in readable_versions(paths):
        key = version_event_key(version)
        with db.connect() as con:
            if event_known(con, key):
                continue
        approvers = recipients(db, APPROVER) if approvers is None else approvers
        messages = per_recipient(approvers, mail, now, _version_text(version, links))
        details = json.dumps(
            {"version": version.key, "written_at": version.generated_at.isoformat()}
        )
        with db.connect() as con:
            if queue_event(con, key, "report-version", now, messages, details):
                queued.append(key)
    return queued


# --- failed pipeline runs ------------------------------------------------------------------


def first_error_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:ERROR_LINE_CHARS]
    return ""


def queue_run_failure(
    db: Database,
    mail: MailSettings,
    links: Links,
    now: datetime,
    run_id: str,
    job_name: str,
    error: str,
) -> bool:
    """Tell the admins that a pipeline run failed (once per run id)."""
    key = f"run-failed:{run_id}"
    line = first_error_line(error)
    run_url = f"{links.dagster_url}/runs/{run_id}"

    def compose(lang: Language) -> tuple[str, str]:
        _ = lang.gettext
        subject = _("Pipeline run failed: {job} ({run})").format(job=job_name, run=run_id[:8])
        body = "\n\n".join(
            [
                _("The pipeline run {run} ({job}) failed at {at}.").format(
                    run=run_id, job=job_name, at=lang.moment(now)
                ),
                _("First error: {line}").format(line=line or _("(no error message)")),
                _("Its logs in the Dagster UI: {url}").format(url=run_url),
            ]
        )
        return subject, body

    with db.connect() as con:
        if event_known(con, key):
            return False
    messages = per_recipient(recipients(db, ADMIN), mail, now, compose)
    details = json.dumps({"run_id": run_id, "job": job_name, "error": line, "url": run_url})
    with db.connect() as con:
        return queue_event(con, key, "run-failed", now, messages, details)


def queue_run_failure_for(
    paths: DataPaths,
    run_id: str,
    job_name: str,
    error: str,
    now: datetime,
    environ: dict[str, str] | None = None,
) -> bool:
    """The entry point orchestration calls: open (or create) the portal's database and queue."""
    db = Database(database_file(paths))
    db.migrate()
    settings = PortalSettings.from_env()
    links = Links(settings.portal_url, settings.dagster_url)
    return queue_run_failure(
        db, MailSettings.from_env(environ), links, now, run_id, job_name, error
    )


# --- finance uploads -----------------------------------------------------------------------

UPLOAD_REASONS_SHOWN = 20


def upload_problems(errors_csv: Path, limit: int = UPLOAD_REASONS_SHOWN) -> list[dict[str, str]]:
    """The first problems ingest recorded for a rejected file (`<file>.errors.csv`)."""
    try:
        with errors_csv.open(encoding="utf-8", errors="replace", newline="") as handle:
            return [dict(row) for row in islice(csv.DictReader(handle), limit)]
    except (OSError, csv.Error):
        return []


def coded_problems(upload: Upload, limit: int = UPLOAD_REASONS_SHOWN) -> list[Problem]:
    """A rejected upload's problems by code (the check again on its kept file), in file order.

    `.errors.csv` holds ingest's English sentences only; the codes let each recipient read
    them in their own language, as the upload's page shows them.
    """
    checked = recheck(upload)
    if checked is None:
        return []
    ordered = sorted(checked.result.problems, key=lambda p: (p.row is not None, p.row or 0))
    return ordered[:limit]


def _coded_line(lang: Language, problem: Problem) -> str:
    text = f"{problem_text(lang, problem)} {fix_text(lang, problem)}".strip()
    if problem.row is None:
        return text
    return lang.gettext("Row {row}, column {column}, value {value}: {problem}").format(
        row=problem.row,
        column=problem.column or "-",
        value=repr(problem.value or ""),
        problem=text,
    )


def _upload_text(
    upload: Upload, problems: list[dict[str, str]], links: Links, coded: Sequence[Problem] = ()
) -> Compose:
    def compose(lang: Language) -> tuple[str, str]:
        _ = lang.gettext
        names = {"name": upload.original_name, "at": lang.moment(upload.uploaded_at)}
        page = _("Your uploads: {url}").format(url=f"{links.portal_url}/finance")
        if upload.status == REJECTED and coded:
            subject = _("Finance file not loaded: {name}").format(**names)
            lines = [_coded_line(lang, p) for p in coded]
        elif upload.status == REJECTED:
            subject = _("Finance file not loaded: {name}").format(**names)
            lines = [
                _("Row {row}, column {column}, value {value}: {problem}").format(
                    row=p["row"],
                    column=p.get("column") or "-",
                    value=repr(p.get("value") or ""),
                    problem=p.get("problem", ""),
                )
                if p.get("row")
                else p.get("problem", "")
                for p in problems
            ]
        if upload.status == REJECTED:
            body = [
                _("The finance file {name} you uploaded on {at} was not loaded.").format(**names),
                _("Problems found:") + "\n" + "\n".join(f"- {line}" for line in lines)
                if lines
                else _("The file could not be read."),
                _("Nothing from it was counted. Correct the file and upload it again."),
                page,
            ]
        else:
            subject = _("Finance file loaded: {name}").format(**names)
            months = ", ".join(lang.month(m) for m in upload.months)
            body = [
                _("The finance file {name} you uploaded on {at} was loaded.").format(**names),
                _("Months covered: {months}").format(months=months),
            ]
            if upload.status == DUPLICATE:
                body.append(_("It is identical to a file loaded before, so no figure changed."))
            body.append(page)
        return subject, "\n\n".join(body)

    return compose


def queue_upload_fates(
    db: Database, paths: DataPaths, mail: MailSettings, links: Links, now: datetime
) -> list[str]:
    """Tell each uploader once that their file was loaded or rejected."""
    queued = []
    accounts = {a.name.lower(): a for a in list_users(db)}
    for upload in uploads(db, paths):
        if upload.status not in (LOADED, DUPLICATE, REJECTED):
            continue
        kind = "upload-rejected" if upload.status == REJECTED else "upload-loaded"
        key = f"{kind}:{upload.id}"
        with db.connect() as con:
            if event_known(con, key):
                continue
        account = accounts.get(upload.uploader.lower())
        to = [account] if account and account.active and account.email else []
        problems, coded = [], []
        if upload.status == REJECTED:
            coded = coded_problems(upload)
            if not coded and upload.errors_txt is not None:
                problems = upload_problems(upload.errors_txt.with_suffix(".csv"))
        compose = _upload_text(upload, problems, links, coded)
        messages = per_recipient(to, mail, now, compose)
        details = json.dumps({"upload": upload.id, "status": upload.status})
        with db.connect() as con:
            if queue_event(con, key, kind, now, messages, details):
                queued.append(key)
    return queued
