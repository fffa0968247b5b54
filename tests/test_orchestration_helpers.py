"""Unit tests of the pure helpers behind the Dagster definitions (no dbt, no warehouse)."""

from __future__ import annotations

import os
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from o211.calendar import (
    STAGES,
    ReportStage,
    fiscal_year_label,
    fiscal_year_of,
    fiscal_year_start,
    fiscal_years_between,
    latest_complete_fiscal_year,
    report_delay_days,
    stage_end_months,
    stage_period_end,
    stages_due,
)
from o211.kinds import KINDS
from o211.paths import DBT_PROJECT_DIR
from orchestration.assets.ingest import (
    FileOutcome,
    ingest_metadata,
    outcomes_for,
    plain_words,
    rejection_check,
)
from orchestration.assets.reports import Figure, compare_report
from orchestration.checks import balance_problems, gap_summary
from orchestration.execution import describe_failure, run_abandoned
from orchestration.manifest import manifest_is_stale, newest_input
from orchestration.partitions import (
    parse_report_partition,
    report_partition_key,
    stage_partitions,
)
from orchestration.schedules import reports_to_request
from orchestration.sensors import inbox_run_key, restatements
from orchestration.translator import dbt_build_args, dbt_layer

END_MONTHS = {"Q2": 6, "Q3": 9, "final": 12}


# --- calendar ---------------------------------------------------------------------------------


def test_fiscal_year_labels_round_trip_and_reject_typos():
    assert fiscal_year_start("2025-26") == 2025
    assert fiscal_year_label(2099) == "2099-00"
    assert fiscal_year_start("2099-00") == 2099
    for bad in ("2025-27", "2025/26", "25-26", "2025"):
        with pytest.raises(ValueError, match="2025-26"):
            fiscal_year_start(bad)


def test_fiscal_year_of_turns_on_the_first_of_april():
    assert fiscal_year_of(date(2026, 3, 31)) == "2025-26"
    assert fiscal_year_of(date(2026, 4, 1)) == "2026-27"
    assert fiscal_years_between(date(2025, 4, 1), date(2027, 4, 2)) == [
        "2025-26",
        "2026-27",
        "2027-28",
    ]


def test_stage_period_ends():
    assert stage_period_end("2025-26", 6) == date(2025, 9, 30)
    assert stage_period_end("2025-26", 9) == date(2025, 12, 31)
    assert stage_period_end("2025-26", 12) == date(2026, 3, 31)
    assert stage_period_end("2023-24", 11) == date(2024, 2, 29)


def test_stages_fall_due_the_configured_days_after_their_period():
    years = ["2025-26"]
    assert stages_due(date(2025, 10, 4), years, END_MONTHS, 5) == []
    assert stages_due(date(2025, 10, 5), years, END_MONTHS, 5) == [ReportStage("2025-26", "Q2")]
    assert stages_due(date(2025, 10, 1), years, END_MONTHS, 0) == [ReportStage("2025-26", "Q2")]
    assert [s.stage for s in stages_due(date(2026, 11, 28), years, END_MONTHS)] == list(STAGES)


def test_demo_year_is_the_latest_with_every_stage_due():
    assert latest_complete_fiscal_year(date(2026, 11, 28), END_MONTHS) == "2025-26"
    assert latest_complete_fiscal_year(date(2026, 4, 5), END_MONTHS) == "2025-26"
    assert latest_complete_fiscal_year(date(2026, 4, 4), END_MONTHS) == "2024-25"


def test_partition_keys_parse_both_forms():
    stage = ReportStage("2025-26", "Q3")
    assert str(report_partition_key(stage)) == "2025-26|Q3"
    assert parse_report_partition("2025-26|Q3") == stage
    assert parse_report_partition(report_partition_key(stage)) == stage
    with pytest.raises(ValueError, match="Q2, Q3, final"):
        parse_report_partition("2025-26|Q4")
    with pytest.raises(ValueError, match="2025-26\\|Q2"):
        parse_report_partition("2025-26")


