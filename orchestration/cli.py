"""The o211 command line. Every command that touches the warehouse runs through the Dagster
definitions (in process, on the persistent instance), so its runs show in the Dagster UI.

Heavy imports (dagster, ingest, exports) happen inside the commands, so `o211 --help` and the
commands that need no Dagster stay quick; every import points down the layers.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from o211.calendar import STAGES, fiscal_year_start
from o211.kinds import KINDS
from o211.locking import COMMAND_ENV
from o211.paths import REPO_ROOT, DataPaths
from orchestration.settings import ensure_dagster_home

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Shell completion is not part of the product; keep `o211 --help` to its commands.
    add_completion=False,
    help="Ontario 211 Service Data Schedule pipeline: extracts in, ministry report out.",
)

F = TypeVar("F", bound=Callable[..., Any])

DEMO_SEED = 7
DEMO_SCALE = 1.0


@app.callback()
def root() -> None:
    """Ontario 211 Service Data Schedule pipeline: extracts in, ministry report out.

    The data directory is $O211_DATA_DIR (default ./data). Set O211_DEBUG=1 to see tracebacks.
    """


def fail(message: str) -> None:
    """Print one clear line and exit non-zero."""
    typer.secho(f"o211: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


def one_line(error: BaseException) -> str:
    """The message a person needs from an exception, on one line."""
    from orchestration.execution import describe_failure

    return describe_failure(error)


def guarded(function: F) -> F:
    """Turn any exception into one line and exit code 1 (a traceback only with O211_DEBUG=1)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise  # usage errors keep click's message and exit code 2
        except KeyboardInterrupt:
            fail("interrupted")
        except Exception as error:
            if os.environ.get("O211_DEBUG") == "1":
                traceback.print_exc()
            fail(one_line(error))
        except BaseException as error:
            # Dagster turns SIGINT/SIGTERM during a run into its own BaseException.
            if type(error).__name__ != "DagsterExecutionInterruptedError":
                raise
            fail("interrupted before the run finished; run the command again")

    return wrapper  # type: ignore[return-value]


def data_paths() -> DataPaths:
    """The data directory, made absolute and published to the dbt subprocess."""
    paths = DataPaths.from_env()
    paths.export_to_environment()
    return paths


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
    if failed := runner.failed_reports_line(outcomes):
        fail(failed)
    from orchestration.notify import send_portal_mail

    typer.echo(send_portal_mail(paths))


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


def print_demo_accounts(paths: DataPaths) -> None:
    """One portal account per role, so a newcomer can log in; the passwords show only here."""
    from portal.admin_cli import AccountCommands

    typer.echo("\nPortal accounts (start it with `o211 portal`; passwords are shown only now):")
    for name, role, password in AccountCommands(paths).demo_accounts():
        typer.echo(f"  {role:<9} {name:<15} {password}")


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


@app.command()
@guarded
def portal(
    host: Annotated[
        str, typer.Option(help="Address to listen on (keep 127.0.0.1 behind a reverse proxy).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the portal.")] = 8211,
) -> None:
    """Serve the web portal (finance uploads, report review, accounts) with uvicorn."""
    import uvicorn

    from portal.app import create_app

    paths = data_paths()
    typer.echo(f"Portal on http://{host}:{port} (data {paths.root})")
    # proxy_headers: behind the reverse proxy on this host, the audit log records the client.
    uvicorn.run(create_app(paths), host=host, port=port, proxy_headers=True)


user_app = typer.Typer(
    no_args_is_help=True, help="Portal accounts (finance, approver, liaison, admin)."
)
app.add_typer(user_app, name="user")


@user_app.command("add")
@guarded
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="finance, approver, liaison or admin.")],
    email: Annotated[str | None, typer.Option(help="Address for notifications.")] = None,
) -> None:
    """Create an account; the password is read from the terminal (or one line of stdin)."""
    from portal.accounts import ROLES
    from portal.admin_cli import AccountCommands, read_password

    if role not in ROLES:
        raise typer.BadParameter(f"choose one of {', '.join(ROLES)}", param_hint="--role")
    commands = AccountCommands(data_paths())
    account = commands.add(name, role, read_password(), email)
    typer.echo(f"Account {account.name} ({account.role}) created.")


@user_app.command("list")
@guarded
def user_list() -> None:
    """List the accounts, their roles and whether they are active."""
    from portal.admin_cli import AccountCommands

    for account in AccountCommands(data_paths()).accounts():
        state = "active" if account.active else f"disabled {account.disabled_at}"
        typer.echo(f"{account.name:<24} {account.role:<9} {account.email or '-':<32} {state}")


@user_app.command("disable")
@guarded
def user_disable(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account at once (its sessions end); nothing is deleted."""
    from portal.admin_cli import AccountCommands

    account = AccountCommands(data_paths()).disable(name)
    typer.echo(f"Account {account.name} disabled.")


@user_app.command("reset-password")
@guarded
def user_reset_password(name: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Set a new password (read from the terminal or stdin); clears a lock-out."""
    from portal.admin_cli import AccountCommands, read_password

    commands = AccountCommands(data_paths())
    account = commands.reset_password(name, read_password())
    typer.echo(f"New password set for {account.name}.")


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
