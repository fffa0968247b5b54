"""Report review, approval and delivery through the portal's pages, against a real SMTP server.

Reports are published into the data directory as exports writes them; the pages must show the
published figures, record approvals and sendings append-only, refuse what the rules forbid,
and serve only bytes whose SHA-256 matches the manifest.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest

from portal import audit
from portal.i18n import Language
from portal.mail import MailSettings
from portal.notifications import drain
from tests.portal.conftest import PortalEnv, csrf_of
from tests.portal.published import FISCAL_YEAR, publish, restated
from tests.portal.smtp_server import smtp_server

Q2 = f"/reports/{FISCAL_YEAR}/Q2"


def outbox_file(env: PortalEnv, name: str) -> Path:
    return env.paths.outbox / FISCAL_YEAR / name


def location(client, path: str) -> str:
    """Where a GET redirects to (requests' `get` follows redirects unless told not to)."""
    response = client.get(path, allow_redirects=False)
    assert response.status_code in (302, 303, 307), (path, response.status_code)
    return response.headers["location"]


def post(client, path: str, page: str, **data: str):
    return client.post(path, data={"csrf_token": csrf_of(client, page), **data})


def send_all_mail(env: PortalEnv, monkeypatch: pytest.MonkeyPatch, server) -> None:
    for name, value in server.environ().items():
        monkeypatch.setenv(name, value)
    result = drain(env.app.state.portal.db, MailSettings.from_env(), env.paths.root, env.clock())
    assert result.failed == 0


def test_review_approve_send_and_liaison_download(
    portal_env: PortalEnv, as_role, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    v1 = publish(portal_env.paths)
    approver = as_role("approver")
    assert location(approver, "/reports") == f"/reports/{FISCAL_YEAR}"
    listing = approver.get(f"/reports/{FISCAL_YEAR}")
    assert listing.status_code == 200
    assert "v1" in listing.text and "Awaiting approval" in listing.text

    page = approver.get(f"{Q2}/v1")
    assert page.status_code == 200, page.text
    english = Language("en")
    for element, value in v1.figures.items():
        assert element.replace("&", "&amp;") in page.text
        if value is not None and "Satisfaction" not in element and "Expenditures" not in element:
            assert english.number(value) in page.text, element
    money = v1.figures["Info and referral service: Ministry-funded Agency Expenditures"]
    assert english.money(money) in page.text
    assert "88.4%" in page.text  # phone satisfaction, as published

    refused = post(approver, f"{Q2}/v1/send", f"{Q2}/v1")
    assert refused.status_code == 409 and "not approved" in refused.text

    approved = post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="approved")
    assert approved.status_code == 303
    with smtp_server() as server:
        sent = post(approver, f"{Q2}/v1/send", f"{Q2}/v1")
        assert sent.status_code == 303
        send_all_mail(portal_env, monkeypatch, server)
        [mail] = server.received
    assert mail.rcpt_tos == ["liaison@example.org"]
    message = mail.message
    files = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert files == {
        v1.xlsx_path.name: v1.xlsx_path.read_bytes(),
        v1.csv_path.name: v1.csv_path.read_bytes(),
    }
    assert "Q2 v1" in message["Subject"]
    page = approver.get(f"{Q2}/v1").text
    assert message["Message-ID"].strip("<>") in page.replace("&lt;", "<").replace("&gt;", ">")
    assert hashlib.sha256(v1.xlsx_path.read_bytes()).hexdigest() in page

    again = post(approver, f"{Q2}/v1/send", f"{Q2}/v1")
    assert again.status_code == 409 and "resend" in again.text
    resent = post(approver, f"{Q2}/v1/send", f"{Q2}/v1", resend="yes")
    assert resent.status_code == 303

    liaison = as_role("liaison")
    assert location(liaison, "/reports") == "/reports/sent"
    sent_page = liaison.get("/reports/sent")
    assert sent_page.status_code == 200 and "approver-user" in sent_page.text
    download = liaison.get(f"{Q2}/v1/xlsx")
    assert download.status_code == 200
    assert download.content == v1.xlsx_path.read_bytes() == files[v1.xlsx_path.name]
    assert v1.xlsx_path.name in download.headers["content-disposition"]
    assert liaison.get(f"/reports/{FISCAL_YEAR}").status_code == 403
    assert liaison.get(f"{Q2}/v1").status_code == 403


def test_a_restatement_supersedes_the_approval_and_shows_its_changes(
    portal_env: PortalEnv, as_role
) -> None:
    publish(portal_env.paths)
    approver = as_role("approver")
    assert post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="approved").status_code == 303
    v2 = publish(portal_env.paths, restated("1500.25"), version_hour=1)
    assert v2.version == 2

    listing = approver.get(f"/reports/{FISCAL_YEAR}").text
    assert "Superseded" in listing and "Approved by approver-user, superseded by v2" in listing
    old = approver.get(f"{Q2}/v1").text
    assert "Superseded by v2" in old and "Approve v1" not in old
    refused = post(approver, f"{Q2}/v1/send", f"{Q2}/v1")
    assert refused.status_code == 409 and "superseded" in refused.text

    page = approver.get(f"{Q2}/v2").text
    assert "What changed since v1" in page
    # Six months at $1,500.25 more: the Changes sheet's difference, shown in dollars.
    assert "+$9,001.50" in page
    assert "finance_2025-26_restated.xlsx" in page
    assert "Awaiting approval" in page
    refused = post(approver, f"{Q2}/v2/send", f"{Q2}/v2")
    assert refused.status_code == 409 and "not approved" in refused.text
    assert post(approver, f"{Q2}/v2/decide", f"{Q2}/v2", decision="approved").status_code == 303
    assert "Approved, not sent" in approver.get(f"{Q2}/v2").text