def test_partition_stages_are_the_enabled_stages_of_the_seed_in_its_order():
    seed = DBT_PROJECT_DIR / "seeds" / "reporting_stages.csv"
    with seed.open(encoding="utf-8") as handle:
        enabled = [
            line.split(",")[0] for line in handle.read().splitlines()[1:] if line.endswith(",true")
        ]
    assert STAGES == tuple(enabled) == tuple(stage_end_months())
    assert stage_partitions.get_partition_keys() == enabled


def test_report_delay_is_read_when_asked(monkeypatch):
    monkeypatch.delenv("O211_REPORT_DELAY_DAYS", raising=False)
    assert report_delay_days() == 5
    monkeypatch.setenv("O211_REPORT_DELAY_DAYS", "12")
    assert report_delay_days() == 12
    monkeypatch.setenv("O211_REPORT_DELAY_DAYS", "a week")
    with pytest.raises(ValueError, match="whole number"):
        report_delay_days()


# --- dbt --------------------------------------------------------------------------------------


def test_dbt_nodes_are_grouped_by_folder():
    assert dbt_layer({"resource_type": "model", "fqn": ["o211", "staging", "stg_raw__calls"]}) == (
        "staging"
    )
    assert dbt_layer({"resource_type": "model", "fqn": ["o211", "marts", "fct_calls"]}) == "marts"
    assert dbt_layer({"resource_type": "seed", "fqn": ["o211", "reporting_stages"]}) == "seeds"
    assert dbt_layer({"resource_type": "source", "source_name": "raw", "fqn": []}) == "raw"
    production = ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args() == production
    assert dbt_build_args(full_refresh=True) == [*production, "--full-refresh"]


