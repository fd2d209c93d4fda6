"""The clock of shared decisions: candle closure, staleness, leases, the trading day and
cool-downs.

Every process reads time here rather than from its own wall clock, so hosts whose clocks
disagree still agree on which candle has closed or which lease has expired: `now_ms()` is this
host's wall clock corrected by an offset measured against the cluster's reference clock (set by
`set_offset_ms`). Pure code never calls it; it takes `as_of` as an input.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

_offset_ms = 0


def wall_ms() -> int:
    """This host's own wall clock, in epoch milliseconds (for durations and diagnostics)."""
    return int(time.time() * 1000)


def now_ms() -> int:
    """The reference time in epoch milliseconds."""
    return wall_ms() + _offset_ms


def now() -> datetime:
    """The reference time as an aware UTC datetime."""
    return datetime.fromtimestamp(now_ms() / 1000, tz=UTC)


def offset_ms() -> int:
    """How far the reference clock is ahead of this host's wall clock."""
    return _offset_ms


def set_offset_ms(offset: int) -> None:
    """Correct this process's reading of the reference clock by `offset` milliseconds."""
    global _offset_ms
    _offset_ms = int(offset)
