"""The portal's commands: `o211 portal` serves it, `o211 user ...` manages its accounts.

Kept beside the pipeline's commands (orchestration/cli.py), which register them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from o211.paths import DataPaths
from orchestration.cli_support import data_paths, guarded


def print_demo_accounts(paths: DataPaths) -> None:
    """One portal account per role, so a newcomer can log in; the passwords show only here."""
    from portal.admin_cli import AccountCommands

    typer.echo("\nPortal accounts (start it with `o211 portal`; passwords are shown only now):")
    for name, role, password in AccountCommands(paths).demo_accounts():
        typer.echo(f"  {role:<9} {name:<15} {password}")


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
