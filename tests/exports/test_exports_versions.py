"""Versions, manifest, atomic writes and the Changes sheet (report.md, "Versions")."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

import exports.report
from exports.report import due_stages, write_report
from exports.report_data import ReportDataMissing
from exports.versions import VersionConflict, sha256_file, write_new_file
from o211.paths import DataPaths
from tests.exports.conftest import FISCAL_YEAR, MartSpec, build_marts, write


def outbox_state(paths: DataPaths) -> dict[str, bytes]:
    folder = paths.outbox / FISCAL_YEAR
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def manifest(paths: DataPaths) -> dict:
    return json.loads((paths.outbox / FISCAL_YEAR / "manifest.json").read_text(encoding="utf-8"))


def corrected_calls() -> MartSpec:
    """One new calls file that raises # of Calls by 93 a month; nothing else changes."""
    base = MartSpec()
    return MartSpec(
        monthly={**base.monthly, 1: base.monthly[1] + 93},
        source_files=[
            *base.source_files,
            ("calls", "calls_2025-09_corrected.csv", date(2025, 9, 1), date(2025, 9, 30)),
        ],
    )


def test_manifest_records_the_version(data_paths: DataPaths) -> None:
    result = write(data_paths)
    entry = manifest(data_paths)["versions"][0]
    assert (entry["stage"], entry["version"], entry["stage_kind"]) == ("Q2", 1, "interim")
    assert entry["files"]["xlsx"] == {
        "name": result.xlsx_path.name,
        "sha256": sha256_file(result.xlsx_path),
    }
    assert entry["files"]["csv"]["sha256"] == sha256_file(result.csv_path)
    assert entry["generated_at"] == "2025-10-05T10:30:00-04:00"
    assert entry["figures"]["Client Satisfaction: Phone Service"] == "88.4"
    assert entry["inputs_fingerprint"] == result.fingerprint
    assert entry["rules_fingerprint"] and len(entry["sources"]) == 7
    assert {r["name"] for r in entry["rules_config"]} >= {"autodialer_min_calls"}


def test_unchanged_inputs_write_nothing(data_paths: DataPaths) -> None:
    first = write(data_paths)
    before = outbox_state(data_paths)
    again = write_report(
        data_paths, FISCAL_YEAR, "Q2", product_version="9.9.9", now=datetime.now(UTC)
    )
    assert again.status == "unchanged" and again.version == 1
    assert again.reason == "figures and inputs unchanged since v1"
    assert again.xlsx_path == first.xlsx_path and again.figures == first.figures
    assert outbox_state(data_paths) == before


def test_changed_input_writes_v2_with_changes(data_paths: DataPaths) -> None:
    first = write(data_paths)
    v1_bytes = {p: p.read_bytes() for p in (first.xlsx_path, first.csv_path)}
    build_marts(data_paths.warehouse, corrected_calls())
    second = write(data_paths)
    assert (second.status, second.version) == ("written", 2)
    assert second.xlsx_path.name == "ON211_ServiceDataSchedule_2025-26_Q2_v2.xlsx"
    assert "# of Calls 151242 -> 151800" in second.reason
    assert "calls file calls_2025-09_corrected.csv added" in second.reason
    assert {p: p.read_bytes() for p in v1_bytes} == v1_bytes, "v1 untouched"
    assert [v["version"] for v in manifest(data_paths)["versions"]] == [1, 2]

    ws = openpyxl.load_workbook(second.xlsx_path)["Changes"]
    table = list(ws.iter_rows(values_only=True))
    assert table[0] == ("Service Data Name", "Previous (v1)", "New (v2)", "Difference", "Why")
    changes = {row[0]: row for row in table[1:11]}
    assert changes["# of Calls"][1:4] == (151_242, 151_800, 558)
    assert changes["# of Calls"][4] == "calls file calls_2025-09_corrected.csv added"
    assert changes["# of Chats"][3] == 0 and changes["# of Chats"][4] == "unchanged"
    inputs = [row for row in table[12:] if row[0]]
    assert inputs[0][:3] == ("File or rule", "Input change", "Kind or rule source")
    assert inputs[1][:3] == ("calls_2025-09_corrected.csv", "file added", "calls")
    assert ws.cell(row=2, column=4).number_format == "+#,##0;-#,##0;0"


def test_rule_change_is_named_in_why(data_paths: DataPaths) -> None:
    write(data_paths)
    base = MartSpec()
    build_marts(
        data_paths.warehouse,
        MartSpec(
            rules={**base.rules, "autodialer_min_calls": "4"},
            monthly={**base.monthly, 8: base.monthly[8] - 10},
        ),
    )
    second = write(data_paths)
    table = list(openpyxl.load_workbook(second.xlsx_path)["Changes"].iter_rows(values_only=True))
    changes = {row[0]: row for row in table[1:11]}
    assert changes["# of Calls Abandoned"][3] == -60
    assert changes["# of Calls Abandoned"][4] == "rule autodialer_min_calls 5 -> 4"
    assert ("autodialer_min_calls", "rule changed", "var", "5", "4") in table


def test_stages_are_versioned_separately(data_paths: DataPaths) -> None:
    assert write(data_paths, "Q2").version == 1
    final = write(data_paths, "final")
    assert (final.version, final.xlsx_path.name) == (
        1,
        "ON211_ServiceDataSchedule_2025-26_final_v1.xlsx",
    )
    assert [(v["stage"], v["version"]) for v in manifest(data_paths)["versions"]] == [
        ("Q2", 1),
        ("final", 1),
    ]


