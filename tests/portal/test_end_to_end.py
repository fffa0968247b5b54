"""The whole path of issue 13 in one test, with the real pipeline and a real SMTP server:

sample year -> `o211 run` -> the approver approves Q2 -> sent -> the SMTP server holds the
message with the exact workbook bytes -> a finance restatement uploaded in the portal ->
`o211 run` -> v2 written -> the approver is told -> v2 shows its changes and needs its own
approval (v1's approval no longer counts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.sample import write_sample
from o211.paths import REPO_ROOT
from portal.accounts import get_user, set_language
from portal.background import notify_and_send
from portal.mail import MailSettings
from portal.notices import Links
from tests.portal.conftest import PortalEnv, csrf_of
from tests.portal.smtp_server import smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("dbt_manifest", "dagster_home")]

FISCAL_YEAR = "2025-26"
SCALE = 0.05  # as tests/test_orchestration_pipeline.py: small, every weekly file has rows
Q2 = f"/reports/{FISCAL_YEAR}/Q2"
# A June restatement: it replaces every earlier ledger line of June 2025 (extracts.md).
RESTATEMENT = (
    b"period,account,description,funding_source,amount\n"
    b"2025-06,5010,Salaries and wages (restated),MCCSS,412345.67\n"
)


def o211_run(data: Path) -> str:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "o211"), "run"],
        cwd=REPO_ROOT,
        # PYTHONPATH: a virtual environment installed before `portal/` existed maps only the
        # older packages in its editable finder; the repository's own tree is what is tested.
        env={**os.environ, "O211_DATA_DIR": str(data), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def post(client, path: str, page: str, **data: str):
    return client.post(path, data={"csrf_token": csrf_of(client, page), **data})


def subjects_to(server, address: str) -> list[str]:
    return [r.message["Subject"] for r in server.received if r.rcpt_tos == [address]]


def test_sample_year_to_approved_delivery_and_a_restated_v2(
    portal_env: PortalEnv, as_role, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = portal_env.paths
    db = portal_env.app.state.portal.db
    set_language(db, get_user(db, "finance-user").id, "fr")
    write_sample(paths.root, FISCAL_YEAR, SCALE, 7)
    links = Links(portal_env.settings.portal_url, portal_env.settings.dagster_url)
    with smtp_server() as server:
        for name, value in server.environ().items():
            monkeypatch.setenv(name, value)
        mail = MailSettings.from_env()

        first_run = o211_run(paths.root)
        assert "portal mail:" in first_run and "0 waiting" in first_run
        assert f"New report version to review: {FISCAL_YEAR} Q2 v1" in subjects_to(
            server, "approver@example.org"
        )

        approver = as_role("approver")
        assert post(approver, f"{Q2}/v1/decide", f"{Q2}/v1", decision="approved").status_code == 303
        assert post(approver, f"{Q2}/v1/send", f"{Q2}/v1").status_code == 303
        assert notify_and_send(db, paths, mail, links, portal_env.clock()).failed == 0
        [delivered] = [r for r in server.received if r.rcpt_tos == ["liaison@example.org"]]
        outbox = paths.outbox / FISCAL_YEAR
        files = {
            p.get_filename(): p.get_payload(decode=True)
            for p in delivered.message.iter_attachments()
        }
        xlsx = f"ON211_ServiceDataSchedule_{FISCAL_YEAR}_Q2_v1.xlsx"
        csv = f"ON211_ServiceDataSchedule_{FISCAL_YEAR}_Q2_v1.csv"
        assert files == {xlsx: (outbox / xlsx).read_bytes(), csv: (outbox / csv).read_bytes()}

        finance = as_role("finance")
        token = csrf_of(finance, "/finance")
        uploaded = finance.post(
            "/finance/upload",
            data={"csrf_token": token},
            files={"file": ("june-restated.csv", RESTATEMENT)},
        )
        assert uploaded.status_code in (200, 303), uploaded.text

        second_run = o211_run(paths.root)
        assert "v2" in second_run
        approver_mail = subjects_to(server, "approver@example.org")
        assert f"New report version to review: {FISCAL_YEAR} Q2 v2" in approver_mail
        [notice] = [
            r.message
            for r in server.received
            if r.message["Subject"].endswith("Q2 v2") and r.rcpt_tos == ["approver@example.org"]
        ]
        assert "needs its own approval" in notice.get_content()
        assert "Fichier financier chargé : june-restated.csv" in subjects_to(
            server, "finance@example.org"
        )

    v2 = approver.get(f"{Q2}/v2").text
    assert "What changed since v1" in v2 and "Awaiting approval" in v2
    assert "june-restated.csv" in v2  # the new input file named among the changes
    assert "Info and referral service: Ministry-funded Agency Expenditures" in v2
    v1 = approver.get(f"{Q2}/v1").text
    assert "Superseded by v2" in v1
    refused = post(approver, f"{Q2}/v2/send", f"{Q2}/v2")
    assert refused.status_code == 409 and "not approved" in refused.text
    liaison = as_role("liaison")
    assert liaison.get(f"{Q2}/v1/xlsx").content == (outbox / xlsx).read_bytes()
    assert liaison.get(f"{Q2}/v2/xlsx").status_code == 404  # never sent
