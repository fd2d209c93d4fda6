"""Cycle time through real Celery workers against the same work done in-process.

For 50, 200 and 600 synthetic symbols: a `scalper_micro` cycle sent to a real worker
(`celery -A mtf worker -Q mtf -c 2`, Redis broker and backend, PostgreSQL), timed from
`run_cycle`'s start to the reducer's end (the run's own `total_ms`) and from the client's send to
the run being recorded; then the chord's work (`validate_batch` on the same batches: validate and
save) in a local pool of 2 processes. Prints medians and the ratio workers / in-process (target:
at most 1.15).

Starts a Redis server of its own; needs PostgreSQL on 127.0.0.1:5432 (a throw-away database).
Run from the repository root: python benchmarks/bench_cycle.py [--repeats 5] [--sizes 50,200,600]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from benchmarks._harness import (
    InProcessPool,
    bench_database,
    decision_minute,
    median,
    prepare_market,
    use_database,
)
from infra.models import RunRow
from mtf.context import RunContext
from tests.integration.workers import cluster


def run_through_workers(
    svc: Any, app: Any, request: dict[str, Any], timeout: float = 120.0
) -> tuple[float, dict[str, Any]]:
    """(client seconds from send to the run recorded, the run's performance block)."""
    started = time.perf_counter()
    result = app.send_task("mtf.run_cycle", kwargs=request, queue="mtf", ignore_result=True)
    deadline = time.monotonic() + timeout
    status = select(RunRow.status).where(RunRow.run_id == result.id)
    while time.monotonic() < deadline:
        with svc.engine.connect() as conn:
            state = conn.execute(status).scalar()
        if state is not None and state != "running":
            wall = time.perf_counter() - started
            row = svc.runs.get(result.id)
            if row.status != "completed":
                raise RuntimeError(f"run {row.run_id} {row.status}: {row.detail}")
            return wall, dict(row.response["performance"])
        # A light query, not too often: the poller shares the CPUs the workers are measured on.
        time.sleep(0.02)
    raise TimeoutError(f"run {result.id} did not finish in {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="50,200,600")
    parser.add_argument("--batch", type=int, default=0, help="MTF_VALIDATE_BATCH_SIZE (0: auto)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    as_of = decision_minute()
    as_of_ms = int(as_of.timestamp() * 1000)
    print(f"decision minute {as_of:%Y-%m-%d %H:%M}Z, {args.repeats} repeats, worker -c 2")
    env = {"MTF_VALIDATE_BATCH_SIZE": str(args.batch)}
    rows = []
    with (
        bench_database() as url,
        tempfile.TemporaryDirectory() as logs,
        cluster(url, Path(logs), extra_env=env) as c,
    ):
        os.environ.update(c.env())
        svc = use_database(url)
        symbols = prepare_market(svc, max(sizes), as_of_ms)
        from mtf import app

        c.worker(queues="mtf", concurrency=2)  # prefetch as configured
        local_pool = InProcessPool(url, processes=2)
        for n in sizes:
            request = {
                "symbols": symbols[:n],
                "as_of": as_of.isoformat(),
                "dry_run": True,
                "process_tp_sl": False,
                "skip_open_state_filter": True,
            }
            data = {
                "run_id": f"bench-{n}",
                "profile": "scalper_micro",
                "as_of_ms": as_of_ms,
                "dry_run": True,
                "exchange": "paper",
                "started_ms": 0,
            }
            svc.runs.start(RunContext.from_dict(data), {})
            run_through_workers(svc, app, request)  # warm-up
            local_pool.time(symbols[:n], data)
            perfs, walls, locals_ = [], [], []
            for _ in range(args.repeats):  # interleaved, so drift hits both sides alike
                wall, perf = run_through_workers(svc, app, request)
                perfs.append(perf)
                walls.append(wall)
                locals_.append(local_pool.time(symbols[:n], data))
            totals = [p["total_ms"] / 1000 for p in perfs]
            chord = median([p["validate_ms"] for p in perfs])
            reduce = median([p["reduce_ms"] for p in perfs])
            rows.append(
                (n, median(totals), min(totals), median(walls), median(locals_), min(locals_))
            )
            print(
                f"  {n} symbols in {perfs[0]['batches']} messages (medians): run "
                f"{median(totals) * 1000:.0f} ms = before the chord "
                f"{median(totals) * 1000 - chord - reduce:.0f} + chord {chord:.0f}"
                f" + reducer {reduce:.0f}; in-process {median(locals_) * 1000:.0f} ms",
                flush=True,
            )
        local_pool.close()

    print()
    print(
        "symbols | workers run (median / best) | send-to-recorded | in-process 2 procs "
        "(median / best) | ratio (median / best)"
    )
    print(
        "------- | --------------------------- | ---------------- | "
        "---------------------------------- | ---------------------"
    )
    for n, total, best, wall, local, local_best in rows:
        print(
            f"{n:7d} | {total:10.3f} s / {best:6.3f} s | {wall:14.3f} s | "
            f"{local:17.3f} s / {local_best:6.3f} s | {total / local:8.2f}x / "
            f"{best / local_best:5.2f}x"
        )


if __name__ == "__main__":
    main()
