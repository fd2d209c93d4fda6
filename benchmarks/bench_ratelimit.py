"""How much of Bitmart's documented rate several processes get through one shared limiter.

4 processes x 3 threads call one endpoint group as fast as the Redis limiter lets them, against
the fake Bitmart served over HTTP (which enforces the documented limits and counts refusals).
Prints, per group, the requests answered, the most a sliding 2-second window allows over the
same span (limit x (floor(span / 2 s) + 1)), the share used, the most requests seen in any
window and the refusals (target: 0).

Starts a Redis server of its own for the limiter (nothing shared is touched).
Run from the repository root: python benchmarks/bench_ratelimit.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.support import BTC_SPEC
from tests.integration.test_rate_limit_shared import PROCESSES, THREADS, _hammer
from tests.providers.bitmart.fake import FakeBitmart
from tests.servers import private_redis

GROUPS = {
    # name: (private endpoint?, documented limit per 2 s, path)
    "public details": (False, 12, "/contract/public/details"),
    "private open orders": (True, 50, "/contract/private/get-open-orders"),
}
WINDOW_S = 2.0


def busiest_window(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - WINDOW_S:
            j += 1
        best = max(best, i - j + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    print(f"{PROCESSES} processes x {THREADS} threads, {args.seconds:.0f} s per group")
    print(f"{'group':22} {'answered':>8} {'at most':>8} {'share':>6} {'max/2s':>7} {'refused':>8}")
    with tempfile.TemporaryDirectory() as tmp, private_redis() as redis_server:
        redis_url = f"{redis_server.url}/0"
        for name, (private, limit, path) in GROUPS.items():
            fake = FakeBitmart(f"sqlite:///{Path(tmp) / f'{uuid.uuid4().hex}.db'}")
            fake.list_contract(BTC_SPEC)
            prefix = f"bench:{uuid.uuid4().hex}"
            with fake.serve() as url, mp.get_context("fork").Pool(PROCESSES) as pool:
                results = pool.starmap(
                    _hammer, [(url, prefix, args.seconds, private, redis_url)] * PROCESSES
                )
            stamps = [t for r in results for t in r]
            span = max(stamps) - min(stamps)
            allowed = limit * (int(span // WINDOW_S) + 1)
            answered = len(fake.requests(path))
            print(
                f"{name:22} {answered:8d} {allowed:8d} {answered / allowed:6.0%} "
                f"{busiest_window(stamps):4d}/{limit:<2d} {fake.rate_limited:8d}"
            )
            fake.close()


if __name__ == "__main__":
    main()
