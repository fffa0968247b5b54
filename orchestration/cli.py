"""The o211 command line. Every command that touches the warehouse runs through the Dagster
definitions (in process, on the persistent instance), so its runs show in the Dagster UI.

Heavy imports (dagster, ingest, exports) happen inside the commands, so `o211 --help` and the
commands that need no Dagster stay quick; every import points down the layers.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from o211.calendar import STAGES, fiscal_year_start
from o211.kinds import KINDS
from o211.locking import COMMAND_ENV
from o211.paths import REPO_ROOT
from orchestration import cli_portal
from orchestration.cli_portal import print_demo_accounts
from orchestration.cli_support import data_paths, fail, guarded
from orchestration.settings import ensure_dagster_home

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Shell completion is not part of the product; keep `o211 --help` to its commands.
    add_completion=False,
    help="Ontario 211 Service Data Schedule pipeline: extracts in, ministry report out.",
)

DEMO_SEED = 7
DEMO_SCALE = 1.0


@app.callback()
def root() -> None:
    """Ontario 211 Service Data Schedule pipeline: extracts in, ministry report out.

    The data directory is $O211_DATA_DIR (default ./data). Set O211_DEBUG=1 to see tracebacks.
    """


def stage_option_check(stage: str) -> str:
    if stage not in STAGES:
        raise typer.BadParameter(f"choose one of {', '.join(STAGES)}")
    return stage


def fiscal_year_check(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        fiscal_year_start(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    return value


FiscalYear = Annotated[
    str,
    typer.Option(
        "--fiscal-year",
        help="Fiscal year, April to March, e.g. 2025-26.",
        callback=fiscal_year_check,
    ),
]


@app.command()
@guarded
def prepare() -> None:
    """Build the dbt manifest that the Dagster definitions read (set-up step)."""
    from orchestration.manifest import MANIFEST, prepare_manifest

    paths = data_paths()
    ensure_dagster_home()
    prepare_manifest(paths)
    typer.echo(f"dbt manifest ready: {MANIFEST}")


@app.command()
@guarded
def sample(
    fiscal_year: Annotated[
        str | None,
        typer.Option(
            help="Fiscal year to generate, e.g. 2025-26 (default: the latest whose "
            "stages are all due).",
            callback=fiscal_year_check,
        ),
    ] = None,
    scale: Annotated[
        float, typer.Option(help="1 = a year of Ontario 211 volumes.", min=0.0001)
    ] = DEMO_SCALE,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same files.")
    ] = DEMO_SEED,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Data directory to write inbox/ and config/ into (default: $O211_DATA_DIR)."
        ),
    ] = None,
) -> None:
    """Write synthetic extracts of every kind for one fiscal year (no loading)."""
    from orchestration import runner

    target = out.expanduser().resolve() if out else data_paths().root
    year = fiscal_year or runner.demo_fiscal_year(date.today())
    runner.write_sample(target, year, scale, seed)
    typer.echo(
        f"Synthetic extracts for {year} (scale {scale:g}, seed {seed}) are in {target / 'inbox'}"
    )


@app.command()
@guarded
def ingest() -> None:
    """Load what is in the inbox: accept, reject or skip each file, and print a table."""
    from orchestration import runner

    results = runner.ingest(data_paths())
    runner.print_ingest_table(results)


@app.command()
@guarded
def build() -> None:
    """Run the dbt models and tests over the warehouse (dbt build)."""
    from orchestration import runner

    if runner.build(data_paths()):
        typer.echo("Build finished: models and tests passed.")


@app.command()
@guarded
def report(
    fiscal_year: FiscalYear,
    stage: Annotated[str, typer.Option(help="Q2, Q3 or final.", callback=stage_option_check)],
) -> None:
    """Write the ministry report (workbook and CSV) of one fiscal year and stage."""
    from orchestration import runner

    data_paths()  # the run's resources read the data directory from the environment
    outcome = runner.report(fiscal_year, stage)
    runner.print_reports([outcome])


@app.command()
@guarded
def run() -> None:
    """Ingest, build, and write every stage whose period has ended (missing or out of date)."""
    from orchestration import runner

    paths = data_paths()
    runner.print_ingest_table(runner.ingest(paths))
    runner.build(paths)
    outcomes = runner.due_reports(date.today())
    runner.print_reports(outcomes)
    from orchestration.notify import send_portal_mail

    typer.echo(send_portal_mail(paths))
    if failed := runner.failed_reports_line(outcomes):
        fail(failed)


@app.command()
@guarded
def demo() -> None:
    """Make a synthetic year in an empty data directory, run everything, print the reports."""
    from orchestration import runner

    paths = data_paths()
    runner.require_fresh(paths)
    year = runner.demo_fiscal_year(date.today())
    runner.write_sample(paths.root, year, DEMO_SCALE, DEMO_SEED)
    runner.print_ingest_table(runner.ingest(paths))
    runner.build(paths)
    outcomes = runner.due_reports(date.today(), fiscal_years=[year])
    runner.print_reports(outcomes)
    print_demo_accounts(paths)
    if failed := runner.failed_reports_line(outcomes):
        fail(failed)


@app.command()
@guarded
def check(
    file: Annotated[
        Path, typer.Argument(help="The file to validate.", exists=True, dir_okay=False)
    ],
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(KINDS)}.")],
) -> None:
    """Validate a file without loading it; print the problems a rejection would give (exit 1)."""
    from orchestration.file_check import check as check_one_file

    if kind not in KINDS:
        raise typer.BadParameter(f"choose one of {', '.join(KINDS)}", param_hint="--kind")
    if not check_one_file(file, kind):
        raise typer.Exit(code=1)


@app.command("finance-template")
@guarded
def finance_template(
    out: Annotated[Path, typer.Option(help="Where to write the blank upload workbook.")] = Path(
        "ON211_finance_upload_template.xlsx"
    ),
) -> None:
    """Write the blank finance upload workbook (header row, funding-source drop-down, help)."""
    from orchestration import runner

    written = runner.finance_template(out.expanduser().resolve())
    typer.echo(f"Finance template written to {written}")


@app.command()
@guarded
def explain(
    contact_id: Annotated[str, typer.Argument(help="The contact to explain.")],
    channel: Annotated[str, typer.Option(help="calls, chats, emails or texts.")] = "calls",
) -> None:
    """Show a contact's records, every counting rule tried, and its outcome."""
    from orchestration import explain as explaining

    if channel not in explaining.CHANNELS:
        raise typer.BadParameter(
            f"choose one of {', '.join(explaining.CHANNELS)}", param_hint="--channel"
        )
    explaining.print_explanation(data_paths(), channel, contact_id)


