"""The PII key's fingerprint in the warehouse (issue 14 item 5, "Key changes").

- the fingerprint names the key without revealing it, and the warehouse never holds the key;
- a load with another key (files or the blocklist) is refused in one line, before anything is
  written, moved or rejected, in `ingest_inbox`, in a Dagster asset run and on the command line;
- a warehouse loaded before fingerprints were kept records the current key and says so;
- `o211 rebuild` with a new key re-hashes everything from `archive/`: the same counts and the
  same report figures, after which the new key loads and the old one is refused.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from ingest import contracts
from ingest.pii_key import ADOPTED, FIRST_LOAD, REBUILD, fingerprint
from ingest.pipeline import (
    ACCEPTED,
    PiiKeyMismatch,
    RebuildError,
    ingest_inbox,
    rebuild_from_archive,
)
from ingest.warehouse import RAW_TABLES, ensure_raw_tables
from o211.paths import REPO_ROOT, DataPaths
from tests.fault.harness import (
    COMMAND_TIMEOUT,
    FISCAL_YEAR,
    PII_KEY,
    STAGES,
    Reference,
    Workspace,
    deliver,
    ledger_problems,
    load_problems,
    o211_executable,
    outbox_problems,
    stage_csv_rows,
    tree_state,
    warehouse_rows,
)
from tests.test_ingest_pipeline import GOOD, data_dir, drop

KEY = b"pii-key-test-original-key"
NEW_KEY = b"pii-key-test-rotated-key"
# Every column that holds a hashed identity.
HASHED = {
    "calls": "caller_hash",
    "chats": "visitor_hash",
    "emails": "sender_hash",
    "texts": "sender_hash",
    "blocklist": "number_hash",
}
BLOCKLIST = "number\n416-555-0100\n(647) 555-0199\n"


def recorded(paths: DataPaths) -> list[tuple[str, str]]:
    return warehouse_rows(paths, "select fingerprint, recorded_by from raw.pii_key")


def raw_state(paths: DataPaths) -> dict[str, list[tuple]]:
    """Every raw table's rows (the load log and the blocklist included)."""
    tables = [*RAW_TABLES, "load_log", "blocklist", "pii_key"]
    return {t: sorted(warehouse_rows(paths, f"select * from raw.{t}"), key=repr) for t in tables}


def hashes(paths: DataPaths) -> dict[str, list[str | None]]:
    """Each hashed column in load order (nulls kept, so their places count too)."""
    return {
        table: [
            value
            for (value,) in warehouse_rows(
                paths,
                f"select {column} from raw.{table} order by all"
                if table == "blocklist"
                else f"select {column} from raw.{table} order by _load_id, _source_row",
            )
        ]
        for table, column in HASHED.items()
    }


def loaded_everything(tmp_path: Path) -> DataPaths:
    """One good file of every kind and a blocklist, loaded with KEY."""
    paths = data_dir(tmp_path)
    for kind, (name, content) in GOOD.items():
        drop(paths, kind, name, content)
    paths.blocklist.write_text(BLOCKLIST, encoding="utf-8")
    assert {r.status for r in ingest_inbox(paths, pii_key=KEY)} == {ACCEPTED}
    return paths


# --- the fingerprint ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        b"correct horse battery staple",
        b"a-fingerprint-test-key",
        # The shape of a generated key (fixed here: xdist workers must collect the same ids).
        b"9f1c2e7a5b3d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f506",
    ],
)
def test_the_fingerprint_names_the_key_and_reveals_nothing_of_it(key: bytes) -> None:
    found = fingerprint(key)
    assert found == fingerprint(key) and len(found) == 64
    assert set(found) <= set("0123456789abcdef")
    text = key.decode("ascii")
    assert found != text and text not in found and key.hex() not in found
    assert found != fingerprint(key + b"x") and found != fingerprint(b"other " + key)


def test_the_first_load_records_the_fingerprint_never_the_key(tmp_path: Path) -> None:
    paths = loaded_everything(tmp_path)
    assert recorded(paths) == [(fingerprint(KEY), FIRST_LOAD)]
    assert KEY not in paths.warehouse.read_bytes()
    assert KEY.hex().encode() not in paths.warehouse.read_bytes()


def test_an_empty_warehouse_takes_the_key_of_its_first_load_silently(tmp_path: Path) -> None:
    """A build before any load creates the raw tables: that warehouse still holds no hash."""
    paths = data_dir(tmp_path)
    with duckdb.connect(str(paths.warehouse)) as con:
        ensure_raw_tables(con)
    told: list[str] = []
    assert ingest_inbox(paths, pii_key=KEY, notice=told.append) == []
    assert recorded(paths) == [(fingerprint(KEY), FIRST_LOAD)] and told == []


