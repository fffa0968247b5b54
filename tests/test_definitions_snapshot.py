"""Every asset key, check key, job, schedule and sensor name of the code location, compared with
the committed list in `tests/snapshots/dagster_definitions.txt`: a rename shows as a diff.

Run history, partitions, sensor cursors and the UI's links hang on these names, so a change is
a migration to make on purpose. After an intended change, regenerate the list with
`O211_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_definitions_snapshot.py` and commit it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "dagster_definitions.txt"

pytestmark = pytest.mark.usefixtures("dbt_manifest", "dagster_home")


def definition_names() -> list[str]:
    from orchestration.definitions import defs

    repository = defs.get_repository_def()
    graph = repository.asset_graph
    lines = [f"asset {key.to_user_string()}" for key in graph.get_all_asset_keys()]
    lines += [
        f"check {key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys
    ]
    # Dagster's implicit `__ASSET_JOB` is its own machinery, not a name of ours.
    lines += [
        f"job {job.name}" for job in repository.get_all_jobs() if not job.name.startswith("__")
    ]
    lines += [f"schedule {schedule.name}" for schedule in repository.schedule_defs]
    lines += [f"sensor {sensor.name}" for sensor in repository.sensor_defs]
    return sorted(set(lines))


def test_definition_names_match_the_committed_snapshot():
    names = definition_names()
    if os.environ.get("O211_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text("\n".join(names) + "\n", encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    diff = "\n".join(difflib.unified_diff(expected, names, "committed", "defined", lineterm=""))
    assert names == expected, (
        f"the Dagster names changed (O211_UPDATE_SNAPSHOTS=1 to accept):\n{diff}"
    )
