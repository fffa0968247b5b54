"""What every o211 command shares: one-line failures and the data directory it works on."""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from o211.paths import DataPaths

F = TypeVar("F", bound=Callable[..., Any])


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
