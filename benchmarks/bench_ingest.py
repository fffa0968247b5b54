"""Ingest throughput and memory per kind, on synthetic extracts of a given scale.

    .venv/bin/python benchmarks/bench_ingest.py --scale 1
    .venv/bin/python benchmarks/bench_ingest.py --scale 10 --keep /tmp/bench10

Writes a fiscal year of sample extracts (`ingest.sample.write_sample`) into a temporary data
directory, then loads one kind at a time, each in its own child process so that the peak
resident memory (`ru_maxrss`) measured is that kind's alone. Prints rows/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ingest.sample import write_sample  # noqa: E402
from o211.kinds import KINDS  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
from ingest.pipeline import ingest_inbox
from o211.paths import DataPaths

started = time.perf_counter()
results = ingest_inbox(DataPaths(Path(sys.argv[1])), kinds=[sys.argv[2]], pii_key=b"bench-key")
seconds = time.perf_counter() - started
extracts = [r for r in results if r.kind == sys.argv[2]]
print(json.dumps({
    "files": len(extracts),
    "rejected": sum(r.status == "rejected" for r in extracts),
    "rows": sum(r.rows for r in extracts if r.status == "accepted"),
    "bytes": sum(r.archive_path.stat().st_size for r in extracts if r.archive_path),
    "seconds": seconds,
    "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def measure(data_dir: Path, kind: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), kind],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fiscal-year", default="2025-26")
    parser.add_argument("--keep", type=Path, help="data directory to use and keep (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as temporary:
        data_dir = args.keep or Path(temporary) / "data"
        started = time.perf_counter()
        write_sample(data_dir, fiscal_year=args.fiscal_year, scale=args.scale, seed=args.seed)
        print(
            f"sample at scale {args.scale}: {time.perf_counter() - started:.1f} s ({data_dir})",
            flush=True,
        )
        header = f"{'kind':<9}{'files':>6}{'rows':>11}{'MB':>8}{'seconds':>9}{'rows/s':>10}"
        print(header + f"{'peak RSS MiB':>14}")
        totals = {"rows": 0, "seconds": 0.0}
        for kind in KINDS:
            figures = measure(data_dir, kind)
            totals["rows"] += figures["rows"]
            totals["seconds"] += figures["seconds"]
            rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
            rejected = f"  ({figures['rejected']} rejected!)" if figures["rejected"] else ""
            print(
                f"{kind:<9}{figures['files']:>6}{figures['rows']:>11,}"
                f"{figures['bytes'] / 1e6:>8.1f}{figures['seconds']:>9.1f}{rate:>10,.0f}"
                f"{figures['peak_rss_kib'] / 1024:>14.0f}{rejected}",
                flush=True,
            )
        print(
            f"{'total':<9}{'':>6}{totals['rows']:>11,}{'':>8}{totals['seconds']:>9.1f}"
            f"{totals['rows'] / totals['seconds']:>10,.0f}"
        )
        warehouse = data_dir / "warehouse" / "o211.duckdb"
        print(f"warehouse file: {warehouse.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
