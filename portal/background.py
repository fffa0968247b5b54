"""Noticing events and draining the mail outbox: in the portal's background, or once from the CLI.

One pass (`notify_and_send`) scans the manifests for new report versions and the finance
folders for uploads' fates, queues what is new, then sends what is due. The portal runs a pass
every `mail_interval_seconds` (and at once after a report is sent); `o211 run` runs one when it
finishes, so mail goes out even when the portal is not running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fastapi import FastAPI

from o211.paths import DataPaths
from portal.db import Database, database_file
from portal.mail import MailSettings
from portal.notices import Links, queue_new_versions, queue_upload_fates
from portal.notifications import DrainResult, drain
from portal.settings import PortalSettings

log = logging.getLogger("portal.mail")


def notify_and_send(
    db: Database,
    paths: DataPaths,
    mail: MailSettings,
    links: Links,
    now: datetime,
) -> DrainResult:
    queue_new_versions(db, paths, mail, links, now)
    queue_upload_fates(db, paths, mail, links, now)
    return drain(db, mail, paths.root, now)


def notify_and_send_once(paths: DataPaths, settings: PortalSettings | None = None) -> DrainResult:
    """The CLI's pass (after `o211 run`): opens, or creates, the portal's database first."""
    settings = settings or PortalSettings.from_env()
    db = Database(database_file(paths))
    db.migrate()
    links = Links(settings.portal_url, settings.dagster_url)
    return notify_and_send(db, paths, MailSettings.from_env(), links, settings.clock())


def mail_lifespan(
    paths: DataPaths, db: Database, settings: PortalSettings
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: a periodic pass in a worker thread, woken early by `wake_mail`."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.mail_interval_seconds <= 0:
            app.state.wake_mail = None
            yield
            return
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Routes run in worker threads: they wake the loop thread-safely.
        app.state.wake_mail = lambda: loop.call_soon_threadsafe(wake.set)
        links = Links(settings.portal_url, settings.dagster_url)

        async def run() -> None:
            while True:
                try:
                    mail = MailSettings.from_env()
                    result = await asyncio.to_thread(
                        notify_and_send, db, paths, mail, links, settings.clock()
                    )
                    if result.failed:
                        log.warning("mail not sent, kept for a later attempt (%s)", result)
                except Exception:
                    # A bad setting or a broken manifest must not stop later passes.
                    log.exception("notification pass failed; retrying later")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), settings.mail_interval_seconds)
                wake.clear()

        task = asyncio.create_task(run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
