"""Bitmart's clock, for the `X-BM-TIMESTAMP` of signed requests.

The exchange refuses a signed request whose timestamp is more than about a minute from its own
clock (code 30007). `ServerTime` reads this host's clock corrected by an offset measured against
`GET /system/time` (midpoint of the round trip), re-measured every `every_s` and as soon as the
exchange refuses a timestamp. If the exchange's time cannot be read, the last offset (at first:
none) is kept and the measurement is tried again a little later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from providers.port import ExchangeError

log = logging.getLogger("providers.bitmart")

RETRY_FAILED_S = 30.0


class ServerTime:
    """`now()` in epoch seconds on the exchange's clock."""

    def __init__(
        self,
        fetch_ms: Callable[[], int],
        *,
        base: Callable[[], float] = time.time,
        every_s: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_ms = fetch_ms
        self._base = base
        self._every_s = every_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.offset_s = 0.0
        self._next_sync = float("-inf")

    def now(self) -> float:
        if self._monotonic() >= self._next_sync:
            self.sync()
        return self._base() + self.offset_s

    def sync(self) -> None:
        """Measure the offset now (a failure keeps the last one and retries in 30 s)."""
        with self._lock:
            sent = self._base()
            try:
                server_ms = self._fetch_ms()
            except ExchangeError as exc:
                self._next_sync = self._monotonic() + RETRY_FAILED_S
                log.warning("Bitmart server time unavailable (%s); keeping offset", exc)
                return
            received = self._base()
            self.offset_s = server_ms / 1000 - (sent + received) / 2
            self._next_sync = self._monotonic() + self._every_s
            if abs(self.offset_s) > 1.0:
                log.info(
                    "Bitmart clock is %+.3f s from this host's; timestamps follow it", self.offset_s
                )

    def invalidate(self) -> None:
        """Measure again before the next timestamp (the exchange refused one)."""
        self._next_sync = float("-inf")
