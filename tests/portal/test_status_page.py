"""The admin's pipeline status page, from the published folders only (never the warehouse)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from portal.db import open_database
from portal.mail import MailSettings
from portal.notices import Links, queue_run_failure
from portal.status import last_loads, rejected_files, stage_statuses
from tests.portal.conftest import PortalEnv
from tests.portal.published import publish

DAGSTER = "http://127.0.0.1:3000"


def fill_folders(env: PortalEnv) -> None:
    calls = env.paths.archive("calls")
    (calls / "20251002T070100000000Z__calls_2025-04.csv").write_text("x")
    (calls / "20251003T070100000000Z__calls_2025-05.csv").write_text("x")
    # A duplicate is archived too, but it loaded nothing: the last load stays the May file.
    (calls / "20251004T070100000000Z__calls_2025-04.csv.duplicate").write_text("x")
    texts = env.paths.rejected("texts")
    (texts / "texts_bad.csv").write_text("x")
    (texts / "texts_bad.csv.errors.txt").write_text("The file was NOT loaded")
    (texts / "texts_bad.csv.errors.csv").write_text(
        "row,column,value,problem\n12,started_at,yesterday,not a date and time\n"
    )


def test_status_shows_loads_rejections_stages_warnings_and_failures(
    portal_env: PortalEnv, as_role
) -> None:
    fill_folders(portal_env)
    publish(portal_env.paths)  # 2025-26 Q2 v1, with its data-quality warnings
    db = open_database(portal_env.paths)
    links = Links("http://portal", DAGSTER)
    queue_run_failure(
        db, MailSettings.from_env({}), links, portal_env.clock(), "run-77", "reports",
        "ReportDataMissing: marts.service_data_schedule is missing\nmore",
    )  # fmt: skip
    portal_env.clock.now = datetime(2026, 10, 3, 14, 0, tzinfo=UTC)

    page = as_role("admin").get("/admin/status")
    assert page.status_code == 200
    text = page.text
    assert "calls_2025-05.csv" in text and "calls_2025-04.csv" not in text
    assert "nothing loaded yet" in text  # the kinds with no archive
    assert "texts_bad.csv" in text and "row 12, column &#39;started_at&#39;" in text
    assert "Voicemail" in text and "staging.211ontario.ca" in text  # the newest report's notes
    assert "run-77" in text and f"{DAGSTER}/runs/run-77" in text
    assert "ReportDataMissing: marts.service_data_schedule is missing" in text
    assert "OVERDUE" in text and "due: the schedule writes it" in text
    assert f'href="{DAGSTER}"' in text


def test_stage_states_follow_the_calendar_and_the_manifests(portal_env: PortalEnv) -> None:
    publish(portal_env.paths)
    states = {
        (s.fiscal_year, s.stage): s.state
        for s in stage_statuses(portal_env.paths, date(2026, 10, 3), delay_days=5)
    }
    assert states == {
        ("2025-26", "Q2"): "written",
        ("2025-26", "Q3"): "overdue",
        ("2025-26", "final"): "overdue",
        ("2026-27", "Q2"): "due",  # ended 30 September, written from 5 October
        ("2026-27", "Q3"): "upcoming",
        ("2026-27", "final"): "upcoming",
    }


def test_loads_and_rejections_are_read_from_the_folders(portal_env: PortalEnv) -> None:
    fill_folders(portal_env)
    loads = {load.kind: load for load in last_loads(portal_env.paths)}
    assert loads["calls"].file_name == "calls_2025-05.csv"
    assert loads["calls"].files_loaded == 2
    assert loads["calls"].loaded_at == datetime(2025, 10, 3, 7, 1, tzinfo=UTC)
    assert loads["web"].file_name is None
    [rejected] = rejected_files(portal_env.paths)
    assert (rejected.kind, rejected.file_name) == ("texts", "texts_bad.csv")
    assert rejected.first_problem == "row 12, column 'started_at': not a date and time"


def test_only_admins_see_the_status_page(portal_env: PortalEnv, as_role) -> None:
    for role in ("finance", "approver", "liaison"):
        assert as_role(role).get("/admin/status").status_code == 403
