"""The blank finance template finance staff fill in (extracts.md, "finance")."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from exports.template import HEADERS, seed_funding_sources, write_finance_template


def test_seed_funding_sources_reads_the_seed() -> None:
    sources = seed_funding_sources()
    assert "MCCSS" in sources and "United Way" in sources
    # The comma inside this name is why the drop-down reads its list from cells.
    assert "Ministry of Children, Community and Social Services" in sources
    assert len(sources) == len(set(sources))


def test_seed_without_the_column_is_refused(tmp_path: Path) -> None:
    seed = tmp_path / "funding_sources.csv"
    seed.write_text("source,ministry_funded\nMCCSS,true\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no funding_source column"):
        seed_funding_sources(seed)


def test_template_sheets_header_formats_and_drop_down(tmp_path: Path) -> None:
    sources = ["MCCSS", "Ministry of Children, Community and Social Services", "=Other"]
    path = write_finance_template(tmp_path / "finance_template.xlsx", sources)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Expenditures"
    assert {"Funding sources", "Instructions"} <= set(wb.sheetnames)
    ws = wb["Expenditures"]
    assert tuple(c.value for c in ws[1]) == HEADERS
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2" and ws.print_title_rows
    assert ws["A2"].number_format == "@", "period kept as typed text (YYYY-MM)"
    assert ws["E2"].number_format.startswith("#,##0.00")

    (validation,) = ws.data_validations.dataValidation
    assert validation.type == "list" and validation.showErrorMessage
    assert "D2" in validation.sqref and "D500" in validation.sqref
    assert validation.formula1 == "'Funding sources'!$A$2:$A$4"
    listed = [c.value for c in wb["Funding sources"]["A"][1:]]
    assert listed == sources
    assert wb["Funding sources"]["A4"].data_type == "s", "a name is never a formula"

    instructions = " ".join(str(c.value) for row in wb["Instructions"].iter_rows() for c in row)
    assert "YYYY-MM" in instructions and "AAAA-MM" in instructions
    assert "Français" in instructions and "liste déroulante" in instructions


def test_template_with_the_seed_and_no_sources(tmp_path: Path) -> None:
    path = write_finance_template(tmp_path / "t.xlsx", seed_funding_sources())
    listed = [c.value for c in openpyxl.load_workbook(path)["Funding sources"]["A"][1:]]
    assert listed == seed_funding_sources()
    with pytest.raises(ValueError, match="no funding sources"):
        write_finance_template(tmp_path / "empty.xlsx", [])
