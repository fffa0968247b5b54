"""The portal never opens the DuckDB warehouse (portal.md, "Running it"): its pages answer, and a
finance upload is checked and placed, while another process holds the warehouse's write lock
(as `o211 build` does for minutes)."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from portal.accounts import FINANCE, ROLES
from portal.web import api_routes, roles_of
from tests.corpus.hostile_files import good_csv
from tests.portal.test_portal_finance import upload

HOLD_SCRIPT = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists held (x int)")
print("holding", flush=True)
time.sleep(120)
"""


@pytest.fixture
def held_warehouse(portal_env):
    path = portal_env.paths.warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        # The lock is real: another process cannot open the file, not even read-only.
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(path), read_only=True)
        yield path
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_pages_and_uploads_answer_while_another_process_holds_the_warehouse(
    portal_env, as_role, held_warehouse
):
    finance = as_role(FINANCE)
    started = time.monotonic()
    assert finance.get("/finance").status_code == 200
    assert finance.get("/finance/template").status_code == 200
    assert upload(finance, "ledger.csv", good_csv("finance").encode()).status_code == 200
    # Every page without parameters, for every role allowed on it (part 2's pages included).
    clients = {role: as_role(role) for role in ROLES}
    answered = 0
    for route in api_routes(portal_env.app.routes):
        roles = roles_of(route.dependant.dependencies)
        if "GET" not in (route.methods or ()) or roles is None or "{" in route.path:
            continue
        for role in roles:
            response = clients[role].get(route.path)
            assert response.status_code in (200, 303), (role, route.path, response.status_code)
            answered += 1
    assert answered >= 10
    # No page waited for the lock (the warehouse helper retries for 30 s before failing).
    assert time.monotonic() - started < 20
