"""The rate limiters: one behavioural suite run against the in-memory limiter and the Redis
one (the session's private Redis), plus worker processes sharing the Redis limiter.

Redis unreachable: the Redis cases skip, or fail under MTF_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import redis

from providers.bitmart import InMemoryRateLimiter, RedisRateLimiter
from providers.bitmart.limits import LIMITS, Limit, Target
from providers.bitmart.ratelimit import SlidingWindowLimiter
from providers.port import RateLimitError

MakeLimiter = Callable[..., SlidingWindowLimiter]


@pytest.fixture
def redis_db(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    yield client
    client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_limiter(kind: str, request: pytest.FixtureRequest) -> MakeLimiter:
    db = request.getfixturevalue("redis_db") if kind == "redis" else None

    def make(limits: Mapping[str, Limit], **options: Any) -> SlidingWindowLimiter:
        if db is None:
            return InMemoryRateLimiter(limits, **options)
        return RedisRateLimiter(db, limits, prefix=f"test:{uuid.uuid4().hex}", **options)

    return make


@pytest.fixture
def now(kind: str) -> Callable[[], float]:
    """The clock each limiter counts in: monotonic in memory, the (shared) wall clock in Redis."""
    return time.monotonic if kind == "memory" else time.time


Admission = tuple[float, float]


def record_admissions(
    limiter: SlidingWindowLimiter, now: Callable[[], float], sink: list[Admission]
) -> None:
    """Record, for every admitted request, the interval bracketing the limiter's admitting call.

    The limiter admits inside that call (Redis stamps it with its own clock), so the true
    admission time lies within the interval whatever the thread scheduling or round-trip delay.
    """
    try_once = limiter._try
    lock = threading.Lock()

    def bracketed(bucket: str, limit: Limit, window_s: float) -> float:
        before = now()
        wait = try_once(bucket, limit, window_s)
        if wait <= 0:
            after = now()
            with lock:
                sink.append((before, after))
        return wait

    limiter._try = bracketed  # type: ignore[method-assign]


def surely_in_one_window(admissions: list[Admission], window: float) -> int:
    """The most admissions that certainly fell within one window of `window` seconds.

    An admission counts for the window starting at `start` only when its whole bracketing
    interval lies inside it, so a count above the limit proves a real excess.
    """
    best = 0
    for start, _ in admissions:
        inside = sum(1 for b, e in admissions if b >= start and e <= start + window)
        best = max(best, inside)
    return best


def test_the_documented_table() -> None:
    assert LIMITS["public"] == Limit(12, 2.0, Target.IP)
    assert LIMITS["submit-order"] == Limit(24, 2.0, Target.KEY)
    assert LIMITS["cancel-orders"] == Limit(2, 2.0, Target.KEY)
    assert LIMITS["order-query"].max_requests == 50
    assert LIMITS["order-history"].max_requests == 6
    assert LIMITS["position"].max_requests == 6
    assert LIMITS["trade-fee-rate"].max_requests == 2
    assert LIMITS["cancel-all-after"] == Limit(4, 2.0, Target.UID)
    assert LIMITS["tp-sl"] == Limit(24, 2.0, Target.UID)
    assert LIMITS["cancel-plan-order"] == Limit(40, 2.0, Target.UID)
    assert LIMITS["position-mode"].max_requests == 2


def test_admits_the_limit_then_waits_for_the_oldest_to_leave(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"g": Limit(5, 0.5, Target.KEY)}, utilization=1.0)
    assert [limiter.acquire("g", "a") for _ in range(5)] == [0.0] * 5
    started = time.monotonic()
    waited = limiter.acquire("g", "a")
    elapsed = time.monotonic() - started
    assert 0.3 < waited < 0.7
    assert 0.3 < elapsed < 0.8


def test_the_margin_stretches_the_window(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"g": Limit(2, 0.4, Target.KEY)}, utilization=0.8)
    assert limiter.window_s("g") == pytest.approx(0.5)
    limiter.acquire("g", "a")
    limiter.acquire("g", "a")
    assert 0.4 < limiter.acquire("g", "a") < 0.7


def test_key_buckets_are_per_owner_and_ip_buckets_shared(make_limiter: MakeLimiter) -> None:
    limits = {"key": Limit(1, 5.0, Target.KEY), "ip": Limit(1, 5.0, Target.IP)}
    limiter = make_limiter(limits, max_wait_s=0.0)
    limiter.acquire("key", "a")
    limiter.acquire("key", "b")  # another key: its own budget
    with pytest.raises(RateLimitError, match="key"):
        limiter.acquire("key", "a")
    limiter.acquire("ip", "a")
    with pytest.raises(RateLimitError, match="ip"):
        limiter.acquire("ip", "b")  # one address whatever the key
    assert limiter.bucket("ip", "b") == "ip:local"
    assert limiter.bucket("key", "b") == "key:b"


def test_a_block_stops_the_bucket_and_is_never_shortened(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"g": Limit(100, 1.0, Target.KEY)}, max_wait_s=0.0)
    limiter.block("g", "a", 0.4)
    limiter.block("g", "a", 0.05)
    time.sleep(0.1)
    with pytest.raises(RateLimitError):
        limiter.acquire("g", "a")
    limiter.acquire("g", "other")
    time.sleep(0.35)
    assert limiter.acquire("g", "a") == 0.0


def test_unknown_group_is_refused(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"g": Limit(1, 1.0, Target.IP)})
    with pytest.raises(ValueError, match="unknown rate-limit group 'nope'; known: g"):
        limiter.acquire("nope")


def test_threads_never_exceed_the_limit_and_reach_it(
    make_limiter: MakeLimiter, now: Callable[[], float]
) -> None:
    limit, window, duration = 10, 1.0, 3.0
    limiter = make_limiter({"g": Limit(limit, window, Target.KEY)})
    admissions: list[Admission] = []
    record_admissions(limiter, now, admissions)
    stop = now() + duration + 0.3

    def hammer() -> None:
        while now() < stop:
            limiter.acquire("g", "k")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert surely_in_one_window(admissions, window) <= limit
    first = min(b for b, _ in admissions)
    done = sum(1 for _, e in admissions if e < first + duration)
    assert done >= 0.85 * limit * duration / window


# --- several processes on one Redis limiter ---------------------------------------------

PROCESSES, THREADS, LIMIT, WINDOW, DURATION = 4, 3, 12, 2.0, 6.0


def process_main(
    ready: Any, go: Any, start_at: Any, results: Any, prefix: str, redis_url: str
) -> None:
    """One worker process: THREADS threads acquiring one group from a synchronised start."""
    limiter = RedisRateLimiter(
        redis.Redis.from_url(redis_url), {"g": Limit(LIMIT, WINDOW, Target.KEY)}, prefix=prefix
    )
    admissions: list[Admission] = []
    record_admissions(limiter, time.time, admissions)
    ready.put(1)
    go.wait()
    time.sleep(max(0.0, start_at.value - time.time()))
    stop = start_at.value + DURATION + 0.5

    def hammer() -> None:
        while time.time() < stop:
            limiter.acquire("g", "shared-key")

    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(admissions)


@pytest.mark.services
@pytest.mark.slow
def test_worker_processes_share_one_limit(redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go, start_at = ctx.Event(), ctx.Value("d", 0.0)
    prefix = f"test:{uuid.uuid4().hex}"
    workers = [
        ctx.Process(target=process_main, args=(ready, go, start_at, results, prefix, redis_url))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=60)
        start_at.value = time.time() + 0.3
        go.set()
        admissions = [a for _ in workers for a in results.get(timeout=60)]
    finally:
        for worker in workers:
            worker.join(timeout=30)
    assert all(worker.exitcode == 0 for worker in workers)

    assert surely_in_one_window(admissions, WINDOW) <= LIMIT
    first = min(b for b, _ in admissions)
    done = sum(1 for _, e in admissions if e < first + DURATION)
    assert done >= 0.85 * LIMIT * DURATION / WINDOW
    assert done <= LIMIT * DURATION / WINDOW
