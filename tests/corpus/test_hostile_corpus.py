"""Every hostile corpus file through `ingest_inbox`: never a crash, nothing lost, a specific word.

Each test copies a small data directory that already holds one good load of every kind, drops one
corpus file into its inbox, runs ingest and checks (issue 7 item 3, extracts.md, operations.md):
- no exception escapes `ingest_inbox`;
- a rejected file sits in `rejected/<kind>/` beside its `.errors.csv` and `.errors.txt`, the
  warehouse is unchanged, and the errors name the rows and columns (or the cause) expected;
- an accepted file sits in `archive/<kind>/` and added exactly its rows;
- nothing is deleted: the inbox file's bytes are kept, every earlier kept file is still there.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from o211.kinds import KINDS
from o211.paths import DataPaths
from tests.corpus.hostile_files import HostileFile, Outcome, good_csv, hostile_files, write_hostile

pipeline = pytest.importorskip("ingest.pipeline")

PII_KEY = b"hostile-corpus-test-key-not-secret"
CORPUS = hostile_files()


def _test_id(spec: HostileFile) -> str:
    readable = re.sub(r"[^0-9A-Za-z_.%-]+", "_", spec.name)
    return readable if len(readable) <= 60 else readable[:40] + f"...({len(spec.name)} chars)"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _kept_files(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under archive/ and rejected/."""
    kept = {}
    for folder in ("archive", "rejected"):
        for path in (root / folder).rglob("*"):
            if path.is_file():
                kept[str(path.relative_to(root))] = _digest(path.read_bytes())
    return kept


