"""Sending an approved report version to the ministry liaison (portal.md, "Sending").

The message (workbook and CSV attached, their bytes checked against the manifest and the
approval) is queued in the durable outbox in the same transaction as the delivery record and its
audit entry, so a mail server that is down delays the message but never loses it, a crash leaves
all three or none, and the record names the Message-ID the liaison will receive.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from o211.paths import DataPaths
from portal import audit
from portal.accounts import LIAISON, Account
from portal.approvals import (
    DecisionRefused,
    Delivery,
    SentFile,
    VersionState,
    check_sendable,
    deliveries_for,
    record_delivery,
)
from portal.db import Database
from portal.i18n import N_, Language
from portal.mail import Attachment, MailSettings, build_message
from portal.notices import Links, language_of, recipients
from portal.notifications import Outgoing, queue_event
from portal.reports import MEDIA_TYPES, ReportVersion, verified_bytes

BODY_SEPARATOR = "\n\n----------\n\n"


def _stage_words(lang: Language, version: ReportVersion) -> str:
    if version.stage_kind == "final":
        return lang.gettext("Final - year-end")
    return lang.gettext("Interim - {stage} year-to-date").format(stage=version.stage)


def delivery_text(
    lang: Language,
    version: ReportVersion,
    approver: str,
    approved_at: datetime,
    files: list[SentFile],
    links: Links,
) -> tuple[str, str]:
    _ = lang.gettext
    subject = _("Ontario 211 Service Data Schedule {fy} {stage} v{n}").format(
        fy=version.fiscal_year, stage=version.stage, n=version.version
    )
    listed = "\n".join(f"  {f.name}\n    SHA-256 {f.sha256}" for f in files)
    body = "\n\n".join(
        [
            _(
                "Attached is the Ontario 211 Service Data Schedule for {fy}, {stage}, version"
                " v{n}, approved by {approver} on {at}."
            ).format(
                fy=version.fiscal_year,
                stage=_stage_words(lang, version),
                n=version.version,
                approver=approver,
                at=lang.moment(approved_at),
            ),
            _("Attached files and their SHA-256:") + "\n" + listed,
            _("The same files and their approval record are in the portal: {url}").format(
                url=f"{links.portal_url}/reports/sent"
            ),
        ]
    )
    return subject, body


def _languages(liaisons: list[Account]) -> list[Language]:
    """One language when every liaison shares it, else English then French in one message."""
    codes = sorted({language_of(a).code for a in liaisons}, key=lambda c: c != "en")
    return [Language(code) for code in codes]


def send_version(
    db: Database,
    paths: DataPaths,
    mail: MailSettings,
    links: Links,
    state: VersionState,
    actor: str,
    now: datetime,
    resend: bool = False,
    address: str | None = None,
) -> Delivery:
    """Queue the approved current version for the liaison accounts and record the sending.

    The message, the delivery record and its audit entry (`address`: the sender's) are one
    transaction: a crash leaves all three or none, so the approver either sees it sent, with
    exactly one message queued, or sends it again.
    """
    approval = check_sendable(state, resend)
    liaisons = recipients(db, LIAISON)
    if not liaisons:
        raise DecisionRefused(
            N_("no active liaison account has an email address: an admin must add one first")
        )
    version = state.version
    xlsx = verified_bytes(paths.outbox, version, "xlsx")
    csv = verified_bytes(paths.outbox, version, "csv")
    if hashlib.sha256(xlsx).hexdigest() != approval.workbook_sha256:
        raise DecisionRefused(N_("the workbook is not the one that was approved; it was not sent"))
    files = [
        SentFile(version.xlsx.name, hashlib.sha256(xlsx).hexdigest()),
        SentFile(version.csv.name, hashlib.sha256(csv).hexdigest()),
    ]
    texts = [
        delivery_text(lang, version, approval.decided_by, approval.decided_at, files, links)
        for lang in _languages(liaisons)
    ]
    addresses = [a.email for a in liaisons if a.email]
    xlsx_type = MEDIA_TYPES["xlsx"].split("/")
    message = build_message(
        sender=mail.sender,
        recipients=addresses,
        subject=" / ".join(subject for subject, _ in texts),
        body=BODY_SEPARATOR.join(body for _, body in texts),
        sent_at=now,
        language=", ".join(lang.code for lang in _languages(liaisons)),
        attachments=[
            Attachment(version.xlsx.name, xlsx, xlsx_type[0], xlsx_type[1]),
            Attachment(version.csv.name, csv, "text", "csv"),
        ],
    )
    with db.connect() as con:
        # Checked again under the write lock: two approvers pressing "send" at once send once.
        earlier = [
            d
            for d in deliveries_for(con, version.fiscal_year)
            if d.stage == version.stage and d.version == version.version
        ]
        if any(d.decision_id == approval.id for d in earlier) and not resend:
            raise DecisionRefused(N_("v{n} was just sent by someone else"), n=version.version)
        key = f"report-sent:{version.key}#{len(earlier) + 1}"
        queue_event(con, key, "report-sent", now, [Outgoing(addresses, message)])
        delivery = record_delivery(
            con,
            state,
            approval,
            actor,
            now,
            addresses,
            str(message["Message-ID"]),
            files,
            resend,
            key,
        )
        audit.append(
            con, now, audit.REPORT_SENT, actor=actor, address=address,
            details=f"{version.key} to {', '.join(delivery.recipients)}; Message-ID"
            f" {delivery.message_id}; "
            + "; ".join(f"{f.name} SHA-256 {f.sha256}" for f in delivery.attachments)
            + ("; resend" if delivery.resend else ""),
        )  # fmt: skip
        return delivery
