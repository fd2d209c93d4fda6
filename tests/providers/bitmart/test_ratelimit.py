"""The rate limiters: one behavioural suite run against the in-memory limiter and the Redis
one (the session's private Redis), plus worker processes sharing the Redis limiter.

Redis unreachable: the Redis cases skip, or fail under MTF_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest
import redis

from providers.bitmart import BitmartClient, InMemoryRateLimiter, RedisRateLimiter
from providers.bitmart.limits import LIMITS, Limit, Target
from providers.bitmart.ratelimit import (
    LimiterUnavailableError,
    SlidingWindowLimiter,
    limiter_state,
)
from providers.port import RateLimitError
from tests.conftest import need_service
from tests.servers import RedisServer

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


# --- spaced arrivals: the window slides, it never resets ---------------------------------------


class SteppedTime:
    """A clock that moves when the limiter sleeps or when the next request arrives."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def admissions_of(arrivals: list[float], limit: Limit) -> list[float]:
    """When each request of `arrivals` (one caller, in order) is admitted."""
    time_ = SteppedTime()
    limiter = InMemoryRateLimiter(
        {"g": limit}, utilization=1.0, clock=time_.clock, sleep=time_.sleep
    )
    admitted = []
    for at in arrivals:
        time_.now = max(time_.now, 1000.0 + at)
        limiter.acquire("g", "k")
        admitted.append(time_.now)
    return admitted


def most_in_any_window(times: list[float], window: float) -> int:
    """The most admissions in one window (t - window, t] of the sliding window."""
    return max(sum(1 for u in times if t - window < u <= t) for t in times)


@pytest.mark.parametrize(
    "arrivals",
    [
        [i * 0.1 for i in range(100)],  # steady, twice the allowed rate
        [i * 0.19 for i in range(60)],  # just above the allowed rate
        [0.45 + i * 0.5 for i in range(20)],  # spread out, a burst at each window edge
        sorted(random.Random(7).uniform(0, 10) for _ in range(120)),  # random
    ],
    ids=["steady", "near-limit", "edges", "random"],
)
def test_spaced_arrivals_never_exceed_the_limit_in_any_window(arrivals: list[float]) -> None:
    limit = Limit(5, 1.0, Target.KEY)
    admitted = admissions_of(arrivals, limit)
    assert most_in_any_window(admitted, 1.0) <= 5
    assert admitted == sorted(admitted)


def test_arrivals_below_the_limit_never_wait() -> None:
    arrivals = [i * 0.25 for i in range(40)]  # 4 per second, limit 5 per second
    assert admissions_of(arrivals, Limit(5, 1.0, Target.KEY)) == [1000.0 + a for a in arrivals]


def test_a_steady_stream_gets_the_full_rate_and_no_more() -> None:
    admitted = admissions_of([i * 0.05 for i in range(400)], Limit(5, 1.0, Target.KEY))
    span = admitted[-1] - admitted[0]
    assert 5 * span <= len(admitted) <= 5 * (span + 1)


@pytest.mark.slow
def test_spaced_arrivals_through_either_limiter(
    make_limiter: MakeLimiter, now: Callable[[], float]
) -> None:
    """The same, on real time: one request every 60 ms against 4 per 0.5 s."""
    limiter = make_limiter({"g": Limit(4, 0.5, Target.KEY)}, utilization=1.0)
    admissions: list[Admission] = []
    record_admissions(limiter, now, admissions)
    started = time.monotonic()
    for i in range(40):
        time.sleep(max(0.0, started + i * 0.06 - time.monotonic()))
        limiter.acquire("g", "k")
    assert surely_in_one_window(admissions, 0.5) <= 4


# --- the shared limiter out of reach: wait, then fail as retryable; never a private budget ------


@pytest.fixture
def lonely_redis() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except (RuntimeError, OSError, TimeoutError) as exc:
        need_service("Redis", f"cannot start a private redis-server: {exc}")
    yield server
    server.close()


@pytest.mark.services
def test_an_unreachable_shared_limiter_admits_nothing(lonely_redis: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(
        f"{lonely_redis.url}/0", limits={"g": Limit(100, 1.0, Target.KEY)}, unavailable_wait_s=0.8
    )
    assert limiter.acquire("g", "k") == 0.0
    assert limiter_state()["degraded"] == 0
    lonely_redis.stop()
    started = time.monotonic()
    with pytest.raises(LimiterUnavailableError, match="unreachable") as refused:
        limiter.acquire("g", "k")
    assert isinstance(refused.value, RateLimitError), "retryable like any rate refusal"
    assert 0.4 <= time.monotonic() - started < 10, "it waited for the limiter first"
    state = limiter_state()
    assert state["mode"] == "shared" and state["degraded"] == 1
    limiter.block("g", "k", 1.0)  # advice only: no error while Redis is away
    lonely_redis.start()
    assert limiter.acquire("g", "k") >= 0.0
    assert limiter_state()["degraded"] == 0


@pytest.mark.services
def test_a_request_waits_for_the_limiter_to_come_back(lonely_redis: RedisServer) -> None:
    limiter = RedisRateLimiter.from_url(
        f"{lonely_redis.url}/0", limits={"g": Limit(100, 1.0, Target.KEY)}, unavailable_wait_s=30
    )
    lonely_redis.stop()
    back = threading.Timer(1.0, lonely_redis.start)
    back.start()
    try:
        waited = limiter.acquire("g", "k")
    finally:
        back.join()
    assert waited >= 0.8, "admitted only once the shared limiter answered"


@pytest.mark.services
def test_no_exchange_request_leaves_without_the_shared_limiter(lonely_redis: RedisServer) -> None:
    sent: list[str] = []

    def exchange(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={"code": 1000, "message": "OK", "data": {"symbols": []}})

    limiter = RedisRateLimiter.from_url(f"{lonely_redis.url}/0", unavailable_wait_s=0.5)
    client = BitmartClient(
        "https://bitmart.test", transport=httpx.MockTransport(exchange), limiter=limiter
    )
    client.contract_details()
    lonely_redis.stop()
    with pytest.raises(LimiterUnavailableError):
        client.contract_details()
    assert sent == ["/contract/public/details"], "nothing sent on an unshared budget"


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