def _warehouse_state(paths: DataPaths) -> dict[str, object]:
    """Row counts of every raw table, and the load log's file names."""
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        ]
        state: dict[str, object] = {
            table: con.execute(f'select count(*) from raw."{table}"').fetchone()[0]
            for table in tables
        }
        state["load_log_files"] = sorted(
            name for (name,) in con.execute("select file_name from raw.load_log").fetchall()
        )
    return state


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with one accepted file of every kind (the warehouse that must not move)."""
    root = tmp_path_factory.mktemp("hostile-baseline") / "data"
    paths = DataPaths(root).ensure()
    for kind in KINDS:
        (paths.inbox(kind) / f"{kind}_0000_baseline.csv").write_text(
            good_csv(kind, count=2, first=900), encoding="utf-8"
        )
    results = pipeline.ingest_inbox(paths, pii_key=PII_KEY)
    refused = [(r.file_name, r.reason) for r in results if r.status != "accepted"]
    assert not refused, f"the baseline files must load: {refused}"
    return root


def _errors_files(folder: Path, rejected_path: Path | None) -> tuple[Path, Path]:
    if rejected_path is not None:
        return Path(f"{rejected_path}.errors.csv"), Path(f"{rejected_path}.errors.txt")
    csvs, txts = sorted(folder.glob("*.errors.csv")), sorted(folder.glob("*.errors.txt"))
    assert len(csvs) == 1 and len(txts) == 1, f"expected one errors pair in {folder}: {csvs} {txts}"
    return csvs[0], txts[0]


def _check_rejection(spec: HostileFile, paths: DataPaths, result: object) -> None:
    folder = paths.rejected(spec.kind)
    errors_csv, errors_txt = _errors_files(folder, getattr(result, "rejected_path", None))
    assert errors_csv.is_file(), f"no {errors_csv.name} beside the rejected file"
    assert errors_txt.is_file(), f"no {errors_txt.name} beside the rejected file"
    # The summary quotes the file name; a name like `finance_entity_bomb` must not pass for a
    # message that explains the cause.
    summary = errors_txt.read_text(encoding="utf-8").replace(spec.name, "<file>")
    with errors_csv.open(encoding="utf-8-sig", newline="") as handle:
        problems = list(csv.DictReader(handle))
    assert problems, f"{errors_csv.name} lists no problem"
    assert {"row", "column", "value", "problem"} <= set(problems[0]), problems[0].keys()
    named_rows = {p["row"] for p in problems}
    for row in spec.problem_rows:
        assert str(row) in named_rows, (
            f"{spec.name} ({spec.hostile}): errors.csv should name row {row}; it names "
            f"{sorted(named_rows)}: {problems[:5]}"
        )
    named_columns = {p["column"].strip().lower() for p in problems}
    for column in spec.problem_columns:
        assert column in named_columns, (
            f"{spec.name} ({spec.hostile}): errors.csv should name column {column!r}; it names "
            f"{sorted(named_columns)}: {problems[:5]}"
        )
    if spec.message is not None:
        assert re.search(spec.message, summary, re.IGNORECASE), (
            f"{spec.name} ({spec.hostile}): errors.txt does not say /{spec.message}/:\n{summary}"
        )


@pytest.mark.parametrize("spec", CORPUS, ids=[_test_id(spec) for spec in CORPUS])
def test_hostile_file(spec: HostileFile, baseline: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(baseline, root)
    paths = DataPaths(root)
    try:
        path = write_hostile(spec, paths.inbox(spec.kind))
    except OSError as error:  # a file system that refuses the name (e.g. a newline in it)
        pytest.skip(f"this file system refuses the name {spec.name!r}: {error}")
    original = _digest(path.read_bytes())
    kept_before = _kept_files(root)
    state_before = _warehouse_state(paths)

    try:
        results = pipeline.ingest_inbox(paths, kinds=[spec.kind], pii_key=PII_KEY)
    except Exception as error:  # the point of the test: report the crash, file and cause
        pytest.fail(f"ingest_inbox crashed on {spec.name!r} ({spec.hostile}): {error!r}")

    mine = [r for r in results if r.kind == spec.kind]
    if spec.outcome is Outcome.WAITS:
        # Hidden and temporary files stay in the inbox and are reported as skipped.
        assert [r.status for r in mine] == ["skipped"], f"{spec.name!r} should wait; got {mine}"
        assert _digest(path.read_bytes()) == original, "a waiting file was changed"
        assert _kept_files(root) == kept_before
        assert _warehouse_state(paths) == state_before
        return
    assert len(mine) == 1, f"expected one result for {spec.name!r}, got {mine}"
    result = mine[0]
    assert result.file_name == spec.name

    # Nothing deleted: every file kept before is unchanged, the original's bytes are kept once.
    kept_after = _kept_files(root)
    for relative, digest in kept_before.items():
        assert kept_after.get(relative) == digest, f"{relative} was changed or deleted"
    assert not path.exists(), "the file was left in the inbox"
    assert list(kept_after.values()).count(original) == 1, (
        f"the original bytes of {spec.name!r} are not kept exactly once under archive/ or rejected/"
    )
    state_after = _warehouse_state(paths)

    rejected = result.status == "rejected"
    if spec.outcome is Outcome.REJECTED:
        assert rejected, (
            f"{spec.name} ({spec.hostile}) should be rejected; it was {result.status} "
            f"({result.rows} rows)"
        )
    elif spec.outcome is Outcome.ACCEPTED:
        assert result.status == "accepted", (
            f"{spec.name} ({spec.hostile}) should load; it was {result.status}: {result.reason}"
        )
    else:
        assert result.status in ("accepted", "rejected"), result.status

    if rejected:
        assert result.rejected_path is not None
        assert result.rejected_path.parent == paths.rejected(spec.kind)
        assert state_after == state_before, "a rejected file changed the warehouse"
        _check_rejection(spec, paths, result)
    else:
        assert result.archive_path is not None
        assert result.archive_path.resolve().parent == paths.archive(spec.kind).resolve(), (
            f"archived outside archive/{spec.kind}/: {result.archive_path}"
        )
        assert result.rows == spec.rows
        assert state_after[spec.kind] == state_before[spec.kind] + spec.rows
        assert len(state_after["load_log_files"]) == len(state_before["load_log_files"]) + 1
        assert not any(paths.rejected(spec.kind).iterdir()), "an accepted file left rejection files"


def test_corpus_is_large_and_covers_every_kind() -> None:
    """Issue 7 asks for at least 40 hostile files across the seven kinds."""
    assert len(CORPUS) >= 40
    assert {spec.kind for spec in CORPUS} == set(KINDS)
    assert len({spec.name for spec in CORPUS}) == len(CORPUS), "corpus names must be unique"
    for spec in CORPUS:
        if spec.outcome in (Outcome.REJECTED, Outcome.EITHER):
            assert spec.problem_rows or spec.problem_columns or spec.message, (
                f"{spec.name}: a rejection must say what the message has to name"
            )
        if spec.outcome in (Outcome.ACCEPTED, Outcome.EITHER):
            assert spec.rows is not None, f"{spec.name}: say how many rows it loads"
