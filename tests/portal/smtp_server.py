"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd), plain, STARTTLS or TLS.

The certificate is made for the test by the `openssl` command (the `cryptography` package is
not installed), for `127.0.0.1`, and the client trusts it through `O211_SMTP_CA_FILE`.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.portal.conftest import free_port

USER, PASSWORD = "portal-mailer", "mail password for tests"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                # STARTTLS sets session.ssl; an implicit-TLS listener's transport is TLS itself.
                tls=session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 Message accepted"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder
    security: str
    ca_file: Path | None
    controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    def environ(self, **extra: str) -> dict[str, str]:
        env = {
            "O211_SMTP_HOST": "127.0.0.1",
            "O211_SMTP_PORT": str(self.port),
            "O211_SMTP_SECURITY": self.security,
            "O211_SMTP_SENDER": "portal@o211.example.org",
        }
        if self.ca_file is not None:
            env["O211_SMTP_CA_FILE"] = str(self.ca_file)
        if self.security != "none":
            env |= {"O211_SMTP_USER": USER, "O211_SMTP_PASSWORD": PASSWORD}
        return env | extra

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.security != "none":
            assert self.ca_file is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, self.ca_file.with_name("key.pem"))
            kwargs = {"authenticator": _authenticate, "auth_require_tls": True}
            if self.security == "starttls":
                kwargs |= {"tls_context": context, "require_starttls": True}
            else:
                # aiosmtpd counts only STARTTLS as TLS for AUTH; this whole connection is TLS.
                kwargs |= {"ssl_context": context, "auth_require_tls": False}
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def self_signed(folder: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert


@contextmanager
def smtp_server(security: str = "none", folder: Path | None = None) -> Iterator[SmtpServer]:
    ca_file = self_signed(folder) if security != "none" and folder is not None else None
    server = SmtpServer(free_port(), Recorder(), security, ca_file)
    server.start()
    try:
        yield server
    finally:
        server.stop()
