"""The o211 command line: every command present and documented, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from o211.paths import REPO_ROOT, DataPaths
from orchestration.cli import app

COMMANDS = (
    "demo",
    "sample",
    "ingest",
    "build",
    "report",
    "run",
    "check",
    "finance-template",
    "explain",
    "rebuild",
    "serve",
    "prepare",
)
runner = CliRunner()


def o211(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "o211"), *args],
        cwd=REPO_ROOT,
        env={**os.environ, "O211_DATA_DIR": str(data), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_help_lists_and_documents_every_command():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    # Shell completion is no product command: it would only clutter the list.
    assert "--install-completion" not in result.output
    assert "--show-completion" not in result.output
    for command in COMMANDS:
        assert f" {command} " in result.output, command
        help_text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert help_text.exit_code == 0, command
        assert "Usage:" in help_text.output


def test_sample_writes_every_kind(tmp_path):
    out = tmp_path / "data"
    result = runner.invoke(
        app,
        ["sample", "--fiscal-year", "2025-26", "--scale", "0.01", "--seed", "3", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    for kind in ("calls", "chats", "emails", "texts", "surveys", "web", "finance"):
        assert any((out / "inbox" / kind).iterdir()), kind
    assert "2025-26" in result.output


def test_bad_fiscal_year_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["sample", "--fiscal-year", "2025-27", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "2025-26" in result.output


def test_check_exit_codes(tmp_path):
    good = tmp_path / "web.csv"
    good.write_text("date,hostname,sessions\n2025-04-01,211ontario.ca,120\n", encoding="utf-8")
    accepted = runner.invoke(app, ["check", str(good), "--kind", "web"])
    assert accepted.exit_code == 0, accepted.output
    assert "would be accepted" in accepted.output
    assert not (tmp_path / "rejected").exists(), "check must not move or load anything"

    bad = tmp_path / "ledger.csv"
    bad.write_text(
        "period,account,funding_source,amount\n2025-04,5100,NOT A SOURCE,12.345678\n",
        encoding="utf-8",
    )
    rejected = runner.invoke(app, ["check", str(bad), "--kind", "finance"], env={"COLUMNS": "200"})
    assert rejected.exit_code == 1
    assert "would be rejected" in rejected.output
    assert "amount" in rejected.output and "funding_source" in rejected.output
    assert bad.exists()

    unknown = runner.invoke(app, ["check", str(good), "--kind", "faxes"])
    assert unknown.exit_code == 2


def test_finance_template(tmp_path):
    target = tmp_path / "template.xlsx"
    result = runner.invoke(app, ["finance-template", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.is_file() and target.stat().st_size > 0


def test_demo_refuses_a_used_data_directory_in_one_line(tmp_path):
    data = tmp_path / "data"
    (data / "inbox").mkdir(parents=True)
    completed = o211("demo", data=data)
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("o211: the demo needs an empty data directory")
    assert "Traceback" not in completed.stdout + completed.stderr


def test_demo_takes_a_data_directory_holding_only_what_set_up_made(tmp_path):
    """`scripts/demo.sh` runs `o211 prepare` first, which opens the Dagster home inside the
    data directory: the demo must still see that directory as fresh."""
    from o211.locking import LOCK_NAME
    from orchestration import runner as steps

    paths = DataPaths(tmp_path / "data")
    paths.dagster_home.mkdir(parents=True)
    (paths.dagster_home / "dagster.yaml").write_text("")
    (paths.root / LOCK_NAME).write_text("")
    paths.pii_key_file.write_text("key")
    steps.require_fresh(paths)
    paths.inbox("calls").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="holds inbox"):
        steps.require_fresh(paths)


@pytest.mark.slow  # two `o211` processes, each loading the Dagster definitions
@pytest.mark.usefixtures("dbt_manifest")
def test_a_failing_run_gives_one_line_and_debug_gives_the_traceback(tmp_path, dagster_home):
    data = tmp_path / "empty"
    completed = o211("report", "--fiscal-year", "2025-26", "--stage", "Q2", data=data)
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("o211: "), completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    debug = o211("report", "--fiscal-year", "2025-26", "--stage", "Q2", data=data, O211_DEBUG="1")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