# --- refusal --------------------------------------------------------------------------------------


def test_a_load_with_another_key_is_refused_before_anything_moves(tmp_path: Path) -> None:
    paths = loaded_everything(tmp_path)
    drop(paths, "calls", "calls_2.csv", GOOD["calls"][1].replace("Service", "Test Call"))
    drop(paths, "texts", "texts_2.csv", GOOD["texts"][1].replace("t1,", "t2,"))
    paths.blocklist.write_text(BLOCKLIST + "905-555-0123\n", encoding="utf-8")
    files_before = tree_state(paths)
    warehouse_before = raw_state(paths)

    with pytest.raises(PiiKeyMismatch) as refused:
        ingest_inbox(paths, pii_key=b"another key")

    message = str(refused.value)
    assert message.startswith("the PII key differs from the one this warehouse was loaded with")
    assert fingerprint(KEY)[:12] in message and fingerprint(b"another key")[:12] in message
    assert "o211 rebuild" in message and "\n" not in message and len(message) <= 400
    assert "another key" not in message and KEY.decode() not in message
    assert tree_state(paths) == files_before  # nothing archived, nothing rejected
    assert raw_state(paths) == warehouse_before  # no row, no blocklist change

    results = ingest_inbox(paths, pii_key=KEY)
    assert [(r.kind, r.status) for r in results] == [
        ("blocklist", ACCEPTED),
        ("calls", ACCEPTED),
        ("texts", ACCEPTED),
    ]


def test_a_blocklist_refresh_alone_is_refused_too(tmp_path: Path) -> None:
    paths = loaded_everything(tmp_path)
    paths.blocklist.write_text("number\n905-555-0123\n", encoding="utf-8")
    before = raw_state(paths)
    with pytest.raises(PiiKeyMismatch):
        ingest_inbox(paths, kinds=["calls"], pii_key=b"another key")
    assert raw_state(paths) == before


def test_a_warehouse_loaded_before_fingerprints_records_the_current_key_and_says_so(
    tmp_path: Path,
) -> None:
    paths = loaded_everything(tmp_path)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("drop table raw.pii_key")  # as every warehouse made before this change
    told: list[str] = []
    drop(paths, "calls", "calls_2.csv", GOOD["calls"][1].replace("Service", "Test Call"))
    results = ingest_inbox(paths, pii_key=KEY, notice=told.append)
    assert {r.status for r in results} == {ACCEPTED}
    assert recorded(paths) == [(fingerprint(KEY), ADOPTED)]
    assert len(told) == 1 and fingerprint(KEY)[:12] in told[0] and "o211 rebuild" in told[0]
    with pytest.raises(PiiKeyMismatch):
        ingest_inbox(paths, pii_key=NEW_KEY)


# --- rotation -------------------------------------------------------------------------------------


def test_a_rebuild_with_a_new_key_rehashes_every_identity_and_keeps_the_counts(
    tmp_path: Path,
) -> None:
    paths = loaded_everything(tmp_path)
    before = hashes(paths)
    load_log = warehouse_rows(paths, "select * from raw.load_log order by load_id")

    results = rebuild_from_archive(paths, pii_key=NEW_KEY)

    assert {r.status for r in results} == {ACCEPTED}
    assert recorded(paths) == [(fingerprint(NEW_KEY), REBUILD)]
    assert warehouse_rows(paths, "select * from raw.load_log order by load_id") == load_log
    after = hashes(paths)
    for table, old in before.items():
        new = after[table]
        assert len(new) == len(old) and any(new), table
        # Same nulls in the same places, as many distinct identities, none left under the old key.
        assert [v is None for v in new] == [v is None for v in old], table
        assert len(set(new)) == len(set(old)), table
        assert not (set(new) - {None}) & (set(old) - {None}), table
    # Calls and the blocklist agree under the new key: one number, one hash.
    blocked = set(after["blocklist"])
    assert blocked & set(after["calls"]) and blocked & set(after["texts"])
    assert NEW_KEY not in paths.warehouse.read_bytes()

    drop(paths, "calls", "calls_2.csv", GOOD["calls"][1].replace("Service", "Test Call"))
    with pytest.raises(PiiKeyMismatch):
        ingest_inbox(paths, pii_key=KEY)
    assert [r.status for r in ingest_inbox(paths, pii_key=NEW_KEY) if r.kind == "calls"] == [
        ACCEPTED
    ]


