"""The plain-DuckDB floor (benchmarks/floor.py) against hand-counted figures and the product.

1. A small hand-made inbox whose every figure was counted by hand from rules.md: rolls segments up,
   lets a re-delivered file win, places contacts on Toronto days, finds auto-dialer bursts in a
   half-open window, normalises survey spellings, restates web days and revises finance months.
2. A synthetic sample run through the floor and through the product: the session's shared
   reference run (`fault_reference` in tests/conftest.py: `o211 ingest`, `o211 build`, `o211
   report` for Q2, Q3 and final on a small sample); every figure of the three CSVs must agree; a
   difference names the stage, the element and both values.
3. The hand-made inbox of 1 through the product: its edge cases, which the sample rarely hits,
   must come out as counted by hand.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from openpyxl import Workbook

from benchmarks.floor import REPORT_COLUMNS, floor_report

if TYPE_CHECKING:
    from tests.fault.harness import Reference

FISCAL_YEAR = "2025-26"
STAGES = ("Q2", "Q3", "final")
ELEMENTS = (
    "# of Calls",
    "# of Chats",
    "# of Emails",
    "# of Texts",
    "# of Website Sessions",
    "Client Satisfaction: Phone Service",
    "Client Satisfaction: Chat Service",
    "# of Calls Abandoned",
    "# of Chats Abandoned",
    "Info and referral service: Ministry-funded Agency Expenditures",
)


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


CALL_HEADER = [
    "contact_id",
    "segment_id",
    "started_at",
    "queued_at",
    "answered_at",
    "ended_at",
    "caller_number",
    "queue",
    "disposition",
]


def call(
    contact: str,
    start: str,
    *,
    queued: str | None = "",
    answered: str | None = "",
    ended: str,
    caller: str = "416-555-0100",
    queue: str = "211_EN",
    disposition: str = "",
    segment: str = "1",
) -> list[str]:
    """A call segment on 1 May 2025 (times `HH:MM:SS` local, EDT) unless a full stamp is given."""

    def stamp(text: str | None) -> str:
        if not text:
            return ""
        return text if "T" in text else f"2025-05-01T{text}-04:00"

    return [
        contact,
        f"{contact}-{segment}",
        stamp(start),
        stamp(queued),
        stamp(answered),
        stamp(ended),
        caller,
        queue,
        disposition,
    ]


def short_call(contact: str, caller: str, start: str, queue: str = "211_EN") -> list[str]:
    """Answered 10 s after `start` (HH:MM), 3 s of talk: a short call."""
    return call(
        contact,
        f"{start}:00",
        queued=f"{start}:05",
        answered=f"{start}:10",
        ended=f"{start}:13",
        caller=caller,
        queue=queue,
    )


def answered_call(contact: str, start: str, **changes: str) -> list[str]:
    return call(
        contact,
        start,
        queued=changes.pop("queued", start),
        answered=changes.pop("answered", start),
        ended=changes.pop("ended", "23:00:00"),
        **changes,
    )


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inbox small enough to count by hand (expected figures in the test below)."""
    root = tmp_path_factory.mktemp("floor-hand-made")
    inbox = root / "inbox"
    calls_first = [
        # Two segments, one call: counted once.
        call(
            "C01",
            "09:00:00",
            queued="09:00:20",
            answered="09:01:00",
            ended="09:05:00",
            caller="+1 (416) 555-0100",
            disposition="Transferred",
        ),
        call(
            "C01",
            "09:05:02",
            queued="09:05:02",
            answered="09:06:00",
            ended="09:20:00",
            caller="",
            queue="211_FR",
            disposition="Information",
            segment="2",
        ),
        # Abandoned here; the next file re-delivers it answered, and the later file wins.
        call("C02", "09:10:00", queued="09:10:30", ended="09:12:00"),
        call("C03", "09:20:00", ended="09:21:00"),  # never queued: not offered
        answered_call("C04", "09:30:00", queue="211_test"),  # test queue
        answered_call("C05", "09:40:00", disposition=" spam "),
        answered_call("C06", "09:50:00", caller="14165550199"),  # on the blocklist
        answered_call("C07", "09:55:00", disposition="Static"),
        answered_call("C08", "09:56:00", disposition="Hoax Caller"),  # unmapped: service
        # Static on the second segment outranks service on the first.
        answered_call("C09", "09:57:00", ended="09:58:00", disposition="Information"),
        answered_call("C09", "09:58:01", disposition="dead air", segment="2"),
        call("C10", "09:59:00", queued="09:59:10", ended="10:05:00"),  # abandoned
        call("C11", "09:59:30", queued="09:59:40", ended="10:05:00", disposition="Test Call"),
        # Half-open window: four short calls in [10:00, 11:00) and one at 11:00:00 exactly.
        *(
            short_call(f"H{n}", "613-555-0123", t)
            for n, t in enumerate(("10:00", "10:01", "10:02", "10:03", "11:00"))
        ),
        # A burst: five short calls in 20 minutes; a long call and a later short one are not.
        *(
            short_call(f"B{n}", "(705) 555-0177", t)
            for n, t in enumerate(("12:00", "12:05", "12:10", "12:15", "12:20"))
        ),
        answered_call("B9", "12:07:00", ended="12:20:00", caller="705.555.0177"),
        short_call("B8", "7055550177", "13:10"),
        # A test call still takes part in burst detection for its caller.
        *(
            short_call(f"T{n}", "519-555-0142", t)
            for n, t in enumerate(("14:00", "14:05", "14:10", "14:15"))
        ),
        short_call("T9", "519-555-0142", "14:20", queue="TEST_LINE"),
        # Withheld callers are never grouped: each short call is its own caller.
        *(short_call(f"W{n}", "anonymous", f"15:0{n}") for n in range(5)),
        *(short_call(f"S{n}", "12345", f"16:0{n}") for n in range(5)),
        # Day boundaries in Toronto: 03:30Z on 1 October is 23:30 on 30 September.
        answered_call("D1", "2025-10-01T03:30:00Z", ended="2025-10-01T03:45:00Z"),
        answered_call("D2", "2025-10-01T04:30:00Z", ended="2025-10-01T04:45:00Z"),
        answered_call("D3", "2025-09-30T23:59:59", ended="2025-10-01T00:10:00"),
        answered_call("D4", "2025-03-31T23:00:00-04:00", ended="2025-03-31T23:30:00-04:00"),
    ]
    write_csv(inbox / "calls" / "calls_01.csv", CALL_HEADER, calls_first)
    write_csv(
        inbox / "calls" / "calls_02.csv",
        CALL_HEADER,
        [call("C02", "09:10:00", queued="09:10:30", answered="09:11:00", ended="09:30:00")],
    )
    # An export without segment_id, in its own column order.
    write_csv(
        inbox / "calls" / "calls_03.csv",
        ["Queue", "Contact_ID", "Started_At", "Ended_At", "Answered_At", "Queued_At"],
        [
            [
                "211_EN",
                "C30",
                "2025-06-01T10:00:00-04:00",
                "2025-06-01T10:30:00-04:00",
                "2025-06-01T10:01:00-04:00",
                "2025-06-01T10:00:30-04:00",
            ]
        ],
    )
    write_csv(
        inbox / "chats" / "chats_01.csv",
        ["contact_id", "started_at", "answered_at", "ended_at", "spam_flag", "disposition"],
        [
            [
                "CH1",
                "2025-05-01T10:00:00-04:00",
                "2025-05-01T10:01:00-04:00",
                "2025-05-01T10:20:00-04:00",
                "no",
                "",
            ],
            ["CH2", "2025-05-01T11:00:00-04:00", "", "2025-05-01T11:05:00-04:00", "N", ""],
            [
                "CH3",
                "2025-05-01T12:00:00-04:00",
                "2025-05-01T12:01:00-04:00",
                "2025-05-01T12:20:00-04:00",
                "Y",
                "",
            ],
            [
                "CH4",
                "2025-05-01T13:00:00-04:00",
                "2025-05-01T13:01:00-04:00",
                "2025-05-01T13:20:00-04:00",
                "",
                "Autodialer",
            ],
            [
                "CH5",
                "2025-05-01T14:00:00-04:00",
                "2025-05-01T14:01:00-04:00",
                "2025-05-01T14:20:00-04:00",
                "",
                "test",
            ],
            [
                "CH6",
                "2025-05-01T15:00:00-04:00",
                "2025-05-01T15:01:00-04:00",
                "2025-05-01T15:20:00-04:00",
                "",
                "Information",
            ],
        ],
    )
    write_csv(
        inbox / "emails" / "emails_01.csv",
        ["contact_id", "received_at", "sender", "spam_flag", "disposition"],
        [
            ["E1", "2025-05-01T10:00:00-04:00", "A@Example.com ", "false", ""],
            ["E2", "2025-05-01T10:00:00-04:00", "b@example.com", "yes", ""],
            ["E3", "2025-05-01T10:00:00-04:00", "c@example.com", "", "Static"],
            ["E4", "2025-05-01T10:00:00-04:00", "d@example.com", "", "auto dialer"],
        ],
    )
    write_csv(
        inbox / "texts" / "texts_01.csv",
        ["contact_id", "started_at", "sender", "spam_flag", "disposition"],
        [
            ["T1", "2025-05-01T10:00:00-04:00", "647 555 0101", "0", ""],
            ["T2", "2025-05-01T10:00:00-04:00", "(416) 555-0199", "0", ""],
            ["T3", "2025-05-01T10:00:00-04:00", "647 555 0102", "1", ""],
            ["T4", "2025-05-01T10:00:00-04:00", "", "0", ""],
        ],
    )
    survey_header = ["response_id", "channel", "submitted_at", "answer"]
    phone = [["R0", "Telephone ", "2025-05-02T10:00:00-04:00", "Très Satisfait"]] + [
        [f"R{n}", "voice", "2025-05-02T10:00:00-04:00", "Not satisfied"] for n in range(1, 17)
    ]
    chat = [
        ["Q1", "web chat", "2025-05-02T10:00:00-04:00", "satisfait"],
        ["Q2", "Live Chat", "2025-05-02T10:00:00-04:00", "PAS SATISFAIT"],
        ["Q3", "chat", "2025-05-02T10:00:00-04:00", "N/A"],
        ["Q4", "webchat", "2025-05-02T10:00:00-04:00", "Dissatisfied"],
        ["Q5", "email", "2025-05-02T10:00:00-04:00", "Very satisfied"],
    ]
    write_csv(inbox / "surveys" / "surveys_01.csv", survey_header, phone + chat)
    # A corrected export: Q4 becomes satisfied, R15 becomes blank (invalid).
    write_csv(
        inbox / "surveys" / "surveys_02.csv",
        survey_header,
        [
            ["Q4", "webchat", "2025-05-02T10:00:00-04:00", " Satisfied"],
            ["R15", "voice", "2025-05-02T10:00:00-04:00", ""],
        ],
    )
    web_preamble = "# GA4 export\n# Sessions by date and hostname\n"
    (inbox / "web").mkdir(parents=True)
    (inbox / "web" / "web_01.csv").write_text(
        web_preamble + "Date,Hostname,Sessions\n20250501,www.211ontario.ca,100\n"
        "20250501,211ontario.ca,50\n20250501,staging.211ontario.ca,999\n20250501,,7\n"
        "20250502, WWW.211Ontario.CA ,10\n",
        encoding="utf-8",
    )
    # Restates 1 May: that day is now 120 in all, whatever the first file said.
    (inbox / "web" / "web_02.csv").write_text(
        "date,hostname,sessions\n2025-05-01,www.211ontario.ca,120\n", encoding="utf-8"
    )
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Expenditures"
    sheet.append(["211 Ontario expenditures"])
    sheet.append(["Period", "Account", "Description", "Funding_Source", "Amount"])
    sheet.append([datetime(2025, 4, 1), "5010", "Salaries", "MCCSS", 1000.1])
    sheet.append(["2025-04", "5010", "Salaries", "United Way", 500])
    sheet.append(["2025-04-15", "5100", "Rent", "Ministry", "$1,234.56"])
    sheet.append(["2025-04", "5200", "Refund", " mccss ", "(100.00)"])
    sheet.append(["2025-05", "5010", "Salaries", "MCCSS", 999])  # revised by the next upload
    (inbox / "finance").mkdir(parents=True)
    workbook.save(inbox / "finance" / "finance_01.xlsx")
    write_csv(
        inbox / "finance" / "finance_02.csv",
        ["period", "account", "description", "funding_source", "amount"],
        [
            ["2025-05", "5010", "Salaires – révisé", "MCCSS", "2000.0050"],
            [
                "2025-10",
                "5010",
                "Salaires",
                "Ministry of Children, Community and Social Services",
                "10",
            ],
        ],
        encoding="cp1252",
    )
    write_csv(root / "config" / "blocklist.csv", ["number"], [["416.555.0199"]])
    return root