def test_never_overwrites_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report_v1.csv"
    target.write_bytes(b"original")
    with pytest.raises(VersionConflict, match="never overwritten"):
        write_new_file(target, b"new")
    assert target.read_bytes() == b"original"
    assert list(tmp_path.iterdir()) == [target], "no temp file left behind"


def test_an_unlisted_file_is_set_aside_not_overwritten(data_paths: DataPaths) -> None:
    write(data_paths)
    folder = data_paths.outbox / FISCAL_YEAR
    stray = folder / "ON211_ServiceDataSchedule_2025-26_Q2_v2.xlsx"
    stray.write_bytes(b"left by a crash before the manifest was written")
    build_marts(data_paths.warehouse, corrected_calls())
    result = write(data_paths)
    # The crashed attempt never became a version: its number is reused by the complete v2.
    assert result.version == 2
    assert ".incomplete/" in result.reason and stray.name in result.reason
    kept = folder / ".incomplete" / stray.name
    assert kept.read_bytes() == b"left by a crash before the manifest was written"
    listed = {r["name"] for v in manifest(data_paths)["versions"] for r in v["files"].values()}
    on_disk = {p.name for p in folder.glob("ON211_*")}
    assert on_disk == listed, "every report file in the outbox is a listed version"


def test_a_crash_while_building_leaves_the_old_state(
    data_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(data_paths)
    before = outbox_state(data_paths)
    build_marts(data_paths.warehouse, corrected_calls())

    def crash(*args: object) -> bytes:
        raise RuntimeError("power cut")

    monkeypatch.setattr(exports.report, "csv_bytes", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        write(data_paths)
    assert outbox_state(data_paths) == before


def test_a_crash_before_the_manifest_keeps_the_old_manifest(
    data_paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(data_paths)
    old_manifest = manifest(data_paths)
    build_marts(data_paths.warehouse, corrected_calls())

    def crash(*args: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(exports.report, "replace_file", crash)
    with pytest.raises(RuntimeError):
        write(data_paths)
    assert manifest(data_paths) == old_manifest
    # An error the process lives through takes back the v2 files it had published: they never
    # became a version (only a killed process leaves them, for the next run to set aside).
    listed = {r["name"] for v in old_manifest["versions"] for r in v["files"].values()}
    assert {p.name for p in (data_paths.outbox / FISCAL_YEAR).glob("ON211_*")} == listed
    monkeypatch.undo()
    result = write(data_paths)
    assert result.version == 2, "the unlisted v2 files were never a version"
    assert not (data_paths.outbox / FISCAL_YEAR / ".incomplete").exists(), "nothing set aside"


def test_due_stages(data_paths: DataPaths) -> None:
    assert due_stages(data_paths, today=date(2025, 9, 30)) == []
    assert due_stages(data_paths, today=date(2025, 10, 1)) == [(FISCAL_YEAR, "Q2")]
    write(data_paths)
    assert due_stages(data_paths, today=date(2025, 10, 1)) == []
    build_marts(data_paths.warehouse, corrected_calls())
    assert due_stages(data_paths, today=date(2026, 4, 1)) == [
        (FISCAL_YEAR, "Q2"),
        (FISCAL_YEAR, "final"),
    ]


def test_unknown_stage_says_what_to_do(data_paths: DataPaths) -> None:
    with pytest.raises(ReportDataMissing, match="reporting_stages seed"):
        write(data_paths, "Q1")
    assert not (data_paths.outbox / FISCAL_YEAR).exists() or not any(
        (data_paths.outbox / FISCAL_YEAR).glob("*.xlsx")
    )


def test_figures_are_exact_decimals(data_paths: DataPaths) -> None:
    result = write(data_paths)
    expenditures = result.figures["Info and referral service: Ministry-funded Agency Expenditures"]
    assert expenditures == Decimal("1234567.96")


def test_seed_row_change_is_named_in_words(data_paths: DataPaths) -> None:
    write(data_paths)
    base = MartSpec()
    rules = {k: v for k, v in base.rules.items() if not k.startswith("disposition_categories")}
    row = '{"code":"Voicemail","category":"spam"}'
    rules[f"disposition_categories:{row}"] = row
    build_marts(
        data_paths.warehouse,
        MartSpec(rules=rules, monthly={**base.monthly, 1: base.monthly[1] - 1}),
    )
    second = write(data_paths)
    assert "disposition_categories row Voicemail: spam added" in second.reason
    assert "disposition_categories row Test: test removed" in second.reason
    table = list(openpyxl.load_workbook(second.xlsx_path)["Changes"].iter_rows(values_only=True))
    assert ("disposition_categories", "rule added", "seed", None, "Voicemail: spam") in table
    assert ("disposition_categories", "rule removed", "seed", "Test: test", None) in table


def test_a_temp_file_left_by_a_crash_is_cleared(data_paths: DataPaths) -> None:
    folder = data_paths.outbox / FISCAL_YEAR
    folder.mkdir(parents=True)
    (folder / ".tmp-abc.xlsx").write_bytes(b"half a workbook")
    write(data_paths)
    assert not list(folder.glob(".tmp-*"))
