"""Client-side rate limiting: a sliding window per (group, owner) bucket, shared or local.

`RateLimiter` is what the client needs: `acquire` blocks until a request may go out and
`block` stops a bucket for a while (the exchange said the window is used up, or refused a
request for rate). `InMemoryRateLimiter` serves one process; `RedisRateLimiter` (module
`redis_limiter`) serves every worker process together.

Shared or nothing: a process that should share the budget (every worker) never falls back to
pacing itself. While the shared limiter cannot be reached, `acquire` waits for it and then
fails with `LimiterUnavailableError` (a retryable `RateLimitError`): nothing is sent on a
budget the other processes do not see. `limiter_state()` says which mode the process is in and
whether the shared limiter is unreachable (a log line marks each change), for metrics.

Safety margin: a bucket admits the documented number of requests per window stretched by
`1 / utilization` (default 0.95, so 12 per 2.105 s instead of 12 per 2 s). Stretching the
window rather than trimming the count keeps small limits usable (2 per 2 s stays 2, not 1)
and leaves ~100 ms for the network to reorder requests on their way to the exchange.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from providers.bitmart.limits import LIMITS, Limit, Target
from providers.port import RateLimitError

DEFAULT_UTILIZATION = 0.95
log = logging.getLogger("providers.bitmart.ratelimit")


class LimiterUnavailableError(RateLimitError):
    """The shared limiter cannot be reached: the request was not sent (retry later)."""


@dataclass
class LimiterHealth:
    """The process's rate limiting: `local` (one process is the whole system), `shared` (one
    budget for every process) and whether the shared limiter is unreachable right now."""

    mode: Literal["none", "local", "shared"] = "none"
    unreachable_since: float | None = None  # wall time of the first failure of this outage
    outages: int = 0
    last_error: str = ""

    def down(self, where: str, error: BaseException, wait_s: float) -> None:
        self.last_error = f"{type(error).__name__}: {error}"
        if self.unreachable_since is None:
            self.unreachable_since = time.time()
            self.outages += 1
            log.warning(
                "rate limiter: shared limiter at %s unreachable (%s); exchange calls wait up "
                "to %.0f s for it, then fail as retryable, and nothing is sent meanwhile",
                where,
                self.last_error,
                wait_s,
            )

    def up(self, where: str) -> None:
        if self.unreachable_since is not None:
            log.warning(
                "rate limiter: shared limiter at %s reachable again after %.1f s",
                where,
                time.time() - self.unreachable_since,
            )
            self.unreachable_since = None


health = LimiterHealth()


def limiter_state() -> dict[str, object]:
    """This process's limiter for metrics: mode, degraded (0/1), seconds degraded, outages."""
    since = health.unreachable_since
    return {
        "mode": health.mode,
        "degraded": int(since is not None),
        "degraded_seconds": 0.0 if since is None else round(time.time() - since, 3),
        "outages": health.outages,
    }


@runtime_checkable
class RateLimiter(Protocol):
    """What the client needs from a limiter; `owner` names the API key (limits per key)."""

    def acquire(self, group: str, owner: str = "") -> float:
        """Block until one request of `group` may be sent; returns the seconds waited."""
        ...

    def block(self, group: str, owner: str, seconds: float) -> None:
        """Admit nothing in the bucket for `seconds` (never shortens an existing block)."""
        ...


class SlidingWindowLimiter:
    """The blocking loop and bucket naming common to both limiters.

    Subclasses implement `_try(bucket, limit, window_s)`: admit one request and return 0, or
    return the seconds until a slot frees (or a block ends).
    """

    def __init__(
        self,
        limits: Mapping[str, Limit] = LIMITS,
        *,
        ip_name: str = "local",
        utilization: float = DEFAULT_UTILIZATION,
        max_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < utilization <= 1:
            raise ValueError(f"utilization must be in (0, 1], got {utilization}")
        self.limits = dict(limits)
        self.ip_name = ip_name
        self.utilization = utilization
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    def limit(self, group: str) -> Limit:
        try:
            return self.limits[group]
        except KeyError:
            known = ", ".join(sorted(self.limits))
            raise ValueError(f"unknown rate-limit group {group!r}; known: {known}") from None

    def bucket(self, group: str, owner: str = "") -> str:
        """`group:ip-name` for limits per address, `group:owner` for limits per key/account."""
        limit = self.limit(group)
        who = self.ip_name if limit.target is Target.IP else (owner or "anonymous")
        return f"{group}:{who}"

    def window_s(self, group: str) -> float:
        """The window actually enforced: the documented one stretched by the margin."""
        return self.limit(group).window_s / self.utilization

    def acquire(self, group: str, owner: str = "") -> float:
        """Block until admitted; `RateLimitError` if that would take over `max_wait_s`."""
        limit = self.limit(group)
        bucket = self.bucket(group, owner)
        window = self.window_s(group)
        waited = 0.0
        while True:
            wait = self._try(bucket, limit, window)
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait_s:
                raise RateLimitError(
                    f"rate limit of {group} still exhausted after {waited:.1f} s "
                    f"(next slot in {wait:.1f} s, max wait {self.max_wait_s:.0f} s)",
                    retry_after=wait,
                )
            self._sleep(wait)
            waited += wait

    def block(self, group: str, owner: str, seconds: float) -> None:
        if seconds > 0:
            self._block(self.bucket(group, owner), seconds)

    def _try(self, bucket: str, limit: Limit, window_s: float) -> float:
        raise NotImplementedError

    def _block(self, bucket: str, seconds: float) -> None:
        raise NotImplementedError


class InMemoryRateLimiter(SlidingWindowLimiter):
    """The limiter for one process (threads share it); same behaviour as the Redis one."""

    def __init__(
        self,
        limits: Mapping[str, Limit] = LIMITS,
        *,
        ip_name: str = "local",
        utilization: float = DEFAULT_UTILIZATION,
        max_wait_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            limits, ip_name=ip_name, utilization=utilization, max_wait_s=max_wait_s, sleep=sleep
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def _try(self, bucket: str, limit: Limit, window_s: float) -> float:
        with self._lock:
            now = self._clock()
            blocked = self._blocked_until.get(bucket, 0.0) - now
            if blocked > 0:
                return blocked
            times = self._admitted.setdefault(bucket, deque())
            while times and times[0] <= now - window_s:
                times.popleft()
            if len(times) < limit.max_requests:
                times.append(now)
                return 0.0
            return max(times[0] + window_s - now, 1e-6)

    def _block(self, bucket: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._blocked_until[bucket] = max(self._blocked_until.get(bucket, 0.0), until)
