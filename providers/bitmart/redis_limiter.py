"""`RedisRateLimiter`: one sliding-window limiter for every worker process and machine.

Each bucket is a sorted set of admission times. One Lua script purges entries older than the
window, counts, and either admits (adds an entry) or returns the wait until the oldest entry
leaves; Redis runs scripts one at a time, so N processes together never exceed the limit.
Time is Redis's own clock (`TIME`), so the workers' clocks need not agree. A block (the
exchange reported the window used up, or refused a request) is a key with a TTL that the
script checks first.

When Redis cannot be reached, `acquire` retries with backoff for `unavailable_wait_s` and then
raises `LimiterUnavailableError` (retryable): it never admits a request on its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import redis

from providers.bitmart.limits import LIMITS, Limit
from providers.bitmart.ratelimit import (
    DEFAULT_UTILIZATION,
    LimiterUnavailableError,
    SlidingWindowLimiter,
    health,
)

#: Errors that mean "Redis cannot be reached now" (a script error is a bug, not an outage).
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.BusyLoadingError)

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked * 1000 end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(oldest[2]) + window - now))
"""

_BLOCK = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 0
"""


class RedisRateLimiter(SlidingWindowLimiter):
    """The shared limiter; waits are returned by Redis in microseconds."""

    def __init__(
        self,
        client: redis.Redis,
        limits: Mapping[str, Limit] = LIMITS,
        *,
        prefix: str = "bitmart:ratelimit",
        ip_name: str = "local",
        utilization: float = DEFAULT_UTILIZATION,
        max_wait_s: float = 60.0,
        unavailable_wait_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            limits, ip_name=ip_name, utilization=utilization, max_wait_s=max_wait_s, sleep=sleep
        )
        self.redis = client
        self.prefix = prefix
        self.unavailable_wait_s = unavailable_wait_s
        self._clock = clock
        self._acquire = client.register_script(_ACQUIRE)
        self._block_script = client.register_script(_BLOCK)
        conn = client.connection_pool.connection_kwargs
        self.where = f"{conn.get('host', '?')}:{conn.get('port', '?')}/{conn.get('db', 0)}"
        health.mode = "shared"

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisRateLimiter:
        """A limiter on the Redis at `url` (e.g. settings.redis_url); a Redis that stops
        answering counts as unreachable after a few seconds."""
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        return cls(client, **kwargs)

    def acquire(self, group: str, owner: str = "") -> float:
        """Block until admitted by the shared limiter. While it cannot be reached: wait for it
        (backoff) up to `unavailable_wait_s`, then `LimiterUnavailableError`."""
        self.limit(group)  # an unknown group is a bug: refused before any waiting
        started = self._clock()
        delay, outage = 0.1, False
        while True:
            try:
                waited = super().acquire(group, owner)
            except UNREACHABLE as exc:
                health.down(self.where, exc, self.unavailable_wait_s)
                outage = True
                elapsed = self._clock() - started
                if elapsed + delay > self.unavailable_wait_s:
                    raise LimiterUnavailableError(
                        f"shared rate limiter at {self.where} unreachable for {elapsed:.1f} s "
                        f"({type(exc).__name__}); {group} request not sent",
                        retry_after=max(delay, 1.0),
                    ) from None
                self._sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            health.up(self.where)
            return self._clock() - started if outage else waited

    def block(self, group: str, owner: str, seconds: float) -> None:
        # A block is advice on top of the window; while Redis is away nothing is admitted anyway.
        try:
            super().block(group, owner, seconds)
        except UNREACHABLE as exc:
            health.down(self.where, exc, self.unavailable_wait_s)

    def _try(self, bucket: str, limit: Limit, window_s: float) -> float:
        keys = [f"{self.prefix}:{bucket}", f"{self.prefix}:{bucket}:blocked"]
        args = [limit.max_requests, int(window_s * 1_000_000), uuid.uuid4().hex]
        wait_us = int(self._acquire(keys=keys, args=args))
        return wait_us / 1_000_000

    def _block(self, bucket: str, seconds: float) -> None:
        key = f"{self.prefix}:{bucket}:blocked"
        self._block_script(keys=[key], args=[max(1, int(seconds * 1000))])
