"""The o211 command line. Every command runs through the Dagster definitions."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from orchestration.settings import DBT_PROJECT_DIR, DataPaths

app = typer.Typer(no_args_is_help=True, help="Ontario 211 Service Data Schedule pipeline.")


@app.callback()
def root() -> None:
    """Ontario 211 Service Data Schedule pipeline: extracts in, ministry report out."""


def fail(message: str) -> None:
    """Print one clear line and exit non-zero."""
    typer.secho(f"o211: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


@app.command()
def prepare() -> None:
    """Build the dbt manifest that the Dagster definitions read (set-up step)."""
    paths = DataPaths.from_env()
    env = {**os.environ, "O211_DATA_DIR": str(paths.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    completed = subprocess.run(
        [dbt, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        fail("dbt parse failed; see the messages above")


def main() -> None:
    app()
