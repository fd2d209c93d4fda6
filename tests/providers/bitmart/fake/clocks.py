"""The two clocks of the fake: the simulated market's and the wall clock that auth and rate
limits read. They are separate so that a test can replay 2023 candles while clients sign
requests with today's time."""

from __future__ import annotations

import threading
import time


def real_ms() -> int:
    return time.time_ns() // 1_000_000


class MarketClock:
    """Simulated time in epoch ms: stands still unless set or advanced, or runs at `speed`."""

    def __init__(self, start_ms: int) -> None:
        self._lock = threading.Lock()
        self._base = start_ms
        self._speed: float | None = None
        self._since = 0

    def now(self) -> int:
        with self._lock:
            return self._now()

    def _now(self) -> int:
        if self._speed is None:
            return self._base
        return self._base + int((real_ms() - self._since) * self._speed)

    def set(self, ms: int) -> None:
        with self._lock:
            self._base, self._since = ms, real_ms()

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError(f"cannot advance by a negative duration ({ms} ms)")
        with self._lock:
            self._base, self._since = self._now() + ms, real_ms()

    def run(self, speed: float = 1.0) -> None:
        """Let simulated time flow `speed` times as fast as real time."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        with self._lock:
            self._base, self._since, self._speed = self._now(), real_ms(), speed

    def pause(self) -> None:
        with self._lock:
            self._base, self._speed = self._now(), None


class WallClock:
    """Real time, unless a test pins it (`set`) or shifts it (`advance` while real)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pinned: int | None = None
        self._offset = 0

    def now(self) -> int:
        with self._lock:
            return self._pinned if self._pinned is not None else real_ms() + self._offset

    def set(self, ms: int) -> None:
        with self._lock:
            self._pinned = ms

    def advance(self, ms: int) -> None:
        with self._lock:
            if self._pinned is not None:
                self._pinned += ms
            else:
                self._offset += ms

    def release(self) -> None:
        """Back to real time."""
        with self._lock:
            self._pinned, self._offset = None, 0
