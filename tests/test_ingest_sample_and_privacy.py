"""The synthetic extracts meet the contracts, and no identity reaches the warehouse in clear."""

from __future__ import annotations

import csv
import shutil
from itertools import groupby
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.extracts import EXTRACTS, IDENTITY_TYPES
from ingest.identity import normalise_phones
from ingest.pipeline import ACCEPTED, check_file, ingest_inbox
from ingest.sample import write_sample
from o211.paths import DataPaths

KEY = b"privacy-test-key"
# Formatted phone numbers and email addresses; a hash is bare hex and matches neither.
PHONE_PATTERN = r"\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, fiscal_year="2025-26", scale=0.02, seed=7)
    return out


FILES_PER_KIND = 4


def extract_files(root: Path) -> list[tuple[str, Path]]:
    return [
        (folder.name, path)
        for folder in sorted((root / "inbox").iterdir())
        for path in sorted(folder.iterdir())
        if path.is_file()
    ]


def loaded_files(root: Path) -> list[tuple[str, Path]]:
    """The first FILES_PER_KIND files of each kind, in name order."""
    return [
        item
        for _, files in groupby(extract_files(root), key=lambda item: item[0])
        for item in list(files)[:FILES_PER_KIND]
    ]


def test_every_sample_file_meets_its_extract_contract(sample_dir):
    files = extract_files(sample_dir)
    assert {kind for kind, _ in files} == set(EXTRACTS)
    for kind, path in files:
        result = check_file(path, kind)
        assert result.ok, (path.name, result.problems[:5])
        assert result.rows > 0


def clear_identities(root: Path) -> set[str]:
    """Every identity value in the sample's files, as written and as normalised."""
    found: set[str] = set()
    for kind, path in loaded_files(root):
        fields = [f.name for f in EXTRACTS[kind].fields if f.type in IDENTITY_TYPES]
        if not fields or path.suffix != ".csv":
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                found.update(row[name].strip() for name in fields if row.get(name, "").strip())
    digits = normalise_phones(pd.Series(sorted(found), dtype="str")).dropna()
    return {value for value in found | set(digits) if len(value) >= 7}


def test_no_phone_number_or_email_address_in_any_text_column(sample_dir, tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    # A few weeks of every kind keep the test quick; every identity column is still there.
    for kind, path in loaded_files(sample_dir):
        shutil.copy(path, paths.inbox(kind) / path.name)
    results = ingest_inbox(paths, pii_key=KEY)
    assert results and all(r.status == ACCEPTED for r in results), [
        (r.file_name, r.reason) for r in results if r.status != ACCEPTED
    ]
    secrets = sorted(clear_identities(sample_dir))
    assert len(secrets) > 20  # the sample does hold identities to hide
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        con.execute("create temp table secrets as select unnest(?) as secret", [secrets])
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where data_type = 'VARCHAR' and not internal and database_name = current_database()"
        ).fetchall()
        assert len(columns) > 20
        for schema, table, column in columns:
            where = f'"{schema}"."{table}"."{column}"'
            leaks = con.execute(
                f'select count(*) from "{schema}"."{table}" where regexp_matches({where}, ?) '
                f"or regexp_matches({where}, ?)",
                [PHONE_PATTERN, EMAIL_PATTERN],
            ).fetchone()[0]
            assert leaks == 0, where
            exact = con.execute(
                f'select count(*) from "{schema}"."{table}" join secrets '
                f"on contains({where}, secret)"
            ).fetchone()[0]
            assert exact == 0, where
