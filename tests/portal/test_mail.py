"""portal.mail against a real SMTP server: plain, STARTTLS and implicit TLS (with login), the
`.eml` fallback when no server is configured, and settings that must be refused."""

from __future__ import annotations

import email
import email.policy
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal.mail import (
    Attachment,
    MailSettings,
    MailSettingsError,
    build_message,
    mail_folder,
    send_message,
)
from tests.portal.smtp_server import smtp_server

NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
WORKBOOK = b"PK\x03\x04 not really a workbook \x00\xff bytes"


def message(settings: MailSettings, to: str = "liaison@example.org"):
    return build_message(
        sender=settings.sender,
        recipients=[to],
        subject="Rapport prêt : 2025-26 Q2",
        body="Voici le rapport.\nÉléments : 10",
        sent_at=NOW,
        language="fr",
        attachments=[
            Attachment("ON211_x.xlsx", WORKBOOK, "application", "octet-stream"),
            Attachment("ON211_x.csv", b"a,b\n1,2\n", "text", "csv"),
        ],
    )


def attachments(received) -> dict[str, bytes]:
    """Each attachment's exact bytes, as the transfer encoding carried them."""
    return {
        part.get_filename(): part.get_payload(decode=True) for part in received.iter_attachments()
    }


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_sends_through_each_kind_of_connection(tmp_path: Path, security: str) -> None:
    with smtp_server(security, tmp_path) as server:
        settings = MailSettings.from_env(server.environ())
        sent = message(settings)
        via = send_message(settings, sent, tmp_path)
        assert via == f"smtp://127.0.0.1:{server.port}"
        [got] = server.received
    assert got.tls is (security != "none")
    assert got.rcpt_tos == ["liaison@example.org"]
    received = got.message
    assert received["Message-ID"] == sent["Message-ID"]
    assert received["Subject"] == "Rapport prêt : 2025-26 Q2"
    assert received["Content-Language"] == "fr"
    body = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body == "Voici le rapport.\nÉléments : 10\n"
    found = attachments(received)
    assert found["ON211_x.xlsx"] == WORKBOOK
    assert found["ON211_x.csv"] == b"a,b\n1,2\n"


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with smtp_server("starttls", tmp_path) as server:
        env = server.environ()
        del env["O211_SMTP_CA_FILE"]
        settings = MailSettings.from_env(env)
        with pytest.raises(ssl.SSLCertVerificationError):
            send_message(settings, message(settings), tmp_path)
        assert server.received == []


def test_wrong_password_is_an_error_not_a_silent_drop(tmp_path: Path) -> None:
    import smtplib

    with smtp_server("tls", tmp_path) as server:
        settings = MailSettings.from_env(server.environ(O211_SMTP_PASSWORD="wrong password!"))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send_message(settings, message(settings), tmp_path)
        assert server.received == []


def test_without_a_host_messages_are_written_as_eml_files(tmp_path: Path) -> None:
    settings = MailSettings.from_env({})
    assert settings.writes_files
    sent = message(settings)
    where = Path(send_message(settings, sent, tmp_path))
    assert where.parent == mail_folder(tmp_path) == tmp_path / "portal" / "outbox-mail"
    parsed = email.message_from_bytes(where.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == sent["Message-ID"]
    assert attachments(parsed)["ON211_x.xlsx"] == WORKBOOK
    assert [p.name for p in where.parent.iterdir()] == [where.name]


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"O211_SMTP_HOST": "mail.example.org", "O211_SMTP_SECURITY": "ssl"}, "SECURITY"),
        ({"O211_SMTP_HOST": "mail.example.org", "O211_SMTP_PORT": "smtp"}, "PORT"),
        ({"O211_SMTP_SENDER": "nobody"}, "SENDER"),
        (
            {
                "O211_SMTP_HOST": "mail.example.org",
                "O211_SMTP_SECURITY": "none",
                "O211_SMTP_USER": "u",
            },
            "unencrypted",
        ),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(env: dict, words: str) -> None:
    with pytest.raises(MailSettingsError, match=words):
        MailSettings.from_env(env)


def test_default_ports_follow_the_security() -> None:
    ports = {
        security: MailSettings.from_env(
            {"O211_SMTP_HOST": "h", "O211_SMTP_SECURITY": security}
        ).port
        for security in ("starttls", "tls", "none")
    }
    assert ports == {"starttls": 587, "tls": 465, "none": 25}
