"""Sending email: SMTP from the environment, or `.eml` files when no server is configured.

portal.md, "Notifications (email)": settings come from `O211_SMTP_*`; with no host set, every
message is written to `$O211_DATA_DIR/portal/outbox-mail/` so nothing is lost and the demo
needs no mail server. Messages are built with the standard library's `EmailMessage`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SENDER = "o211-portal@localhost"
SMTP_TIMEOUT_SECONDS = 30.0


class MailSettingsError(ValueError):
    """The `O211_SMTP_*` variables do not describe a usable server."""


@dataclass(frozen=True)
class MailSettings:
    host: str | None  # None: write `.eml` files instead of sending
    port: int
    security: str  # "starttls", "tls" (implicit, from the first byte) or "none"
    user: str | None
    password: str | None
    sender: str
    # A CA bundle to trust beyond the system's, for a server with a private certificate.
    ca_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        host = env.get("O211_SMTP_HOST", "").strip() or None
        security = env.get("O211_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in SECURITY_MODES:
            raise MailSettingsError(
                f"O211_SMTP_SECURITY is {security!r}; use one of {', '.join(SECURITY_MODES)}"
            )
        port_text = env.get("O211_SMTP_PORT", "").strip()
        try:
            port = int(port_text) if port_text else DEFAULT_PORTS[security]
        except ValueError as error:
            raise MailSettingsError(f"O211_SMTP_PORT is {port_text!r}, not a number") from error
        user = env.get("O211_SMTP_USER", "").strip() or None
        password = env.get("O211_SMTP_PASSWORD") or None
        if user and security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
            # A password over a plain connection to another machine is readable on the wire.
            raise MailSettingsError(
                "O211_SMTP_USER is set with O211_SMTP_SECURITY=none to a remote host: the"
                " password would cross the network unencrypted; use starttls or tls"
            )
        sender = env.get("O211_SMTP_SENDER", "").strip() or DEFAULT_SENDER
        if "@" not in parseaddr(sender)[1]:
            raise MailSettingsError(f"O211_SMTP_SENDER is {sender!r}, not an email address")
        ca_text = env.get("O211_SMTP_CA_FILE", "").strip()
        return cls(
            host=host,
            port=port,
            security=security,
            user=user,
            password=password,
            sender=sender,
            ca_file=Path(ca_text) if ca_text else None,
        )

    @property
    def writes_files(self) -> bool:
        return self.host is None


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str


def mail_folder(data_root: Path) -> Path:
    """Where messages go when no SMTP server is configured."""
    return data_root / "portal" / "outbox-mail"


def build_message(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    sent_at: datetime,
    language: str = "en",
    attachments: Sequence[Attachment] = (),
    domain: str | None = None,
) -> EmailMessage:
    """A plain-text message with a fixed Message-ID, so a record can name it before sending."""
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be time-zone aware")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=domain or sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    for attachment in attachments:
        message.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    # After the content: setting content clears every Content-* header set before it.
    message["Content-Language"] = language
    return message


def _tls_context(settings: MailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file is not None:
        context.load_verify_locations(cafile=str(settings.ca_file))
    return context


def _smtp(settings: MailSettings) -> smtplib.SMTP:
    assert settings.host is not None
    if settings.security == "tls":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=_tls_context(settings),
        )
    client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.security == "starttls":
            client.starttls(context=_tls_context(settings))
            # The server's capabilities change after the upgrade (AUTH is often offered only
            # then), so they are asked again.
            client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


def _write_eml(folder: Path, message: EmailMessage) -> Path:
    """Write the message atomically under a name from its Message-ID (one file per message)."""
    # Messages carry names, addresses and report files: the owner's only, whatever the
    # umask of the process that serves the portal (issue 14).
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    message_id = str(message["Message-ID"]).strip("<>")
    safe = "".join(ch if ch.isalnum() or ch in ".-_" else "_" for ch in message_id)
    target = folder / f"{safe}.eml"
    descriptor, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(bytes(message))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def send_message(
    settings: MailSettings,
    message: EmailMessage,
    data_root: Path,
    recipients: Sequence[str] | None = None,
) -> str:
    """Hand the message to the SMTP server (or write its `.eml`); return where it went.

    Raises `OSError`/`smtplib.SMTPException` when the server cannot take it: the caller keeps
    the message and tries again later.
    """
    if settings.writes_files:
        return str(_write_eml(mail_folder(data_root), message))
    with _smtp(settings) as client:
        if settings.user:
            client.login(settings.user, settings.password or "")
        client.send_message(message, to_addrs=list(recipients) if recipients else None)
    return f"smtp://{settings.host}:{settings.port}"
