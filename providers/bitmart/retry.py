"""When and how long to wait before sending a failed request again.

Retried, with exponential backoff and full jitter, for a bounded number of attempts:

* rate refusals (429 / 30013 / 40013) — the exchange did nothing, so every request may be
  resent; the wait is at least what the exchange asked for (the rate-limit window), and bans
  (418 / 30017) wait much longer;
* connection failures before anything was sent — always safe;
* timeouts, 5xx, 503 and bodies that are not a JSON envelope — the exchange may have acted,
  so these are resent only for idempotent calls: reads, cancels, leverage and mode settings,
  the dead man's switch, TP/SL modification, and submits that carry a client order id (a copy
  the exchange already took is refused with 40050, which the adapter turns into the existing
  order). Plan orders carry no client id and are never resent after an ambiguous failure.

Business errors (4xx codes: invalid order, balance, auth, not found) are never retried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from providers.bitmart.errors import BanError, NotSentError, ServiceUnavailableError
from providers.port import ExchangeError, RateLimitError, TransientError


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` counts the first try; delays in seconds."""

    attempts: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 5.0
    ban_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.ban_delay_s < 0:
            raise ValueError("retry delays must not be negative")

    def should_retry(self, error: ExchangeError, attempt: int, *, idempotent: bool) -> bool:
        """Whether attempt number `attempt` (1-based) that failed with `error` gets another."""
        if attempt >= self.attempts:
            return False
        if isinstance(error, RateLimitError | NotSentError):
            return True
        if isinstance(error, TransientError | ServiceUnavailableError):
            return idempotent
        return False

    def delay(self, error: ExchangeError, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt `attempt`: full jitter, floored by what a
        rate refusal asked for."""
        pick = (rng or random).uniform
        backoff = pick(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))
        if isinstance(error, BanError):
            return max(error.retry_after, self.ban_delay_s) + backoff
        if isinstance(error, RateLimitError):
            return error.retry_after + backoff
        return backoff


NO_RETRY = RetryPolicy(attempts=1)