def test_manifest_is_stale_when_a_model_is_newer(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    model = project / "models" / "a.sql"
    model.write_text("select 1")
    manifest = tmp_path / "manifest.json"
    assert manifest_is_stale(manifest, project)
    manifest.write_text("{}")
    past = time.time() - 100
    os.utime(model, (past, past))
    assert not manifest_is_stale(manifest, project)
    os.utime(model, None)
    os.utime(manifest, (past, past))
    assert manifest_is_stale(manifest, project)
    assert newest_input(tmp_path / "missing") == 0.0


# --- ingest -----------------------------------------------------------------------------------


def _result(**fields):
    base = dict(
        kind="finance",
        file_name="ledger.xlsx",
        status="accepted",
        rows=12,
        reason="",
        problems=[],
        rejected_path=None,
    )
    return SimpleNamespace(**{**base, **fields})


def test_rejected_file_fails_the_check_and_names_file_row_column_value_problem_and_fix(tmp_path):
    rejected_path = tmp_path / "rejected" / "finance" / "ledger.xlsx"
    problems = [
        SimpleNamespace(
            row=row,
            column="amount",
            value=f"12.{row}3456",
            problem="has more than 4 decimals",
            fix="round the amount to cents",
        )
        for row in range(7, 12)
    ]
    outcomes = outcomes_for(
        "finance",
        [
            _result(
                status="rejected",
                rows=0,
                reason="amount: has more than 4 decimals [5 row(s)]",
                problems=problems,
                problem_count=5,
                rejected_path=rejected_path,
            ),
            _result(file_name="other.csv"),
            _result(kind="calls", file_name="calls.csv"),
        ],
    )
    assert [o.file for o in outcomes] == ["ledger.xlsx", "other.csv"]
    first = (
        "row 7, column amount, value '12.73456': has more than 4 decimals"
        " (how to fix: round the amount to cents)"
    )
    check = rejection_check("finance", outcomes)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert "ledger.xlsx" in check.description
    assert first in check.description
    assert "row 10" not in check.description and "and 2 more" in check.description
    assert f"{rejected_path}.errors.txt" in check.description
    table = check.metadata["first_problems"].value
    assert "| ledger.xlsx | 7 | amount | '12.73456' | has more than 4 decimals |" in table
    assert check.metadata["rejected_files"].value[0]["problems"][0]["value"] == "12.73456"
    line = plain_words(outcomes[0])
    assert line.startswith("REJECTED: finance file ledger.xlsx was not loaded. amount: has more")
    assert first in line and f"{rejected_path}.errors.txt" in line
    assert rejection_check("finance", outcomes[1:]).passed


def test_whole_file_problem_is_quoted_without_row_or_value():
    problem = SimpleNamespace(
        row=None, column=None, value=None, problem="the sheet is empty", fix="export it again"
    )
    outcome = outcomes_for(
        "web", [_result(kind="web", status="rejected", reason="", problems=[problem])]
    )[0]
    assert outcome.reason == "the sheet is empty (how to fix: export it again)"
    assert "value" not in plain_words(outcome)
    row_problem = SimpleNamespace(
        row=3, column=None, value=None, problem="the row has 6 cells but the header has 5"
    )
    outcome = outcomes_for(
        "web", [_result(kind="web", status="rejected", reason="", problems=[row_problem])]
    )[0]
    assert outcome.reason == "row 3: the row has 6 cells but the header has 5"


def test_check_descriptions_read_well_for_every_kind():
    from orchestration.assets.ingest import build_ingest_asset

    for kind in KINDS:
        (spec,) = build_ingest_asset(kind).check_specs
        assert (
            spec.description == f"Fails when a file in the {kind} inbox was rejected in this run."
        )


def test_blocklist_is_reported_with_calls_only():
    results = [_result(kind="blocklist", file_name="blocklist.csv")]
    assert len(outcomes_for("calls", results)) == 1
    assert outcomes_for("texts", results) == []


def test_run_log_says_in_plain_words_what_happened():
    accepted = FileOutcome("finance", "a.xlsx", "accepted", 1200, "")
    rejected = FileOutcome("finance", "b.xlsx", "rejected", 0, "2 problems", "/x/b.xlsx.errors.txt")
    duplicate = FileOutcome("finance", "c.xlsx", "duplicate", 0, "same bytes as a.xlsx")
    skipped = FileOutcome("finance", "~$d.xlsx", "skipped", 0, "temporary file, not loaded")
    assert plain_words(accepted).startswith("ACCEPTED: finance file a.xlsx was loaded (1,200")
    assert "REJECTED" in plain_words(rejected) and "/x/b.xlsx.errors.txt" in plain_words(rejected)
    assert plain_words(duplicate).startswith("ALREADY LOADED")
    assert plain_words(skipped) == (
        "SKIPPED: finance file ~$d.xlsx stays in the inbox. temporary file, not loaded"
    )
    metadata = ingest_metadata([accepted, rejected, duplicate, skipped])
    counts = ("accepted", "rejected", "duplicate", "skipped")
    assert tuple(metadata[status] for status in counts) == (1, 1, 1, 1)
    assert metadata["rows_loaded"] == 1200


# --- reports and checks -----------------------------------------------------------------------


def _figures():
    return [
        Figure(1, "# of Calls", "count", Decimal(1234), None, None),
        Figure(6, "Client Satisfaction: Phone Service", "percent", Decimal("88.40"), 812, 918),
        Figure(10, "Info and referral service: Ministry-funded Agency Expenditures", "currency",
               Decimal("2345678.90"), None, None),
    ]  # fmt: skip


def _csv_rows(calls="1234", percent="88.4", numerator="812", money="2345678.90"):
    return [
        {"element_order": "1", "element": "# of Calls", "value": calls, "numerator": "",
         "denominator": ""},
        {"element_order": "6", "element": "Client Satisfaction: Phone Service", "value": percent,
         "numerator": numerator, "denominator": "918"},
        {"element_order": "10", "element":
         "Info and referral service: Ministry-funded Agency Expenditures", "value": money,
         "numerator": "", "denominator": ""},
    ]  # fmt: skip


def test_report_equal_to_warehouse_has_no_differences():
    assert compare_report(_csv_rows(), _figures()) == []


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"calls": "1233"}, "# of Calls: CSV 1233, warehouse 1234"),
        ({"percent": "88.5"}, "Client Satisfaction: Phone Service: CSV 88.5"),
        ({"numerator": "811"}, "numerator: CSV 811, warehouse 812"),
        ({"money": "2345678.91"}, "CSV 2345678.91, warehouse 2345678.90"),
        ({"calls": ""}, "# of Calls: CSV None, warehouse 1234"),
    ],
)
def test_report_differences_are_named(changed, expected):
    differences = compare_report(_csv_rows(**changed), _figures())
    assert len(differences) == 1 and expected in differences[0]