def test_return_needs_a_comment_and_records_stay_append_only(
    portal_env: PortalEnv, as_role
) -> None:
    publish(portal_env.paths)
    approver = as_role("approver")
    empty = post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="returned", comment="  ")
    assert empty.status_code == 409 and "needs a comment" in empty.text
    returned = post(
        approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="returned", comment="June is short"
    )
    assert returned.status_code == 303
    page = approver.get(f"{Q2}/v1").text
    assert "June is short" in page and "Returned" in page
    assert post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="approved").status_code == 303
    db_file = portal_env.app.state.portal.db.path
    with sqlite3.connect(db_file) as con:
        rows = con.execute("select decision from report_decisions order by id").fetchall()
        assert rows == [("returned",), ("approved",)]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("update report_decisions set decision = 'approved'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("delete from report_decisions")
    actions = [e.action for e in audit.entries(portal_env.app.state.portal.db)]
    assert actions.count("report returned") == 1 and actions.count("report approved") == 1


def test_a_changed_file_is_refused_not_served(portal_env: PortalEnv, as_role) -> None:
    v1 = publish(portal_env.paths)
    approver = as_role("approver")
    original = v1.csv_path.read_bytes()
    v1.csv_path.write_bytes(original.replace(b"Calls", b"Cal1s"))
    response = approver.get(f"{Q2}/v1/csv")
    assert response.status_code == 409
    assert b"Cal1s" not in response.content
    assert "not served" in response.text
    refused = [e for e in audit.entries(portal_env.app.state.portal.db)]
    assert refused[0].action == "report file refused"
    assert v1.csv_path.name in refused[0].details
    # Approving checks the files too: the changed CSV cannot be approved.
    approve = post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="approved")
    assert approve.status_code == 409
    v1.csv_path.write_bytes(original)
    assert approver.get(f"{Q2}/v1/csv").content == original


@pytest.mark.parametrize("role", ["finance", "admin", "liaison"])
def test_only_approvers_review_decide_and_send(portal_env: PortalEnv, as_role, role: str) -> None:
    publish(portal_env.paths)
    client = as_role(role)
    token = csrf_of(client)
    assert client.get(f"{Q2}/v1").status_code == 403
    for action in ("decide", "send"):
        response = client.post(
            f"{Q2}/v1/{action}", data={"csrf_token": token, "decision": "approved"}
        )
        assert response.status_code == 403
    with sqlite3.connect(portal_env.app.state.portal.db.path) as con:
        assert con.execute("select count(*) from report_decisions").fetchone() == (0,)
    expected_download = 404 if role == "liaison" else 403  # the liaison sees sent ones only
    assert client.get(f"{Q2}/v1/xlsx").status_code == expected_download


def test_without_a_session_report_pages_ask_for_login(portal_env: PortalEnv) -> None:
    publish(portal_env.paths)
    client = portal_env.client()
    for path in ("/reports", f"/reports/{FISCAL_YEAR}", f"{Q2}/v1", f"{Q2}/v1/xlsx"):
        assert location(client, path) == "/login"
    assert client.post(f"{Q2}/v1/decide", data={"decision": "approved"}).status_code == 401


def test_unknown_versions_and_kinds_are_not_found(portal_env: PortalEnv, as_role) -> None:
    publish(portal_env.paths)
    approver = as_role("approver")
    for path in (f"{Q2}/v9", f"{Q2}/v1/pdf", "/reports/2025-26/Q4/v1", "/reports/..%2f/Q2/v1"):
        assert approver.get(path).status_code == 404, path
    assert re.search(r"v1", approver.get(f"/reports/{FISCAL_YEAR}").text)


def test_sending_is_refused_without_a_liaison_address_or_with_bad_mail_settings(
    portal_env: PortalEnv, as_role, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(portal_env.paths)
    approver = as_role("approver")
    assert post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="approved").status_code == 303
    monkeypatch.setenv("O211_SMTP_SECURITY", "ssl3")
    wrong = post(approver, f"{Q2}/v1/send", f"{Q2}/v1")
    assert wrong.status_code == 503 and "O211_SMTP_SECURITY" in wrong.text
    monkeypatch.delenv("O211_SMTP_SECURITY")
    db = portal_env.app.state.portal.db
    with db.connect() as con:
        con.execute("update users set email = null where role = 'liaison'")
    nobody = post(approver, f"{Q2}/v1/send", f"{Q2}/v1")
    assert nobody.status_code == 409 and "no active liaison account" in nobody.text
    with db.connect() as con:
        assert con.execute("select count(*) from report_deliveries").fetchone()[0] == 0
        assert con.execute("select count(*) from notifications").fetchone()[0] == 0


def test_a_broken_manifest_is_reported_not_a_server_error(portal_env: PortalEnv, as_role) -> None:
    v1 = publish(portal_env.paths)
    manifest = v1.xlsx_path.parent / "manifest.json"
    manifest.write_text('{"format": 1, "versions": [', encoding="utf-8")
    approver, admin = as_role("approver"), as_role("admin")
    for client, path in ((approver, f"/reports/{FISCAL_YEAR}"), (approver, f"{Q2}/v1/xlsx"),
                         (admin, "/admin/status")):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 409, path
        assert "manifest.json) cannot be read" in response.text
    assert audit.entries(portal_env.app.state.portal.db)[0].action == "report file refused"
