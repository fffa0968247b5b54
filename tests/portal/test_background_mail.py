"""The running portal sends mail by itself: its lifespan task notices new report versions and
drains the outbox every `mail_interval_seconds`, and a sending wakes it at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import uvicorn

from o211.paths import DataPaths
from portal.accounts import APPROVER, LIAISON, add_user
from portal.app import create_app
from portal.settings import PortalSettings
from tests.portal.conftest import PASSWORD, Client, Clock, csrf_of, free_port, login
from tests.portal.published import FISCAL_YEAR, publish
from tests.portal.smtp_server import smtp_server

Q2 = f"/reports/{FISCAL_YEAR}/Q2"


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the portal's mail task did not act in time"
        time.sleep(0.05)


def test_the_lifespan_task_notices_versions_and_sends_deliveries_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = DataPaths(tmp_path / "data").ensure()
    publish(paths)
    # A long interval: the delivery below can only arrive this fast if sending wakes the task.
    settings = PortalSettings(clock=Clock(), mail_interval_seconds=3600)
    app = create_app(paths, settings=settings)
    db = app.state.portal.db
    add_user(db, settings, "ana", APPROVER, PASSWORD, "ana@example.org")
    add_user(db, settings, "lise", LIAISON, PASSWORD, "lise@example.org")
    with smtp_server() as mail:
        for name, value in mail.environ().items():
            monkeypatch.setenv(name, value)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: server.started)
            # The first pass runs at start-up: the approver hears of v1 without any request.
            wait_for(lambda: any(r.rcpt_tos == ["ana@example.org"] for r in mail.received))
            client = Client(f"http://127.0.0.1:{port}")
            assert login(client, "ana", PASSWORD).status_code == 303
            token = csrf_of(client, f"{Q2}/v1")
            decided = client.post(
                f"{Q2}/v1/decide", data={"csrf_token": token, "decision": "approved"}
            )
            assert decided.status_code == 303
            assert client.post(f"{Q2}/v1/send", data={"csrf_token": token}).status_code == 303
            wait_for(lambda: any(r.rcpt_tos == ["lise@example.org"] for r in mail.received), 10)
        finally:
            server.should_exit = True
            thread.join(timeout=20)
        assert not thread.is_alive(), "the lifespan task kept the server from stopping"
        assert len(mail.received) == 2