def test_missing_and_extra_elements_are_differences():
    assert compare_report(_csv_rows()[:2], _figures()) == [
        "Info and referral service: Ministry-funded Agency Expenditures: missing from the CSV"
    ]
    assert compare_report(_csv_rows(), _figures()[:2])[0].endswith("not the warehouse")


def test_outcome_balance_names_the_period_and_the_gap():
    good = ("2025-26", "Q2", 10, 7, 1, 0, 0, 0, 1, 1, 0)
    bad = ("2025-26", "Q3", 20, 7, 1, 0, 0, 0, 1, 1, 0)
    assert balance_problems("calls", [good], 0) == []
    problems = balance_problems("calls", [good, bad], 3)
    assert problems[0] == (
        "2025-26 Q3: 20 calls seen but the outcomes add up to 10 (difference +10)"
    )
    assert problems[1] == "3 calls in marts.fct_calls have no outcome"


def test_gap_summary_lists_the_first_days():
    days = [("2025-26", date(2025, 5, d)) for d in range(1, 9)]
    summary = gap_summary("chats", days)
    assert summary.startswith("2025-26: 8 day(s) without chats data (2025-05-01, 2025-05-02")
    assert summary.endswith("and 3 more)")


# --- schedules and sensors --------------------------------------------------------------------


def test_schedule_requests_due_reports_not_yet_written():
    due = [ReportStage("2025-26", "Q2"), ReportStage("2025-26", "Q3")]
    requests = reports_to_request(due, {"2025-26|Q2"}, "2026-01-05")
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2025-26|Q3", "2025-26|Q3:2026-01-05")
    ]


def test_restatement_only_for_reports_written_before_the_build_and_once_per_build():
    stale = ["2025-26|Q2", "2025-26|Q3", "2025-26|final"]
    requests = restatements(stale, {"2025-26|Q3": 40, "2025-26|Q2": 43}, 42)
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("2025-26|Q3", "restatement:2025-26|Q3:42")
    ]


def test_inbox_keys():
    assert inbox_run_key("finance", "ab12") == "finance:ab12"


# --- command helpers --------------------------------------------------------------------------


def test_abandoned_runs_are_finished_ones_or_dead_o211_processes():
    tags = {"o211/pid": "123", "o211/host": "here"}
    assert run_abandoned(True, {}, "here")
    assert run_abandoned(False, tags, "here", alive=lambda pid: False)
    assert not run_abandoned(False, tags, "here", alive=lambda pid: True)
    assert not run_abandoned(False, tags, "elsewhere", alive=lambda pid: False)
    assert not run_abandoned(False, {}, "here", alive=lambda pid: False)


def test_failures_read_as_one_line():
    assert describe_failure(RuntimeError("a\n  b")) == "a b"
    assert "changed" in describe_failure(KeyError("test.o211.not_null_x.123"))


def test_paths_are_pathlike():
    assert isinstance(DBT_PROJECT_DIR, Path)


def test_dbt_failure_reads_as_one_line(tmp_path):
    from orchestration.translator import build_failure_message

    message = build_failure_message(
        "The dbt CLI process failed. Check the stdout. Errors parsed from dbt logs:\n"
        "87 of 257 FAIL 1 int_calls__rolled_up::transfer_is_one_call [FAIL 1 in 0.08s]",
        tmp_path / "run.log",
    )
    assert message == (
        f"dbt build failed (full log: {tmp_path / 'run.log'}): "
        "87 of 257 FAIL 1 int_calls__rolled_up::transfer_is_one_call [FAIL 1 in 0.08s]"
    )
