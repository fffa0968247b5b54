"""A finance clerk's visit in a real browser (issue 12, item 7): Playwright drives Debian's
Chromium against the real app served by uvicorn. Logs in, downloads the template, fills it in and
uploads it (accepted), uploads a bad file (every problem listed), switches to French; an admin
then sees the accounts and the audit log. Each page is saved as `portal-*.png` in
`$O211_SCREENSHOT_DIR` (the README's pictures come from `O211_SCREENSHOT_DIR=docs/images`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ingest.pipeline import ingest_inbox
from portal.accounts import ADMIN, FINANCE
from tests.portal.conftest import PASSWORD, PortalEnv
from tests.portal.test_portal_finance import ledger
from tests.test_ui_screenshots import CHROMIUM, CHROMIUM_ARGS

VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 20_000


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    configured = os.environ.get("O211_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (scripts/system-deps.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Any, env: PortalEnv, language: str = "en-CA") -> Any:
    context = browser.new_context(
        viewport=VIEWPORT, locale=language, accept_downloads=True, base_url=env.server.url
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    # Any script error or CSP violation on a page is a bug (the pages carry no script at all).
    errors: list[str] = []
    # (A refused upload answers 4xx on purpose: the browser reports that as a failed load.)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def shoot(page: Any, folder: Path, name: str) -> None:
    assert not page.errors, page.errors
    target = folder / f"portal-{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def log_in(page: Any, name: str) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_finance_clerk_uploads_in_english_and_french(portal_env, browser, screenshots, tmp_path):
    page = new_page(browser, portal_env)
    page.goto("/finance")
    page.get_by_role("heading", name="Log in").wait_for()  # no session: the login page
    shoot(page, screenshots, "01-login")
    log_in(page, f"{FINANCE}-user")
    page.get_by_role("heading", name="Finance uploads").wait_for()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the blank finance template (.xlsx)").click()
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    workbook = openpyxl.load_workbook(template)
    sheet = workbook["Expenditures"]
    assert [c.value for c in sheet[1]] == [
        "period",
        "account",
        "description",
        "funding_source",
        "amount",
    ]
    for row, (month, account, source, amount) in enumerate(
        [
            (datetime(2025, 4, 1), "5010", "MCCSS", 12500.75),
            (datetime(2025, 4, 1), "5020", "United Way", 980.5),
            (datetime(2025, 5, 1), "5010", "MCCSS", 13020),
        ],
        start=2,
    ):
        sheet.cell(row, 1, month)
        sheet.cell(row, 2, account)
        sheet.cell(row, 4, source)
        sheet.cell(row, 5, amount)
    filled = tmp_path / "Expenditures April-May 2025.xlsx"
    workbook.save(filled)

    page.get_by_label("File").set_input_files(str(filled))
    page.get_by_role("button", name="Check and upload").click()
    page.get_by_role(
        "heading", name="Accepted for loading: Expenditures April-May 2025.xlsx"
    ).wait_for()
    verdict = page.locator(".verdict.accepted").inner_text()
    assert "April 2025, May 2025" in verdict
    assert "$25,520.75" in verdict and "$980.50" in verdict
    ingest_inbox(portal_env.paths, kinds=["finance"], pii_key=b"k" * 32)  # the pipeline loads it
    page.goto("/finance")
    assert page.locator("#upload-1 .status").inner_text() == "loaded"
    shoot(page, screenshots, "02-finance-uploads")

    bad = tmp_path / "June ledger.csv"
    bad.write_bytes(
        ledger(
            ("2025-06", "MCCSS", "100.00"),
            ("June", "MCCSS", "1.00"),
            ("2025-06", "Lottery", "12.345678"),
        )
    )
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Check and upload").click()
    page.get_by_role("heading", name="File refused: June ledger.csv").wait_for()
    problems = page.locator("table.problems tbody tr")
    assert problems.count() == 3
    texts = [problems.nth(i).inner_text() for i in range(3)]
    assert texts[0].startswith("3\tperiod\tJune\tis not a month")
    rest = " | ".join(texts[1:])
    assert "4\tfunding_source\tLottery\tis not a known funding source" in rest
    assert "4\tamount\t12.345678\thas more than 4 decimal places" in rest
    shoot(page, screenshots, "03-upload-refused")

    page.get_by_role("button", name="Français").click()
    page.get_by_role("heading", name="Téléversements financiers").wait_for()
    assert page.locator("html").get_attribute("lang") == "fr-CA"
    body = page.inner_text("main")
    assert "Téléversements précédents" in body and "avril 2025" in body
    assert "25 520,75 $" in body.replace("\u202f", " ").replace("\u00a0", " ")
    assert page.locator("#upload-1 .status").inner_text() == "chargé"
    page.get_by_label("Fichier").set_input_files(str(bad))
    page.get_by_role("button", name="Vérifier et téléverser").click()
    page.get_by_role("heading", name="Fichier refusé : June ledger.csv").wait_for()
    assert "n’est pas un mois" in page.locator("table.problems").inner_text()
    shoot(page, screenshots, "04-finance-french")


def test_an_admin_sees_accounts_and_the_audit_log(portal_env, browser, screenshots):
    page = new_page(browser, portal_env)
    log_in(page, f"{FINANCE}-user")  # something to audit
    page.context.clear_cookies()
    log_in(page, f"{ADMIN}-user")
    page.get_by_role("heading", name="Accounts").wait_for()
    assert page.locator("tbody tr").count() == 4
    shoot(page, screenshots, "05-admin-accounts")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    assert "finance-user" in page.inner_text("table")
    shoot(page, screenshots, "06-audit-log")
    page.get_by_role("link", name="My account").click()
    page.get_by_role("heading", name="Change my password").wait_for()
    shoot(page, screenshots, "07-my-account")
