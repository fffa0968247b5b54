"""Benchmark: the product's full and incremental runs against the plain-DuckDB floor.

For each `--scale` it generates a synthetic fiscal year (not timed), then times, as whole child
processes (wall time, CPU time = user + system of the process and its children, peak RSS):

- full run from an empty data directory: `o211 ingest` (also timed alone), then `o211 run`
  (build, and the Q2, Q3 and final reports). The year's last day is held back for the next step,
  so this loads 364 days;
- incremental run: the held-back day's extracts arrive in the inbox of that loaded year, then
  `o211 run` (ingest, build, the final report rewritten; Q2 and Q3 unchanged);
- nothing new: `o211 run` once more (nothing arrived, nothing changed), then `o211 report` of
  the unchanged final stage;
- the floor: `benchmarks/floor.py`, one DuckDB SQL script over the whole year's CSVs.

It closes with issue 11's targets, each as a ratio to the floor of the same run and met or
missed, and whether the product's final figures equal the floor's. A scale without targets
(30: several years of a large region) prints its times and peak memory only.

    .venv/bin/python benchmarks/bench.py --scale 1 --scale 10 [--work-dir DIR] [--floor-only]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FLOOR_SCRIPT = REPO_ROOT / "benchmarks" / "floor.py"
GIB = 1024**3

# The column that places a row on a day, per kind (extracts.md); finance is monthly, not split.
DAY_COLUMN = {
    "calls": "started_at",
    "chats": "started_at",
    "emails": "received_at",
    "texts": "started_at",
    "surveys": "submitted_at",
    "web": "date",
}


@dataclass
class Step:
    """One timed child process."""

    name: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    exit_code: int


def run_step(name: str, command: list[str], env: dict[str, str], log: Path) -> Step:
    """Run `command` and measure it with wait4: its own rusage, children included."""
    started = time.perf_counter()
    with log.open("ab") as handle:
        handle.write(f"\n$ {' '.join(command)}\n".encode())
        handle.flush()
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux; it covers the child and the descendants it waited for.
    step = Step(
        name=name,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,
        exit_code=process.returncode,
    )
    print(
        f"  {name:<28} wall {wall:8.1f} s  cpu {step.cpu_seconds:8.1f} s  "
        f"peak RSS {step.peak_rss_bytes / 2**20:8.0f} MiB"
        + ("" if step.exit_code == 0 else f"  FAILED (exit {step.exit_code}, see {log})"),
        flush=True,
    )
    return step


def total(name: str, steps: list[Step]) -> Step:
    return Step(
        name=name,
        wall_seconds=sum(s.wall_seconds for s in steps),
        cpu_seconds=sum(s.cpu_seconds for s in steps),
        peak_rss_bytes=max((s.peak_rss_bytes for s in steps), default=0),
        exit_code=max((abs(s.exit_code) for s in steps), default=0),
    )


def _day_text_matches(value: str, day: date) -> bool:
    """True when a timestamp or date cell is on `day` (local wall-clock text, ISO or YYYYMMDD)."""
    text = value.strip()
    return text.startswith(day.isoformat()) or text.startswith(day.strftime("%Y%m%d"))


def split_last_day(sample_inbox: Path, year_inbox: Path, day_inbox: Path, day: date) -> int:
    """Copy the sample inbox to `year_inbox` without `day`'s rows, which go to `day_inbox`.

    Rows are split on the local date written in the file; the sample writes the year's last
    week as offset timestamps (local wall-clock time), so the text's date is the local date.
    Returns the number of rows held back.
    """
    held_back = 0
    for kind_folder in sorted(p for p in sample_inbox.iterdir() if p.is_dir()):
        kind = kind_folder.name
        (year_inbox / kind).mkdir(parents=True, exist_ok=True)
        for path in sorted(kind_folder.iterdir()):
            if kind not in DAY_COLUMN:
                shutil.copy2(path, year_inbox / kind / path.name)
                continue
            with path.open(encoding="utf-8", newline="") as handle:
                lines = handle.readlines()
            preamble = [line for line in lines if line.startswith("#")]
            rows = list(csv.reader(line for line in lines if not line.startswith("#")))
            header, body = rows[0], rows[1:]
            column = [name.strip().lower() for name in header].index(DAY_COLUMN[kind])
            kept = [row for row in body if not (row and _day_text_matches(row[column], day))]
            moved = [row for row in body if row and _day_text_matches(row[column], day)]
            if kept:
                with (year_inbox / kind / path.name).open("w", encoding="utf-8", newline="") as out:
                    out.writelines(preamble)
                    csv.writer(out).writerows([header, *kept])
            if moved:
                (day_inbox / kind).mkdir(parents=True, exist_ok=True)
                name = f"{kind}_{day.isoformat()}_{day.isoformat()}_late.csv"
                with (day_inbox / kind / name).open("w", encoding="utf-8", newline="") as out:
                    csv.writer(out).writerows([header, *moved])
                held_back += len(moved)
    return held_back


def read_figures(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["element"]: row["value"] for row in csv.DictReader(handle)}


def figures_agree(floor_csv: Path, product_csv: Path) -> list[str]:
    """Elements whose final value differs between the floor and the product."""
    floor = {
        row["element"]: row["value"]
        for row in csv.DictReader(floor_csv.open(encoding="utf-8", newline=""))
        if row["stage"] == "final"
    }
    product = read_figures(product_csv)
    differences = []
    for element, value in floor.items():
        theirs = product.get(element, "<missing>")
        same = (value == theirs == "") or (
            value != "" and theirs not in ("", "<missing>") and Decimal(value) == Decimal(theirs)
        )
        if not same:
            differences.append(f"{element}: floor {value!r}, product {theirs!r}")
    return differences


def verdict(label: str, met: bool, detail: str) -> str:
    return f"  [{'met' if met else 'MISSED'}] {label}: {detail}"


def bench_scale(
    scale: float, fiscal_year: str, seed: int, work: Path, floor_only: bool
) -> dict[str, Step]:
    from ingest.sample import write_sample  # the product's generator; imported on use

    scale_dir = work / f"scale-{scale:g}"
    if scale_dir.exists():
        shutil.rmtree(scale_dir)
    sample = scale_dir / "sample"
    print(f"\n== scale {scale:g}: generating the sample (not timed) in {sample}", flush=True)
    started = time.perf_counter()
    write_sample(sample, fiscal_year, scale, seed)
    size = sum(p.stat().st_size for p in (sample / "inbox").rglob("*") if p.is_file())
    print(f"  {size / 2**20:.0f} MiB of extracts in {time.perf_counter() - started:.0f} s")
    python = sys.executable
    log = scale_dir / "bench.log"
    results: dict[str, Step] = {}

    floor_csv = scale_dir / "floor.csv"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    print("floor (plain DuckDB SQL over the CSVs):")
    results["floor"] = run_step(
        "floor.py",
        [
            python,
            str(FLOOR_SCRIPT),
            "--data-dir",
            str(sample),
            "--fiscal-year",
            fiscal_year,
            "--out",
            str(floor_csv),
        ],
        env,
        log,
    )
    if floor_only:
        return results

    data = scale_dir / "data"
    day_inbox = scale_dir / "late-day"
    last_day = date(int(fiscal_year[:4]) + 1, 3, 31)
    held = split_last_day(sample / "inbox", data / "inbox", day_inbox, last_day)
    shutil.copytree(sample / "config", data / "config")
    o211 = str(Path(python).with_name("o211"))
    env = {
        **env,
        "O211_DATA_DIR": str(data),
        "DAGSTER_HOME": str(scale_dir / "dagster"),
        "O211_PII_KEY": "benchmark-key-not-secret",
    }
    (scale_dir / "dagster").mkdir()
    print(f"full run from an empty data directory ({last_day - timedelta(days=1)} and before):")
    # As a user runs it: `o211 ingest` alone first (issue 11 times ingest on its own), then
    # `o211 run`, which finds the inbox empty and builds and writes the three due reports in one
    # process (one Dagster definitions load instead of four).
    full_steps = [
        run_step("o211 ingest", [o211, "ingest"], env, log),
        run_step("o211 run (build, reports)", [o211, "run"], env, log),
    ]
    results["full"] = total("full run", full_steps)
    print(f"incremental run: {held} rows of {last_day} arrive:")
    for kind_folder in day_inbox.iterdir():
        for path in kind_folder.iterdir():
            shutil.copy2(path, data / "inbox" / kind_folder.name / path.name)
    # `o211 run`: ingest, build, and the final report (Q2 and Q3 are found unchanged).
    incremental_steps = [run_step("o211 run (one day)", [o211, "run"], env, log)]
    results["incremental"] = total("incremental run", incremental_steps)
    print("nothing new arrived:")
    results["nothing new"] = run_step("o211 run (nothing new)", [o211, "run"], env, log)
    results["unchanged report"] = run_step(
        "o211 report final (unchanged)",
        [o211, "report", "--fiscal-year", fiscal_year, "--stage", "final"],
        env,
        log,
    )
    results["ingest"] = full_steps[0]
    reports = sorted((data / "outbox" / fiscal_year).glob(f"*_{fiscal_year}_final_v*.csv"))
    if reports and results["incremental"].exit_code == 0:
        differences = figures_agree(floor_csv, reports[-1])
        print(
            "  final figures: product equals floor"
            if not differences
            else "  final figures DIFFER:\n    " + "\n    ".join(differences)
        )
        results["figures"] = Step("figures equal floor", 0, 0, 0, 1 if differences else 0)
    return results


def ratio_to(step: Step, floor: Step) -> float:
    return step.wall_seconds / floor.wall_seconds if floor.wall_seconds else float("inf")


def timed(step: Step) -> str:
    failed = "" if step.exit_code == 0 else " (a step FAILED)"
    return (
        f"{step.wall_seconds:.1f} s (cpu {step.cpu_seconds:.1f} s), "
        f"peak RSS {step.peak_rss_bytes / 2**20:.0f} MiB{failed}"
    )


def closing_note(by_scale: dict[float, dict[str, Step]]) -> list[str]:
    """Issue 11's targets, as ratios to the floor measured in this same run."""
    lines = ["", "== targets (issue 11: ratios to the plain DuckDB floor of this run)"]
    for scale, results in sorted(by_scale.items()):
        floor = results["floor"]
        lines.append(f"  scale {scale:g} floor: {timed(floor)}")
        full = results.get("full")
        if full is None:
            continue
        ok = full.exit_code == 0
        ratio = ratio_to(full, floor)
        # On a shared machine wall time waits for other work; the cpu ratio shows what is ours.
        cpu_ratio = full.cpu_seconds / floor.cpu_seconds if floor.cpu_seconds else float("inf")
        lines.append(
            f"  scale {scale:g} full run: {timed(full)}; {ratio:.1f}x floor ({cpu_ratio:.1f}x cpu)"
        )
        incremental, nothing_new = results["incremental"], results["nothing new"]
        unchanged, ingest = results["unchanged report"], results["ingest"]
        lines.append(f"  scale {scale:g} one new day: {timed(incremental)}")
        lines.append(f"  scale {scale:g} o211 run with nothing new: {timed(nothing_new)}")
        lines.append(f"  scale {scale:g} o211 report, unchanged: {timed(unchanged)}")
        if "figures" in results:
            lines.append(
                verdict(
                    f"scale {scale:g} final figures equal the floor's",
                    results["figures"].exit_code == 0,
                    "same" if results["figures"].exit_code == 0 else "DIFFER (see above)",
                )
            )
        if scale == 1:
            lines += [
                verdict("scale 1 full run <= 8x floor", ok and ratio <= 8, f"{ratio:.1f}x"),
                verdict(
                    "o211 run with nothing new <= 3x the scale-1 floor",
                    nothing_new.exit_code == 0 and ratio_to(nothing_new, floor) <= 3,
                    f"{ratio_to(nothing_new, floor):.1f}x",
                ),
                verdict(
                    "o211 report of an unchanged stage < 2 s",
                    unchanged.exit_code == 0 and unchanged.wall_seconds < 2,
                    f"{unchanged.wall_seconds:.2f} s",
                ),
            ]
        if scale == 10:
            lines += [
                verdict("scale 10 full run <= 3x floor", ok and ratio <= 3, f"{ratio:.1f}x"),
                verdict(
                    "scale 10 one new day <= 1x the floor's full run",
                    incremental.exit_code == 0 and ratio_to(incremental, floor) <= 1,
                    f"{ratio_to(incremental, floor):.2f}x",
                ),
                verdict(
                    "scale 10 ingest alone <= 1.5x floor",
                    ingest.exit_code == 0 and ratio_to(ingest, floor) <= 1.5,
                    f"{ratio_to(ingest, floor):.1f}x",
                ),
                verdict(
                    "scale 10 peak memory <= 2.1 GiB",
                    ok and full.peak_rss_bytes <= 2.1 * GIB,
                    f"{full.peak_rss_bytes / GIB:.2f} GiB",
                ),
                verdict(
                    "o211 report of an unchanged stage < 2 s",
                    unchanged.exit_code == 0 and unchanged.wall_seconds < 2,
                    f"{unchanged.wall_seconds:.2f} s",
                ),
            ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="repeatable; default 1")
    parser.add_argument("--fiscal-year", default="2025-26")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/o211-bench"))
    parser.add_argument("--floor-only", action="store_true", help="time only the floor")
    arguments = parser.parse_args(argv)
    scales = arguments.scale or [1.0]
    arguments.work_dir.mkdir(parents=True, exist_ok=True)
    by_scale = {
        scale: bench_scale(
            scale, arguments.fiscal_year, arguments.seed, arguments.work_dir, arguments.floor_only
        )
        for scale in scales
    }
    print("\n".join(closing_note(by_scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
