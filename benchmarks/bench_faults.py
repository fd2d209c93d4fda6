"""Faults against a real engine: what each one costs.

Runs the chaos suite's scenarios (`tests/reliability/chaos.py`: a schedule every 5 s on real
worker and beat processes, a private Redis, a throw-away database or a private PostgreSQL
cluster) and prints, per fault: scheduled times missed (with their outcomes), recovery time
(from the fault's end to the first run that completed after it), runs doubled, orders doubled,
entries from stale runs and runs left open.

Needs redis-server and PostgreSQL (127.0.0.1:5432 for the shared database; the server binaries
for the private cluster). Run from the repository root:

    python benchmarks/bench_faults.py [--only "redis restart"]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import bench_database
from tests.reliability.chaos import SCENARIOS, engine, run_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="One scenario.")
    args = parser.parse_args()
    rows = []
    for name, (fault, options) in SCENARIOS.items():
        if args.only and name != args.only:
            continue
        beats = int(options.get("beats", 1))
        private_pg = bool(options.get("private_pg", False))
        with tempfile.TemporaryDirectory(prefix="mtf-faults-") as tmp:
            if private_pg:
                with engine(Path(tmp), None, private_pg=True) as e:
                    report = run_scenario(e, name, fault, beats=beats)
            else:
                with bench_database() as url, engine(Path(tmp), url) as e:
                    report = run_scenario(e, name, fault, beats=beats)
        summary = report.summary()
        summary["notes"] = "; ".join(report.notes)
        rows.append(summary)
        print(f"{name}: {summary}", flush=True)
    print()
    header = (
        f"{'fault':<22} {'times':>5} {'missed':>6} {'recovery s':>10} {'runs x2':>7} "
        f"{'orders x2':>9} {'stale entries':>13} {'left open':>9}  outcomes"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        recovery = "-" if r["recovery_s"] is None else f"{r['recovery_s']:.1f}"
        print(
            f"{r['fault']:<22} {r['scheduled_times']:>5} {r['minutes_missed']:>6} "
            f"{recovery:>10} {r['runs_doubled']:>7} {r['orders_doubled']:>9} "
            f"{r['stale_entries']:>13} {r['left_running']:>9}  {r['outcomes']} {r['notes']}"
        )


if __name__ == "__main__":
    main()
