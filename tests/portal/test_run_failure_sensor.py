"""The run-failure sensor (orchestration/notify.py) queues one portal message per failed run,
with the run id and the first error line, built from a real failed Dagster run."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from o211.paths import DataPaths
from orchestration.notify import send_portal_mail, tell_admins_of_failed_runs
from portal.accounts import ADMIN, add_user
from portal.db import open_database
from portal.notifications import event_details, recent_messages
from portal.settings import PortalSettings
from tests.portal.conftest import PASSWORD


@dg.op
def load_calls() -> None:
    raise RuntimeError("the warehouse is locked by another process\nsecond line of detail")


@dg.job
def failing_job() -> None:
    load_calls()


def test_a_failed_run_is_queued_once_for_the_admins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = DataPaths(tmp_path / "data").ensure()
    monkeypatch.setenv("O211_DATA_DIR", str(paths.root))
    for name in [n for n in __import__("os").environ if n.startswith("O211_SMTP_")]:
        monkeypatch.delenv(name)
    db = open_database(paths)
    add_user(db, PortalSettings(), "adam", ADMIN, PASSWORD, "adam@example.org")

    instance = dg.DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name=tell_admins_of_failed_runs.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    tell_admins_of_failed_runs(context)
    tell_admins_of_failed_runs(context)  # the daemon may see a run twice after a restart

    with db.connect() as con:
        [failure] = event_details(con, "run-failed")
        [message] = recent_messages(con, "run-failed")
    assert failure["run_id"] == result.run_id and failure["job"] == "failing_job"
    assert "the warehouse is locked by another process" in failure["error"]
    assert "second line" not in failure["error"]
    assert message.recipient == "adam@example.org" and message.sent_at is None

    # What `o211 run` prints when it finishes: the queued message goes out (as .eml here).
    assert send_portal_mail(paths) == "portal mail: 1 sent, 0 waiting"
    [eml] = (paths.root / "portal" / "outbox-mail").glob("*.eml")
    assert result.run_id in eml.read_text(encoding="utf-8")
    assert send_portal_mail(paths) == "portal mail: 0 sent, 0 waiting"
