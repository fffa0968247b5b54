"""Telling people what the pipeline did, through the portal's mail outbox (portal.md,
"Notifications (email)").

A run-failure sensor queues one message to the admins per failed run (the run id and the first
line of its error); the portal or the next `o211 run` sends it. The portal never imports
Dagster: this module hands it plain values.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import dagster as dg

from o211.paths import DataPaths

log = logging.getLogger("o211.notify")


def first_error(context: dg.RunFailureSensorContext) -> str:
    """The root cause of the first failed step, else the run failure's own message.

    Dagster wraps an op's exception ("Error occurred while executing op ..."); the admin needs
    the exception underneath, so the chain of causes is followed to its end.
    """
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None and error.message.strip():
            return str(error.message)
    return context.failure_event.message or ""


@dg.run_failure_sensor(
    name="tell_admins_of_failed_runs",
    description="Queues an email to the portal's admins for each failed run (run id and first"
    " error line); the portal's mail outbox sends it once.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
)
def tell_admins_of_failed_runs(context: dg.RunFailureSensorContext) -> None:
    from portal.notices import queue_run_failure_for

    run = context.dagster_run
    queued = queue_run_failure_for(
        DataPaths.from_env(), run.run_id, run.job_name, first_error(context), datetime.now(UTC)
    )
    context.log.info(f"run {run.run_id} failed; admins {'told' if queued else 'already told'}")


def send_portal_mail(paths: DataPaths) -> str:
    """After `o211 run`: queue what is new (report versions, finance fates) and send what is due.

    Mail trouble never fails the run: it is reported in one line and the messages stay queued.
    """
    try:
        from portal.background import notify_and_send_once

        result = notify_and_send_once(paths)
    except Exception as error:
        log.warning("portal mail not sent: %s", error)
        return f"portal mail not sent ({type(error).__name__}: {error}); it stays queued"
    if result.failed:
        return f"portal mail: {result.sent} sent, {result.waiting} waiting (server unreachable)"
    return f"portal mail: {result.sent} sent, {result.waiting} waiting"
