"""`o211 --help` and `o211 check` start without Dagster or dbt (issue 11: seconds of import).

Each case runs in a fresh interpreter, since this test process has long imported both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from o211.paths import REPO_ROOT

HEAVY = ("dagster", "dagster_dbt", "dbt")

PROBE = """
import json, sys
from orchestration.cli import app
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["o211", *args]
try:
    app()
except SystemExit as stop:
    code = stop.code
else:
    code = 0
heavy = sorted({name.split(".")[0] for name in sys.modules} & watched)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def run_cli(args: list[str], tmp_path: Path) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        cwd=REPO_ROOT,
        env={"O211_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.stdout.strip(), completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def one_line_finance_file(folder: Path, amount: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "finance_2025-04.csv"
    path.write_text(
        f"period,account,funding_source,amount,description\n2025-04,Salaries,MCCSS,{amount},x\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["check", "--help"], 0),
        (["check", "{good}", "--kind", "finance"], 0),
        (["check", "{bad}", "--kind", "finance"], 1),
        (["check", "{missing}", "--kind", "finance"], 2),
    ],
)
def test_help_and_check_import_neither_dagster_nor_dbt(tmp_path, args, code):
    files = {
        "good": str(one_line_finance_file(tmp_path, "1000.00")),
        "bad": str(one_line_finance_file(tmp_path / "bad", "a lot")),
        "missing": str(tmp_path / "absent.csv"),
    }
    outcome = run_cli([arg.format(**files) for arg in args], tmp_path)
    assert outcome == {"code": code, "heavy": []}


def test_the_probe_sees_dagster_when_a_command_loads_it(tmp_path):
    """The probe itself can fail: a command that runs Dagster shows up in its list."""
    outcome = run_cli(["report", "--fiscal-year", "2025-26", "--stage", "Q2"], tmp_path)
    assert "dagster" in outcome["heavy"]
