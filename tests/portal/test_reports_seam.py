"""portal/reports.py reads what exports published: versions from the manifest, and the figures,
exclusions, notes and changes read back from the workbook, equal to what was written."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from o211.paths import DataPaths
from portal.reports import (
    ReportFileRefused,
    current_versions,
    fiscal_years,
    verified_bytes,
    version_view,
    versions,
)
from tests.exports.conftest import MartSpec
from tests.portal.published import FISCAL_YEAR, publish, restated


@pytest.fixture
def paths(tmp_path: Path) -> DataPaths:
    return DataPaths(tmp_path / "data").ensure()


def test_versions_and_figures_match_the_published_files(paths: DataPaths) -> None:
    written = publish(paths)
    publish(paths, stage="final")
    assert fiscal_years(paths.outbox) == [FISCAL_YEAR]
    listed = versions(paths.outbox, FISCAL_YEAR)
    assert [(v.stage, v.version) for v in listed] == [("Q2", 1), ("final", 1)]
    q2 = listed[0]
    assert q2.xlsx.name == written.xlsx_path.name and q2.sources_count == 7
    view = version_view(paths.outbox, q2)
    rows = list(csv.DictReader(io.StringIO(written.csv_path.read_text(encoding="utf-8"))))
    assert [e.element for e in view.elements] == [r["element"] for r in rows]
    for element, row in zip(view.elements, rows, strict=True):
        assert element.year_to_date == Decimal(row["value"]), element.element
        assert element.year_to_date == written.figures[element.element]
    spec = MartSpec()
    calls = view.elements[0]
    # Quarters as the fake marts define them: three months each, Q3 and Q4 not reached.
    assert calls.quarters == (spec.monthly[1] * 3, spec.monthly[1] * 3, None, None)
    assert calls.unit == "count"
    assert [e.unit for e in view.elements][5:7] == ["percent", "percent"]
    assert view.elements[-1].unit == "currency"
    assert view.elements[5].basis == "774 of 876 surveyed"
    audit = {x.channel: x for x in view.exclusions}
    assert audit["calls"].outcomes["Spam"] == 300 * 6 and audit["calls"].balance_holds
    assert audit["chats"].outcomes["Static"] is None
    assert {w.subject for w in view.warnings} >= {"Voicemail", "staging.211ontario.ca"}
    assert any(n.section == "Methodology" for n in view.methodology)
    assert view.changes == [] and view.input_changes == []


def test_a_second_version_carries_its_changes(paths: DataPaths) -> None:
    publish(paths)
    publish(paths, restated("100.00"), version_hour=1)
    listed = versions(paths.outbox, FISCAL_YEAR)
    newest = current_versions(listed)[(FISCAL_YEAR, "Q2")]
    assert newest.version == 2
    view = version_view(paths.outbox, newest)
    moved = [c for c in view.changes if c.why != "unchanged"]
    expenditures = "Info and referral service: Ministry-funded Agency Expenditures"
    # Six months at $100 more each.
    assert [(c.element, c.difference, c.unit) for c in moved] == [
        (expenditures, Decimal("600"), "currency")
    ]
    [added] = view.input_changes
    assert (added.name, added.change, added.kind) == (
        "finance_2025-26_restated.xlsx",
        "file added",
        "finance",
    )


def test_files_are_served_only_with_the_manifests_hash(paths: DataPaths) -> None:
    written = publish(paths)
    [q2] = versions(paths.outbox, FISCAL_YEAR)
    assert verified_bytes(paths.outbox, q2, "xlsx") == written.xlsx_path.read_bytes()
    written.xlsx_path.write_bytes(written.xlsx_path.read_bytes() + b"\0")
    with pytest.raises(ReportFileRefused, match="differs from the version"):
        verified_bytes(paths.outbox, q2, "xlsx")
    with pytest.raises(ReportFileRefused):
        version_view(paths.outbox, q2)
    written.csv_path.unlink()
    with pytest.raises(ReportFileRefused, match="cannot be read"):
        verified_bytes(paths.outbox, q2, "csv")


def test_only_fiscal_year_folders_are_read(paths: DataPaths) -> None:
    publish(paths)
    assert versions(paths.outbox, "../2025-26") == []
    assert versions(paths.outbox, "2024-25") == []