def figures(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[str, str, str]]:
    return {
        (r["stage"], r["element"]): (r["value"], r["numerator"], r["denominator"]) for r in rows
    }


def test_floor_counts_the_hand_made_inbox(hand_made: Path) -> None:
    rows = floor_report(hand_made, FISCAL_YEAR)
    assert [(r["stage"], r["element"]) for r in rows] == [
        (stage, element) for stage in STAGES for element in ELEMENTS
    ]
    assert {(r["stage"], r["stage_kind"], r["period_start"], r["period_end"]) for r in rows} == {
        ("Q2", "interim", "2025-04-01", "2025-09-30"),
        ("Q3", "interim", "2025-04-01", "2025-12-31"),
        ("final", "final", "2025-04-01", "2026-03-31"),
    }
    got = figures(rows)
    # Calls counted: C01, C02 (re-delivered answered), C08, five half-open H calls, B9, B8,
    # five W and five S (withheld), D1, D3, C30 = 23 by 30 Sep; D2 (1 Oct local) joins in Q3.
    # Excluded: C03 not offered, C04 and T9 and C11 test, C05 and C06 spam, C07 and C09 static,
    # B0-B4 and T0-T3 auto-dialer bursts, D4 before the fiscal year. Abandoned: C10.
    expected_q2 = {
        "# of Calls": ("23", "", ""),
        "# of Chats": ("2", "", ""),
        "# of Emails": ("2", "", ""),
        "# of Texts": ("2", "", ""),
        "# of Website Sessions": ("130", "", ""),
        # 1 very satisfied of 16 valid (R15 became blank): 6.25 -> half-up 6.3.
        "Client Satisfaction: Phone Service": ("6.3", "1", "16"),
        # satisfait, Satisfied (corrected Q4) of those plus pas satisfait: 2/3.
        "Client Satisfaction: Chat Service": ("66.7", "2", "3"),
        "# of Calls Abandoned": ("1", "", ""),
        "# of Chats Abandoned": ("1", "", ""),
        # April 1000.10 + 1234.56 - 100.00, May as revised by the later upload 2000.0050:
        # 4134.6650, half-up to cents 4134.67 (half-even would say .66).
        "Info and referral service: Ministry-funded Agency Expenditures": ("4134.67", "", ""),
    }
    for element, expected in expected_q2.items():
        assert got[("Q2", element)] == expected, element
    for stage in ("Q3", "final"):
        assert got[(stage, "# of Calls")] == ("24", "", "")
        assert got[(stage, ELEMENTS[9])] == ("4144.67", "", "")
        for element in ELEMENTS[1:9]:
            assert got[(stage, element)] == expected_q2[element], (stage, element)


