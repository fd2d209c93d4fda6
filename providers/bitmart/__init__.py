"""Bitmart USDT-M perpetual futures: the REST client and the exchange adapter.

`BitmartClient` speaks the wire protocol (one typed method per endpoint); `BitmartExchange`
implements `providers.port.Exchange` on top of it. All I/O goes through one `httpx.Client`
whose transport can be swapped; requests are paced by a `RateLimiter` shared by every worker
process (`RedisRateLimiter`) or local to one (`InMemoryRateLimiter`).
"""

from providers.bitmart.client import BitmartClient
from providers.bitmart.credentials import Credentials
from providers.bitmart.exchange import BitmartExchange
from providers.bitmart.ratelimit import InMemoryRateLimiter, RateLimiter
from providers.bitmart.redis_limiter import RedisRateLimiter
from providers.bitmart.retry import RetryPolicy

__all__ = [
    "BitmartClient",
    "BitmartExchange",
    "Credentials",
    "InMemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "RetryPolicy",
]
