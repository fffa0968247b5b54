"""benchmarks/bench.py judges issue 11's targets as ratios to the floor of the same run."""

from __future__ import annotations

from benchmarks.bench import GIB, Step, closing_note


def step(name: str, seconds: float, peak_gib: float = 0.5, exit_code: int = 0) -> Step:
    return Step(name, seconds, seconds, int(peak_gib * GIB), exit_code)


def results(floor: float, full_run: float, **overrides: Step) -> dict[str, Step]:
    base = {
        "floor": step("floor", floor),
        "full": step("full", full_run, peak_gib=2.0),
        "incremental": step("incremental", floor * 0.5),
        "nothing new": step("nothing new", floor * 2),
        "unchanged report": step("report", 1.2),
        "ingest": step("ingest", floor * 1.2),
        "figures": step("figures", 0),
    }
    return {**base, **overrides}


def verdicts(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        if line.strip().startswith("["):
            state, rest = line.strip()[1:].split("] ", 1)
            found[rest.split(":")[0]] = state
    return found


def test_every_target_met_is_said_so():
    note = verdicts(closing_note({1.0: results(2.0, 15.0), 10.0: results(20.0, 59.0)}))
    assert set(note.values()) == {"met"}
    assert "scale 10 full run <= 3x floor" in note
    assert "scale 1 full run <= 8x floor" in note
    assert "scale 10 ingest alone <= 1.5x floor" in note
    assert "scale 10 one new day <= 1x the floor's full run" in note


def test_each_target_can_be_missed():
    note = verdicts(
        closing_note(
            {
                1.0: results(2.0, 17.0, **{"nothing new": step("run", 6.5)}),
                10.0: results(
                    20.0,
                    61.0,
                    incremental=step("day", 21.0),
                    ingest=step("ingest", 31.0),
                    full=step("full", 61.0, peak_gib=2.2),
                    figures=step("figures", 0, exit_code=1),
                    **{"unchanged report": step("report", 2.5)},
                ),
            }
        )
    )
    assert note["scale 1 full run <= 8x floor"] == "MISSED"
    assert note["o211 run with nothing new <= 3x the scale-1 floor"] == "MISSED"
    assert note["scale 10 full run <= 3x floor"] == "MISSED"
    assert note["scale 10 one new day <= 1x the floor's full run"] == "MISSED"
    assert note["scale 10 ingest alone <= 1.5x floor"] == "MISSED"
    assert note["scale 10 peak memory <= 2.1 GiB"] == "MISSED"
    assert note["scale 10 final figures equal the floor's"] == "MISSED"


def test_a_scale_without_targets_prints_time_and_memory_only():
    lines = closing_note({30.0: results(60.0, 400.0)})
    assert any(
        "scale 30 full run: 400.0 s (cpu 400.0 s), peak RSS 2048 MiB" in line for line in lines
    )
    assert not [line for line in lines if "<=" in line]
