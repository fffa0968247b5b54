"""Running the code location's jobs in this process, on the persistent Dagster instance.

Every o211 command goes through `execute`, so its runs appear in the Dagster UI history next to
the scheduled ones and take their turn in the warehouse pool. A run whose o211 process was
killed would hold its pool slot for ever; the next command gives such slots back first.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import TYPE_CHECKING, Any

from o211.full_disk import DiskFull, disk_full_line, is_disk_full
from o211.locking import (
    COMMAND_ENV,
    busy_holder,
    print_waiting,
    wait_seconds_from_env,
    waiting_message,
)
from o211.paths import DataPaths
from orchestration.settings import WAREHOUSE_POOL, ensure_dagster_home

if TYPE_CHECKING:
    import dagster as dg

HOST = socket.gethostname()
# In-process runs keep the terminal for the command's own output: the full run log is in the
# Dagster UI (O211_DEBUG=1 shows it here too).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
VERBOSE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def describe_failure(error: BaseException) -> str:
    """One line for a person: what failed, without the machinery around it."""
    # Only a command that ran Dagster can fail with a Dagster error; the others (`o211 check`)
    # must not pay Dagster's import for their one line.
    dg = sys.modules.get("dagster")
    if (
        dg is not None
        and isinstance(error, dg.DagsterExecutionStepExecutionError)
        and error.user_exception
    ):
        return describe_failure(error.user_exception)
    if is_disk_full(error) and not isinstance(error, DiskFull):
        # A full disk the step did not put in its own words (Dagster's instance, dbt's DuckDB):
        # the same one line, where the error names no folder the data directory's.
        command = os.environ.get(COMMAND_ENV) or "the command"
        consequence = f"{command} stopped before it finished; the next run picks up from there"
        return disk_full_line(error, DataPaths.from_env().root, consequence)
    if isinstance(error, KeyError) and str(error.args[0] if error.args else "").startswith(
        ("model.", "test.", "seed.", "unit_test.", "source.")
    ):
        return "the dbt project changed while the build ran; run the command again"
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def instance() -> dg.DagsterInstance:
    import dagster as dg

    ensure_dagster_home()
    return dg.DagsterInstance.get()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def run_abandoned(
    finished: bool, tags: dict[str, str], host: str, alive: Any = process_alive
) -> bool:
    """Whether a run holding a warehouse pool slot will never give it back by itself.

    A finished run should have freed its slot already; an unfinished one started by an o211
    command on this machine is abandoned when that process is gone (killed, power cut).
    """
    if finished:
        return True
    pid = tags.get("o211/pid", "")
    return tags.get("o211/host") == host and pid.isdigit() and not alive(int(pid))


def release_abandoned_slots(dagster_instance: dg.DagsterInstance) -> list[str]:
    """Give back the warehouse pool slots of runs whose process died; mark such runs failed."""
    storage = dagster_instance.event_log_storage
    info = storage.get_concurrency_info(WAREHOUSE_POOL)
    run_ids = {slot.run_id for slot in info.claimed_slots} | {s.run_id for s in info.pending_steps}
    released = []
    for run_id in sorted(run_ids):
        run = dagster_instance.get_run_by_id(run_id)
        if run is not None and not run_abandoned(run.is_finished, dict(run.tags), HOST):
            continue
        if run is not None and not run.is_finished:
            dagster_instance.report_run_failed(
                run, "The o211 command running this was stopped before it finished."
            )
        storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released


def execute(job_name: str, partition_key: str | None = None) -> dg.ExecuteInProcessResult:
    """Run one job of the code location in this process on the persistent instance."""
    from orchestration.manifest import ensure_manifest

    # A dbt project edited since the last parse would make the build meet unknown nodes.
    ensure_manifest(DataPaths.from_env())
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    root = DataPaths.from_env().root
    holder = busy_holder(root)
    if holder is not None:
        # On a shared Dagster instance the wait is for the pool slot, which says nothing itself.
        print_waiting(waiting_message(holder, wait_seconds_from_env()))
    with instance() as dagster_instance:
        release_abandoned_slots(dagster_instance)
        return job.execute_in_process(
            instance=dagster_instance,
            partition_key=partition_key,
            run_config=VERBOSE if os.environ.get("O211_DEBUG") == "1" else QUIET,
            tags={"o211/command": "cli", "o211/pid": str(os.getpid()), "o211/host": HOST},
        )