@app.command()
@guarded
def rebuild() -> None:
    """Recreate the warehouse from archive/ alone, then build (same figures)."""
    from orchestration import runner

    paths = data_paths()
    runner.rebuild(paths)
    runner.build(paths)
    typer.echo("Warehouse rebuilt from the archive and built.")


@app.command()
@guarded
def backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup.")],
    with_warehouse: Annotated[
        bool, typer.Option(help="Also copy the warehouse (it can be rebuilt from the archive).")
    ] = False,
) -> None:
    """Copy the data directory (inbox, archive, rejected, config, outbox, PII key, portal)
    into DEST while nothing else writes, with a SHA-256 manifest."""
    from orchestration.backup import write_backup

    done = write_backup(data_paths(), dest.expanduser().resolve(), with_warehouse=with_warehouse)
    typer.echo(
        f"Backup written to {done.folder}: {done.files:,} files, {done.bytes:,} bytes"
        + (", with the warehouse" if done.with_warehouse else "")
        + (", with the portal database" if done.has_portal_database else "")
        + "."
    )
    if done.has_pii_key:
        typer.secho(
            "It holds .pii_key, the secret that hashes caller identities: keep the "
            "backup as private as the data directory.",
            err=True,
            fg=typer.colors.YELLOW,
        )


@app.command()
@guarded
def restore(
    src: Annotated[Path, typer.Argument(help="A folder written by o211 backup.")],
) -> None:
    """Restore a backup into an empty data directory ($O211_DATA_DIR), checking every file's
    SHA-256; rebuilds the warehouse from the archive when the backup has none."""
    from orchestration import runner
    from orchestration.backup import restore_backup

    paths = data_paths()
    had_warehouse = restore_backup(src.expanduser().resolve(), paths)
    if not had_warehouse:
        runner.rebuild(paths)
        runner.build(paths)
    typer.echo(
        f"Restored into {paths.root}"
        + ("." if had_warehouse else "; warehouse rebuilt from the archive and built.")
    )


@app.command()
@guarded
def serve(
    port: Annotated[int, typer.Option(help="Port of the web UI on 127.0.0.1.")] = 3000,
) -> None:
    """Start the Dagster web UI and daemon together on 127.0.0.1 (schedules and sensors tick)."""
    from orchestration.manifest import ensure_manifest

    paths = data_paths()
    home = ensure_dagster_home()
    ensure_manifest(paths)
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    typer.echo(f"Dagster UI on http://127.0.0.1:{port} (instance {home}, data {paths.root})")
    sys.stdout.flush()
    os.chdir(REPO_ROOT)
    # A shell's background job starts with SIGINT ignored, which exec would keep: dagster dev
    # maps SIGTERM to the SIGINT handler, so it could then not be stopped at all.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Replace this process, so a stop signal (Ctrl-C, SIGTERM) reaches dagster dev directly and
    # it shuts down its webserver, daemon and code server with it.
    os.execve(
        dagster,
        [dagster, "dev", "--host", "127.0.0.1", "--port", str(port),
         "--module-name", "orchestration.definitions"],
        {**os.environ, "DAGSTER_HOME": str(home), "O211_DATA_DIR": str(paths.root)},
    )  # fmt: skip


app.command()(cli_portal.portal)
app.add_typer(cli_portal.user_app, name="user")


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    # Like Ctrl-C, so the command unwinds (locks, temp files) and `main` ends its children.
    raise KeyboardInterrupt


def main() -> None:
    if os.environ.get("O211_DEBUG") != "1":
        # Generators abandoned by a failed run report themselves at exit; the one line suffices.
        sys.unraisablehook = lambda _unraisable: None
    # Everything the product creates in the data directory is for its owner only (issue 14).
    os.umask(0o077)
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
    os.environ.setdefault(COMMAND_ENV, f"o211 {command}".strip())
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        app()
    finally:
        from o211.processes import stop_children

        stop_children()
