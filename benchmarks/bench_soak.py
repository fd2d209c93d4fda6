"""Soak: consecutive cycles on real workers, watching what must stay flat.

200 `scalper_micro` cycles over 600 synthetic symbols (each a new minute, so READY symbols place
new dry-run plans and the TP/SL sweep runs every third minute) through
`celery -A mtf worker -Q mtf,orders,tpsl -c 2`. Every 10 cycles it samples the worker's resident
memory (main process and children), Redis memory, the pub/sub subscriptions held by Redis
clients, and the keys in the result backend. Prints the samples and the change from the first
sample after warm-up to the last.

Starts a Redis server of its own; needs PostgreSQL on 127.0.0.1:5432 (a throw-away database).
Run from the repository root: python benchmarks/bench_soak.py [--cycles 200] [--symbols 600]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from benchmarks._harness import bench_database, decision_minute, prepare_market, use_database
from benchmarks.bench_cycle import run_through_workers
from tests.integration.workers import cluster


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def worker_rss_mb(main_pid: int) -> tuple[float, float]:
    """(main process, children) resident memory in MB."""
    out = subprocess.run(["pgrep", "-P", str(main_pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return rss_kb(main_pid) / 1024, sum(rss_kb(p) for p in children) / 1024


def subscriptions(client: redis.Redis) -> int:
    """Channels and patterns subscribed by every client of the server."""
    return sum(int(c.get("sub", 0)) + int(c.get("psub", 0)) for c in client.client_list())


def sample(main_pid: int, admin: redis.Redis, backend: redis.Redis) -> dict[str, Any]:
    main, children = worker_rss_mb(main_pid)
    info = admin.info("memory")
    return {
        "worker_main_mb": main,
        "worker_children_mb": children,
        "redis_used_mb": info["used_memory"] / 2**20,
        "subscriptions": subscriptions(admin),
        "backend_keys": backend.dbsize(),
        "pubsub_channels": len(admin.pubsub_channels()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=600)
    parser.add_argument("--every", type=int, default=10, help="sample every N cycles")
    args = parser.parse_args()
    last = decision_minute()
    first = last - timedelta(minutes=args.cycles - 1)
    samples: list[tuple[int, float, dict[str, Any]]] = []
    with (
        bench_database() as url,
        tempfile.TemporaryDirectory() as logs,
        cluster(url, Path(logs)) as c,
    ):
        os.environ.update(c.env())
        svc = use_database(url)
        symbols = prepare_market(
            svc,
            args.symbols,
            int(last.timestamp() * 1000),
            extra_minutes=args.cycles,
        )
        from mtf import app

        worker = c.worker(queues="mtf,orders,tpsl", concurrency=2)
        admin = redis.Redis.from_url(f"{c.redis_base}/0")
        backend = redis.Redis.from_url(f"{c.redis_base}/{c.backend_db}")
        started = time.perf_counter()
        for i in range(args.cycles):
            as_of = first + timedelta(minutes=i)
            request = {"symbols": symbols, "as_of": as_of.isoformat(), "dry_run": True}
            _, perf = run_through_workers(svc, app, request)
            if i % args.every == 0 or i == args.cycles - 1:
                time.sleep(0.5)  # let the orders and TP/SL tasks of the cycle finish
                samples.append((i + 1, perf["total_ms"], sample(worker.pid, admin, backend)))
                s = samples[-1][2]
                print(
                    f"  cycle {i + 1:4d}: run {perf['total_ms']:6.0f} ms, worker "
                    f"{s['worker_main_mb']:.0f}+{s['worker_children_mb']:.0f} MB, redis "
                    f"{s['redis_used_mb']:.1f} MB, subscriptions {s['subscriptions']}, "
                    f"backend keys {s['backend_keys']}",
                    flush=True,
                )
        elapsed = time.perf_counter() - started
        ledger = len(svc.ledger.recent(100_000))

    print()
    print(
        f"{args.cycles} cycles of {args.symbols} symbols in {elapsed:.0f} s; "
        f"{ledger} dry-run order plans recorded"
    )
    print(
        "cycle | run ms | worker main MB | worker children MB | redis MB | subscriptions | "
        "backend keys | pub/sub channels"
    )
    print(
        "----- | ------ | -------------- | ------------------ | -------- | ------------- | "
        "------------ | ----------------"
    )
    for n, total, s in samples:
        print(
            f"{n:5d} | {total:6.0f} | {s['worker_main_mb']:14.1f} | "
            f"{s['worker_children_mb']:18.1f} | {s['redis_used_mb']:8.2f} | "
            f"{s['subscriptions']:13d} | {s['backend_keys']:12d} | {s['pubsub_channels']:16d}"
        )
    base = samples[min(2, len(samples) - 1)][2]
    end = samples[-1][2]
    print()
    print(
        f"change from cycle {samples[min(2, len(samples) - 1)][0]} to {samples[-1][0]}: "
        + ", ".join(f"{k} {end[k] - base[k]:+.2f}" for k in end)
    )


if __name__ == "__main__":
    main()