# --- Against the product ----------------------------------------------------------------------


def _o211(arguments: list[str], env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).with_name("o211")), *arguments]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        pytest.fail(
            f"`o211 {' '.join(arguments)}` failed ({completed.returncode}):\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )


def _latest_report_csv(outbox: Path, stage: str) -> Path:
    stem = f"ON211_ServiceDataSchedule_{FISCAL_YEAR}_{stage}_v"
    found = sorted(outbox.glob(f"{stem}*.csv"), key=lambda path: int(path.stem.removeprefix(stem)))
    assert found, f"the product wrote no {stage} CSV in {outbox}"
    return found[-1]


def _same_number(left: str, right: str) -> bool:
    if left.strip() == "" or right.strip() == "":
        return left.strip() == right.strip()
    return Decimal(left) == Decimal(right)


def _require_product() -> None:
    pytest.importorskip("ingest.pipeline")
    pytest.importorskip("exports.report")
    if not Path(sys.executable).with_name("o211").exists():
        pytest.skip("the o211 command is not installed in this environment")


@pytest.mark.slow
def test_floor_matches_the_product_on_a_sample(fault_reference: Reference) -> None:
    """The product's reports come from the shared reference run; the floor reads the sample's
    pristine inbox, which that run copied before loading it."""
    _require_product()
    floor_rows = floor_report(fault_reference.sample_data, FISCAL_YEAR)
    differences = report_differences(fault_reference.snapshots["reported"], floor_rows)
    assert not differences, "the floor and the product disagree:\n" + "\n".join(differences)


@pytest.mark.slow
def test_the_product_counts_the_hand_made_inbox_like_the_floor(
    hand_made: Path, tmp_path: Path
) -> None:
    """The hand-counted edge cases (bursts, restated days, revisions...) through the product."""
    _require_product()
    root = tmp_path / "data"
    shutil.copytree(hand_made, root)
    differences = product_differences(root, floor_report(root, FISCAL_YEAR), tmp_path)
    assert not differences, "the product and the hand counts disagree:\n" + "\n".join(differences)


def product_differences(root: Path, floor_rows: list[dict[str, str]], tmp_path: Path) -> list[str]:
    """Run the product over `root` and list every figure that differs from `floor_rows`."""
    env = {
        **os.environ,
        "O211_DATA_DIR": str(root),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "O211_PII_KEY": "floor-crosscheck-test-key",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    (tmp_path / "dagster").mkdir()
    _o211(["ingest"], env)
    _o211(["build"], env)
    for stage in STAGES:
        _o211(["report", "--fiscal-year", FISCAL_YEAR, "--stage", stage], env)
    shutil.rmtree(tmp_path / "dagster", ignore_errors=True)
    return report_differences(root, floor_rows)


def report_differences(root: Path, floor_rows: list[dict[str, str]]) -> list[str]:
    """Every figure of the latest report CSV of each stage under `root` that differs from
    `floor_rows`."""
    differences = []
    for stage in STAGES:
        report_csv = _latest_report_csv(root / "outbox" / FISCAL_YEAR, stage)
        with report_csv.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            assert list(reader.fieldnames or []) == list(REPORT_COLUMNS)
            product = {row["element"]: row for row in reader}
        for floor_row in (row for row in floor_rows if row["stage"] == stage):
            theirs = product.get(floor_row["element"])
            if theirs is None:
                differences.append(
                    f"{stage} {floor_row['element']}: missing from {report_csv.name}"
                )
                continue
            for column in ("stage_kind", "period_start", "period_end", "element_order"):
                if floor_row[column] != theirs[column]:
                    differences.append(
                        f"{stage} {floor_row['element']} {column}: floor {floor_row[column]!r}, "
                        f"product {theirs[column]!r}"
                    )
            for column in ("value", "numerator", "denominator"):
                if not _same_number(floor_row[column], theirs[column]):
                    differences.append(
                        f"{stage} {floor_row['element']} {column}: floor {floor_row[column]!r}, "
                        f"product {theirs[column]!r}"
                    )
    return differences