def test_a_failed_rebuild_keeps_the_old_key_with_the_old_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = loaded_everything(tmp_path)
    before = raw_state(paths)
    # The funding-source seed lost a value since the finance file was accepted.
    monkeypatch.setattr(contracts, "load_funding_sources", lambda: ("Other",))
    with pytest.raises(RebuildError):
        rebuild_from_archive(paths, pii_key=NEW_KEY)
    assert raw_state(paths) == before
    assert recorded(paths) == [(fingerprint(KEY), FIRST_LOAD)]


# --- Dagster and the command line -----------------------------------------------------------------


@pytest.mark.slow  # loads the Dagster definitions
@pytest.mark.usefixtures("dbt_manifest")
def test_an_ingest_asset_run_fails_with_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from orchestration.assets.ingest import build_ingest_asset
    from orchestration.resources import Warehouse

    paths = loaded_everything(tmp_path)
    drop(paths, "calls", "calls_2.csv", GOOD["calls"][1].replace("Service", "Test Call"))
    files_before = tree_state(paths)
    monkeypatch.setenv("O211_PII_KEY", "another key")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [build_ingest_asset("calls")],
            instance=instance,
            resources={"warehouse": Warehouse(data_dir=str(paths.root))},
            raise_on_error=False,
        )
        assert not result.success
        (failure,) = result.get_step_failure_events()
        error = failure.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause  # what the run-failure sensor mails the admins
        assert error is not None and "the PII key differs" in error.message
        logged = [
            event.message
            for event in instance.all_logs(result.run_id)
            if event.message and event.message.startswith("NOTHING LOADED: the PII key differs")
        ]
        assert logged, "the run log does not say why nothing was loaded"
    assert tree_state(paths) == files_before


def o211(workspace: Workspace, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(o211_executable()), *args],
        env=workspace.env({"O211_PII_KEY": key}),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@pytest.mark.slow  # real `o211` processes (rebuild, a refused ingest, run)
@pytest.mark.independent
def test_rotating_the_key_with_o211_rebuild_keeps_every_figure(
    fault_reference: Reference, tmp_path: Path
) -> None:
    """Loaded with the old key up to finance; `o211 rebuild` with a new key; the old key is
    then refused in one line with nothing moved; `o211 run` with the new key loads finance and
    writes reports whose figures are those of the run that used one key throughout."""
    workspace = Workspace.from_data(tmp_path, fault_reference.snapshots["before_finance"])
    paths = workspace.paths
    new_key = "a rotated key for the pii key test"
    hashes_before = hashes(paths)

    rebuilt = o211(workspace, new_key, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert recorded(paths) == [(fingerprint(new_key.encode()), REBUILD)]
    hashes_after = hashes(paths)
    for table, old in hashes_before.items():
        assert len(hashes_after[table]) == len(old), table
        assert not (set(hashes_after[table]) - {None}) & (set(old) - {None}), table

    deliver(paths, ["finance"], fault_reference.shelf)
    files_before = tree_state(paths)
    load_log_before = warehouse_rows(paths, "select * from raw.load_log order by load_id")
    refused = o211(workspace, PII_KEY, "ingest")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("o211: the PII key differs from the one this warehouse was")
    assert "o211 rebuild" in lines[0] and "Traceback" not in refused.stdout + refused.stderr
    assert tree_state(paths) == files_before
    assert warehouse_rows(paths, "select * from raw.load_log order by load_id") == load_log_before

    ran = o211(workspace, new_key, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert stage_csv_rows(paths, FISCAL_YEAR) == fault_reference.csv_rows
    assert ledger_problems(paths, fault_reference.sample) == []
    assert load_problems(paths, fault_reference.sample) == []
    assert outbox_problems(paths, FISCAL_YEAR) == []


@pytest.mark.slow  # real `o211` processes (rebuild, three reports)
@pytest.mark.independent
def test_after_a_rotation_the_written_reports_stay_unchanged(
    fault_reference: Reference, tmp_path: Path
) -> None:
    """Every report written with the old key: after `o211 rebuild` with a new key, each answers
    "unchanged" (same figures, same inputs), so no new version goes to the ministry."""
    workspace = Workspace.from_data(tmp_path, fault_reference.snapshots["reported"])
    paths = workspace.paths
    outbox_before = tree_state(paths, ["outbox"])
    new_key = "another rotated key for the pii key test"

    rebuilt = o211(workspace, new_key, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert recorded(paths) == [(fingerprint(new_key.encode()), REBUILD)]
    for stage in STAGES:
        printed = o211(workspace, new_key, "report", "--fiscal-year", FISCAL_YEAR, "--stage", stage)
        assert printed.returncode == 0 and "unchanged" in printed.stdout, printed.stdout
    assert tree_state(paths, ["outbox"]) == outbox_before
    assert stage_csv_rows(paths, FISCAL_YEAR) == fault_reference.csv_rows
