"""Portal fixtures: the real app served by uvicorn on 127.0.0.1 over a temporary data
directory, a clock the tests move, and logged-in HTTP clients.

(Starlette's TestClient needs httpx, which the project does not install; a real server and
`requests` also exercise exactly what a browser gets.)
"""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from fastapi import FastAPI

from o211.paths import DataPaths
from portal.accounts import ROLES, add_user
from portal.app import create_app
from portal.db import database_file, open_database
from portal.settings import PortalSettings

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGIN_TOKEN_RE = re.compile(r'name="login_token" value="([^"]+)"')


class Clock:
    """A settable UTC clock (sessions and lock-outs are tested without sleeping)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a thread of this process (so the clock is shared)."""

    def __init__(self, app: FastAPI) -> None:
        # The socket is bound here and handed to uvicorn: no window in which a test running
        # beside this one (pytest-xdist) could take the port.
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


class Client(requests.Session):
    """A browser-like client of one server: relative paths, cookies kept, no redirects followed."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False  # get() passes True itself: a browser test says when
        kwargs.setdefault("timeout", 60)
        return super().request(method, self.base + url, *args, **kwargs)


@dataclass
class PortalEnv:
    paths: DataPaths
    clock: Clock
    settings: PortalSettings
    app: FastAPI
    server: LiveServer

    def client(self) -> Client:
        return Client(self.server.url)

    def login(self, name: str, password: str = PASSWORD) -> Client:
        client = self.client()
        response = login(client, name, password)
        assert response.status_code == 303, response.text
        return client


def login(client: Client, name: str, password: str) -> requests.Response:
    page = client.get("/login")
    token = LOGIN_TOKEN_RE.search(page.text)
    assert token, page.text
    return client.post("/login", data={"name": name, "password": password, "login_token": token[1]})


def csrf_of(client: Client, page: str = "/account") -> str:
    found = CSRF_RE.search(client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found[1]


@pytest.fixture(scope="session")
def accounts_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A portal database with one account per role, hashed once for the whole session."""
    paths = DataPaths(tmp_path_factory.mktemp("portal-accounts"))
    db = open_database(paths)
    for role in ROLES:
        add_user(db, PortalSettings(), f"{role}-user", role, PASSWORD, f"{role}@example.org")
    with sqlite3.connect(db.path) as con:
        con.execute("pragma wal_checkpoint(truncate)")
    return db.path


@pytest.fixture
def portal_env(tmp_path: Path, accounts_database: Path) -> Iterator[PortalEnv]:
    paths = DataPaths(tmp_path / "data").ensure()
    database_file(paths).parent.mkdir(parents=True)
    shutil.copyfile(accounts_database, database_file(paths))
    clock = Clock()
    settings = PortalSettings(clock=clock)
    app = create_app(paths, settings=settings)
    server = LiveServer(app)
    try:
        yield PortalEnv(paths, clock, settings, app, server)
    finally:
        server.stop()


@pytest.fixture
def as_role(portal_env: PortalEnv) -> Callable[[str], Client]:
    return lambda role: portal_env.login(f"{role}-user")
