"""LibreOffice opens the workbook and reads the same figures as the CSV (report.md: the
workbook must open without repair prompts in LibreOffice)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from exports.report import write_report
from o211.paths import DataPaths
from tests.exports.conftest import FISCAL_YEAR, MartSpec

# Filter options of the LibreOffice CSV export: comma, double quote, UTF-8, from line 1, no
# special column formats, language default, quote text, detect numbers, values not as shown
# (raw numbers), formulas as results, no leading space handling, every sheet (-1: LO 7.2+).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,false,false,false,-1"


def soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        pytest.skip("LibreOffice (soffice) is not installed: run scripts/system-deps.sh")
    return found


def convert(workbook: Path, target: str, out: Path, profile: Path) -> None:
    # A private profile, so parallel test runs and a desktop LibreOffice do not collide.
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def read_sheet(folder: Path, stem: str, sheet: str) -> list[list[str]]:
    path = folder / f"{stem}-{sheet}.csv"
    assert path.exists(), f"LibreOffice wrote no {sheet} sheet: {sorted(folder.iterdir())}"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


HOSTILE = MartSpec(unmapped_disposition='=HYPERLINK("http://x")', excluded_hostname="@SUM(1+1)")


@pytest.mark.parametrize("mart_spec", [HOSTILE])
def test_libreoffice_reads_the_csv_figures(data_paths: DataPaths, tmp_path: Path) -> None:
    result = write_report(
        data_paths, FISCAL_YEAR, "Q2", now=datetime(2025, 10, 5, 14, 30, tzinfo=UTC)
    )
    out = tmp_path / "lo"
    convert(result.xlsx_path, CSV_FILTER, out, tmp_path / "profile")
    stem = result.xlsx_path.stem

    with result.csv_path.open(encoding="utf-8", newline="") as handle:
        expected = {row["element"]: row for row in csv.DictReader(handle)}
    service = read_sheet(out, stem, "Service Data")
    assert service[0][:3] == ["Service Data Name", "Definition", "Year-to-date"]
    seen = {row[0]: row for row in service[1:]}
    assert list(seen) == list(expected)
    for element, row in expected.items():
        assert Decimal(seen[element][2]) == Decimal(row["value"]), element

    exclusions = read_sheet(out, stem, "Exclusions")
    for row in exclusions[1:]:
        assert row[-2:] == ["0", "TRUE"], row

    notes = {cell for row in read_sheet(out, stem, "Notes") for cell in row}
    assert HOSTILE.unmapped_disposition in notes and "@SUM(1+1)" in notes
    assert "#VALUE!" not in notes and "Err:" not in " ".join(notes)


def test_every_sheet_prints(data_paths: DataPaths, tmp_path: Path) -> None:
    result = write_report(data_paths, FISCAL_YEAR, "final")
    out = tmp_path / "pdf"
    convert(result.xlsx_path, "pdf", out, tmp_path / "profile")
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed: run scripts/system-deps.sh")
    info = subprocess.run(
        [pdfinfo, str(out / f"{result.xlsx_path.stem}.pdf")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pages = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    # Six sheets, each fit to one page width; a sheet cut into columns would add pages.
    assert 6 <= pages <= 9, f"{pages} pages"
