"""Classic floor pivots, and per-bar pivots from the previous complete UTC day.

`P = (H + L + C) / 3`, `R1 = 2P - L`, `S1 = 2P - H`, `R2 = P + (H - L)`, `S2 = P - (H - L)`,
`R3 = H + 2(P - L)`, `S3 = L - 2(H - P)`, where H, L, C are the previous day's high, low
and close.

For intraday series a day counts as *present* only when every one of its candles is in
the input: `86_400_000 / interval_ms` candles with open times from 00:00 UTC to the last
slot of the day. A bar gets the pivots of the UTC day immediately before its own (by open
time); when that day is absent or only partly present (the series starts mid-day, or has a
gap) the bar's pivots are NaN rather than levels computed from a partial range.
"""

from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from indicators._arrays import FloatArray, as_columns, as_open_times, check_period
from indicators._days import DAY_MS, day_runs

T = TypeVar("T", float, FloatArray)


class FloorPivots(NamedTuple, Generic[T]):
    p: T
    r1: T
    s1: T
    r2: T
    s2: T
    r3: T
    s3: T


def floor_pivots(high: T, low: T, close: T) -> FloorPivots[T]:
    """Floor pivot levels from one period's high, low and close (floats or arrays)."""
    inverted = np.asarray(high) < np.asarray(low)
    if np.any(inverted):
        where = "" if inverted.ndim == 0 else f" at row {int(np.argmax(inverted))}"
        raise ValueError(f"floor_pivots: high must be >= low{where}")
    p = (high + low + close) / 3.0
    spread = high - low
    return FloorPivots(
        p=p,
        r1=2.0 * p - low,
        s1=2.0 * p - high,
        r2=p + spread,
        s2=p - spread,
        r3=high + 2.0 * (p - low),
        s3=low - 2.0 * (high - p),
    )


def daily_floor_pivots(
    open_time_ms: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    interval_ms: int,
) -> FloorPivots[FloatArray]:
    """Per-bar floor pivots of the previous complete UTC day (see the module docstring).

    `interval_ms` is the candle length; it must divide a day and every open time must be
    aligned to it, so that "all of the day's candles are present" is a simple count.
    """
    step = check_period("daily_floor_pivots", "interval_ms", interval_ms, maximum=DAY_MS)
    if DAY_MS % step:
        raise ValueError(
            f"daily_floor_pivots: interval_ms must divide a day ({DAY_MS} ms), got {step}"
        )
    h, lo, c = as_columns(high=high, low=low, close=close)
    times = as_open_times(open_time_ms, len(c))
    misaligned = times % step != 0
    if misaligned.any():
        i = int(np.argmax(misaligned))
        raise ValueError(
            f"daily_floor_pivots: open time {int(times[i])} (row {i}) is not a multiple of "
            f"interval_ms={step}"
        )
    n = len(c)
    if n == 0:
        empty = np.empty(0)
        return FloorPivots(empty, empty, empty, empty, empty, empty, empty)
    runs = day_runs(times)
    day_high = np.maximum.reduceat(h, runs.first)
    day_low = np.minimum.reduceat(lo, runs.first)
    day_close = c[runs.first + runs.size - 1]
    complete = runs.size == DAY_MS // step
    # Run g can use run g-1 only if that is the calendar day just before and complete.
    usable = np.zeros(len(runs.day), dtype=bool)
    usable[1:] = (runs.day[1:] - runs.day[:-1] == 1) & complete[:-1]
    previous = [
        np.concatenate(([np.nan], np.where(usable[1:], values[:-1], np.nan)))
        for values in (day_high, day_low, day_close)
    ]
    levels = floor_pivots(*previous)
    return FloorPivots(*(np.repeat(level, runs.size) for level in levels))
