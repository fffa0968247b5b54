"""An approver and the ministry liaison in a real browser (issue 13, item 5): Playwright drives
Debian's Chromium against the real app. The approver reviews, sees the changes of a v2 after a
finance restatement, approves and sends it; the liaison logs in and downloads exactly the file
that was sent. Pages are saved as `portal-1x-*.png` in `$O211_SCREENSHOT_DIR` (the README's
pictures come from `O211_SCREENSHOT_DIR=docs/images`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.mail import MailSettings
from portal.notifications import drain
from tests.portal.conftest import PortalEnv
from tests.portal.published import FISCAL_YEAR, publish, restated
from tests.portal.smtp_server import smtp_server
from tests.portal.test_portal_browser import (  # noqa: F401 - fixtures
    browser,
    log_in,
    new_page,
    screenshots,
    shoot,
)
from tests.portal.test_status_page import fill_folders


def shoot_top(page, folder: Path, name: str) -> None:
    """The first screen of a long page: what a reader sees first, legible in the README."""
    assert not page.errors, page.errors
    page.screenshot(path=str(folder / f"portal-{name}.png"), full_page=False)


def test_approver_reviews_approves_and_sends_v2_and_the_liaison_downloads_it(
    portal_env: PortalEnv,
    browser,  # noqa: F811 - the fixture imported above
    screenshots: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish(portal_env.paths)
    v2 = publish(portal_env.paths, restated("1500.25"), version_hour=26)
    page = new_page(browser, portal_env)
    log_in(page, "approver-user")
    page.get_by_role("link", name="Reports").first.click()
    page.get_by_role("heading", name=f"Reports {FISCAL_YEAR}").wait_for()
    assert page.get_by_text("Awaiting approval").count() == 1  # v2; v1 is superseded
    assert page.locator("tr.superseded").count() == 1
    shoot(page, screenshots, "10-reports-list")

    page.get_by_role("link", name="v2").click()
    page.get_by_role("heading", name="What changed since v1").wait_for()
    changed = page.locator("tr.changed")
    assert changed.count() == 1
    assert "+$9,001.50" in changed.inner_text()
    assert page.get_by_text("finance_2025-26_restated.xlsx").count() >= 1
    assert not page.errors, page.errors
    section = page.locator("section", has=page.get_by_role("heading", name="What changed since v1"))
    section.screenshot(path=str(screenshots / "portal-11-version-changes.png"))

    page.get_by_role("button", name="Approve v2").click()
    page.get_by_text("Approved, not sent").wait_for()
    with smtp_server() as server:
        for name, value in server.environ().items():
            monkeypatch.setenv(name, value)
        page.get_by_role("button", name="Send to the ministry liaison").click()
        page.get_by_role("heading", name="Sendings").wait_for()
        db = portal_env.app.state.portal.db
        assert drain(db, MailSettings.from_env(), portal_env.paths.root, portal_env.clock()).sent
        [mail] = server.received
    assert page.get_by_text("Approved and sent").count() == 1
    assert page.get_by_role("button", name="Resend to the ministry liaison").count() == 1
    shoot_top(page, screenshots, "12-approved-and-sent")
    attached = {
        p.get_filename(): p.get_payload(decode=True) for p in mail.message.iter_attachments()
    }
    assert attached[v2.xlsx_path.name] == v2.xlsx_path.read_bytes()

    page.get_by_role("button", name="Français").click()
    page.get_by_role("heading", name="Ce qui a changé depuis la v1").wait_for()
    assert page.get_by_text("Approuvée et envoyée").count() == 1
    shoot_top(page, screenshots, "13-version-french")

    liaison = new_page(browser, portal_env)
    log_in(liaison, "liaison-user")
    liaison.get_by_role("heading", name="Reports sent to the ministry liaison").wait_for()
    assert liaison.get_by_text(f"{FISCAL_YEAR} Q2 v1").count() == 0  # never sent
    shoot(liaison, screenshots, "14-liaison-sent-reports")
    with liaison.expect_download() as caught:
        liaison.get_by_role("link", name=v2.xlsx_path.name).click()
    downloaded = Path(caught.value.path()).read_bytes()
    assert caught.value.suggested_filename == v2.xlsx_path.name
    assert downloaded == attached[v2.xlsx_path.name] == v2.xlsx_path.read_bytes()

    fill_folders(portal_env)  # a few loads and a rejected file for the status page
    admin = new_page(browser, portal_env)
    log_in(admin, "admin-user")
    admin.get_by_role("link", name="Pipeline status").click()
    admin.get_by_role("heading", name="Pipeline status").wait_for()
    shoot(admin, screenshots, "15-pipeline-status")
