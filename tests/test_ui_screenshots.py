"""The Dagster UI a data team runs from, driven in headless Chromium against a real `o211 serve`.

Opens the global asset lineage, each layer's asset group and the ministry report asset (its
overview and its fiscal year x stage partitions), checks what a person would look for on each,
and saves a PNG of every page to `$O211_SCREENSHOT_DIR` (else a temporary folder) for a human
to look at. Uses Debian's chromium (scripts/system-deps.sh installs it), never a downloaded one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from o211.calendar import fiscal_year_of
from orchestration.sensors import file_sha256
from tests.live.finance import (
    SENSOR,
    UNKNOWN_FUNDING_SOURCE,
    LedgerLine,
    drop_in_inbox,
    log_text,
    wait_for_sensor_run,
)
from tests.live.server import TERMINAL_RUN_STATUSES, LiveDagster, RunEvent, shared_server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The layers of the lineage, in the order data flows (issue 6, "Assets and lineage").
LAYERS = ("ingest", "staging", "intermediate", "marts", "reports")
# Rendering the lineage lays out ~50 assets in a web worker: slow on a loaded 2-core machine.
PAGE_TIMEOUT_MS = 120_000
VIEWPORT = {"width": 1600, "height": 1000}
# What the UI shows when a page failed to load its data.
ERROR_BANNERS = ("Something went wrong", "GraphQL error", "PythonError", "Unexpected error")

ASSETS_QUERY = """
query Assets {
  assetNodes {
    assetKey { path }
    groupName
    description
    isPartitioned
    partitionDefinition { dimensionTypes { name type dynamicPartitionsDefinitionName } }
    partitionKeysByDimension { name partitionKeys }
  }
}
"""


@pytest.fixture(scope="session")
def live_dagster(request, tmp_path_factory) -> LiveDagster:
    return shared_server(request, tmp_path_factory)


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    configured = os.environ.get("O211_SCREENSHOT_DIR")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser_page(live_dagster: LiveDagster) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's chromium is not installed at {CHROMIUM}: run scripts/system-deps.sh as "
            "root (apt-get install chromium) to drive the Dagster UI"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package (dev dependency) is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except Exception as error:
            pytest.fail(f"{CHROMIUM} did not start: {error}")
        try:
            context = browser.new_context(viewport=VIEWPORT)
            # The first visit to a local Dagster UI opens a "Join the Dagster community" dialog
            # over the page; mark it dismissed as the UI itself does when "Skip" is clicked.
            context.add_init_script(
                "window.localStorage.setItem('communityNux', JSON.stringify('1'))"
            )
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def asset_nodes(live_dagster: LiveDagster) -> list[dict[str, Any]]:
    return list(live_dagster.graphql(ASSETS_QUERY)["assetNodes"])


def key_path(node: dict[str, Any]) -> str:
    return "/".join(node["assetKey"]["path"])


def open_page(page: Any, server: LiveDagster, path: str) -> None:
    page.goto(f"{server.url}{path}", wait_until="domcontentloaded")


def expect_texts(
    page: Any,
    server: LiveDagster,
    texts: list[str | re.Pattern[str]],
    where: str,
    state: str = "visible",
) -> None:
    """Wait until every text is on the page; fail naming what is missing and where.

    `state="attached"` accepts text the UI keeps in the page but hides, such as the full name
    behind a long asset name it shows shortened in the middle (`int…__monthly_grid`).
    """
    for text in texts:
        try:
            page.get_by_text(text, exact=True).first.wait_for(state=state)
        except Exception as error:
            body = page.inner_text("body")[:3000]
            pytest.fail(
                server.failure(f"{where}: {text!r} never showed ({error}). Page text:\n{body}")
            )


def settle(page: Any, server: LiveDagster, where: str) -> None:
    """Wait until the page stops saying "Loading..." (asset statuses arrive after the layout)."""
    try:
        page.wait_for_function("() => !/Loading(\\.\\.\\.|…)/.test(document.body.innerText)")
    except Exception as error:
        body = page.inner_text("body")[:3000]
        pytest.fail(server.failure(f"{where} never finished loading ({error}):\n{body}"))


def shoot(page: Any, server: LiveDagster, folder: Path, name: str) -> Path:
    """Save the page once loaded, after making sure no error banner is on it."""
    settle(page, server, name)
    body = page.inner_text("body")
    banners = [b for b in ERROR_BANNERS if b in body]
    assert not banners, f"{name}: the page shows an error: {banners}\n{body[:3000]}"
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000, f"{target} looks empty"
    return target


def test_asset_lineage_shows_every_layer(
    live_dagster: LiveDagster, browser_page: Any, asset_nodes: list[dict[str, Any]], screenshot_dir
) -> None:
    server, page = live_dagster, browser_page
    by_group: dict[str, list[list[str]]] = {}
    for node in asset_nodes:
        by_group.setdefault(node["groupName"], []).append(node["assetKey"]["path"])
    missing = [layer for layer in LAYERS if not by_group.get(layer)]
    assert not missing, f"no asset in group(s) {missing}; groups are {sorted(by_group)}"

    open_page(page, server, "/asset-groups")
    expect_texts(page, server, ["Global asset lineage", *LAYERS], "the global asset lineage")
    shoot(page, server, screenshot_dir, "01-global-asset-lineage")

    # Each layer's own page: its lineage, then the list of every asset in it.
    for number, layer in enumerate(LAYERS, start=2):
        group_path = f"/locations/{server.location}/asset-groups/{layer}"
        open_page(page, server, group_path)
        expect_texts(page, server, [layer, "Lineage"], f"the {layer} group")
        # The graph is drawn once its layout is computed, and only the nodes in view: wait for
        # any asset of the group to show as a node.
        names = "|".join(re.escape(path[-1]) for path in by_group[layer])
        any_asset = re.compile(f"^({names})$")
        expect_texts(page, server, [any_asset], f"the {layer} lineage")
        shoot(page, server, screenshot_dir, f"{number:02d}-group-{layer}-lineage")
        open_page(page, server, f"{group_path}/list")
        expect_texts(
            page,
            server,
            [" / ".join(path) for path in sorted(by_group[layer])],
            f"the {layer} asset list",
            state="attached",
        )
        shoot(page, server, screenshot_dir, f"{number:02d}-group-{layer}-list")


def test_report_asset_shows_its_description_and_partitions(
    live_dagster: LiveDagster, browser_page: Any, asset_nodes: list[dict[str, Any]], screenshot_dir
) -> None:
    server, page = live_dagster, browser_page
    reports = [n for n in asset_nodes if n["groupName"] == "reports" and n["isPartitioned"]]
    assert reports, "no partitioned asset in the reports group"
    report = reports[0]

    # The fiscal years join the report partitions when data is loaded; make sure one exists
    # so the partition picker has rows to show even on an empty instance.
    dimensions = report["partitionDefinition"]["dimensionTypes"]
    for dimension in dimensions:
        if dimension["dynamicPartitionsDefinitionName"]:
            server.add_fiscal_year_partition(
                dimension["dynamicPartitionsDefinitionName"], fiscal_year_of(date.today())
            )
    refreshed = next(
        n for n in server.graphql(ASSETS_QUERY)["assetNodes"] if key_path(n) == key_path(report)
    )
    partition_keys = {d["name"]: d["partitionKeys"] for d in refreshed["partitionKeysByDimension"]}
    assert all(partition_keys.values()), f"a partition dimension is empty: {partition_keys}"

    asset_path = f"/assets/{key_path(report)}"
    open_page(page, server, asset_path)
    name = report["assetKey"]["path"][-1]
    first_sentence = (report["description"] or "").split(":")[0].strip()
    assert first_sentence, f"{key_path(report)} has no description"
    expect_texts(page, server, [name, "Description"], f"the {name} overview")
    page.get_by_text(first_sentence, exact=False).first.wait_for(state="visible")
    # Descriptions are rendered as Markdown: a bare `<fiscal year>` would vanish as an HTML tag.
    written = " ".join((report["description"] or "").replace("`", "").split())
    shown = " ".join(page.inner_text("body").split())
    assert written in shown, (
        f"the {name} overview does not show its description as written: {written!r}"
    )
    shoot(page, server, screenshot_dir, "07-report-asset-overview")

    open_page(page, server, f"{asset_path}?view=partitions")
    every_key = sorted({key for keys in partition_keys.values() for key in keys})
    expect_texts(page, server, ["Partitions", *every_key], f"the {name} partitions")
    shoot(page, server, screenshot_dir, "08-report-asset-partitions")


def test_finance_run_log_tells_staff_why_a_file_was_rejected(
    live_dagster: LiveDagster, browser_page: Any, screenshot_dir
) -> None:
    """The run page finance staff open after an upload shows the rejection and its reason."""
    server, page = live_dagster, browser_page
    run_id, reason = rejected_finance_run(server)

    open_page(page, server, f"/runs/{run_id}")
    # The log line as the run stored it (its start is enough to find it); the viewer opens at
    # the end of the log, so bring the line into view for the screenshot.
    line = page.get_by_text(reason[:80], exact=False).first
    line.wait_for(state="visible")
    line.scroll_into_view_if_needed()
    shoot(page, server, screenshot_dir, "09-finance-run-log-rejected")


def rejected_finance_run(server: LiveDagster) -> tuple[str, str]:
    """A finished finance sensor run whose log rejects a file: the session's own (the daemon
    test leaves one) or one started here with a file naming an unknown funding source."""
    for run in server.runs({"dagster/sensor_name": SENSOR}):
        if run["status"] in TERMINAL_RUN_STATUSES:
            found = rejection_line(server.run_events(run["runId"]))
            if found:
                return run["runId"], found
    name = "finance_2026-01_ui.csv"
    path = drop_in_inbox(
        server,
        name,
        [LedgerLine(date(2026, 1, 1), "5900", "Tirage", UNKNOWN_FUNDING_SOURCE, Decimal("75"))],
    )
    run = wait_for_sensor_run(server, name, file_sha256(path))
    events = server.run_events(run["runId"])
    found = rejection_line(events)
    assert found, f"the run for {name} does not say it was rejected:\n{log_text(events)}"
    return run["runId"], found


def rejection_line(events: list[RunEvent]) -> str | None:
    lines = [e.message for e in events if e.level == "ERROR" and "rejected" in e.message.lower()]
    return lines[0] if lines else None
