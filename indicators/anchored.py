"""Settled values that do not depend on how much history was loaded.

A recursive indicator (EMA, Wilder's RSI/ATR/ADX, MACD) remembers the bar it started from, and
even window sums kept as running totals carry the rounding of every bar before them: computed
over 300 or over 3000 candles, the value at the same bar differs. Decisions compare such values
with thresholds, so a replay holding a month of candles and a live cycle holding a few hundred
would not always decide alike.

Here the value at a bar is computed from its *anchor*: the latest bar number (open time divided
by the interval, counted since the epoch) that is a multiple of `step` and lies at least
`settle` bars back, bar included. The anchor is a function of the bar alone, so any series
holding the bars from the anchor on computes exactly the same value, bit for bit, however far
back it reaches. The window read is between `settle` and `settle + step - 1` candles; `step`
is an eighth of `settle` (and at least an hour of bars), so a full history is computed in
pieces whose total is about nine times its length.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indicators._arrays import FloatArray, IntArray, check_period, nans

HOUR_MS = 3_600_000

#: Values of the bars `[lo, hi)` of the series, from an index range.
Segment = Callable[[int, int], FloatArray]


def anchor_step(settle: int, interval_ms: int) -> int:
    """Bars between two anchors: an eighth of the settling length, at least an hour of bars."""
    check_period("anchor_step", "settle", settle)
    check_period("anchor_step", "interval_ms", interval_ms, maximum=2**62)
    return max(-(-settle // 8), -(-HOUR_MS // interval_ms), 1)


def anchor_of(bar: int, settle: int, step: int) -> int:
    """The anchor bar number of bar number `bar`."""
    return ((bar - settle + 1) // step) * step


def window_at(open_ms: int, interval_ms: int, settle: int) -> int:
    """Candles needed to compute the value of the bar opened at `open_ms` (it included)."""
    bar = open_ms // interval_ms
    return bar - anchor_of(bar, settle, anchor_step(settle, interval_ms)) + 1


def worst_window(interval_ms: int, settle: int) -> int:
    """The largest `window_at` of any bar: `settle + step - 1`."""
    return settle + anchor_step(settle, interval_ms) - 1


def windows(open_ms: IntArray, interval_ms: int, settle: int) -> IntArray:
    """`window_at` of many bars at once."""
    step = anchor_step(settle, interval_ms)
    bars = np.asarray(open_ms, dtype=np.int64) // interval_ms
    out: IntArray = bars - ((bars - settle + 1) // step) * step + 1
    return out


def anchored(segment: Segment, open_ms: IntArray, interval_ms: int, settle: int) -> FloatArray:
    """The settled value at every bar of a series (oldest first, strictly increasing open
    times): each computed by `segment` over the bars from its anchor. NaN where the anchor
    bar is not in the series (too little history before it, or a hole there)."""
    n = len(open_ms)
    out = nans(n)
    if n == 0:
        return out
    step = anchor_step(settle, interval_ms)
    bars = np.asarray(open_ms, dtype=np.int64) // interval_ms
    first, last = int(bars[0]), int(bars[-1])
    contiguous = last - first == n - 1
    start = -(-first // step) * step  # the first anchor inside the series
    for anchor in range(start, last - settle + 2, step):
        read_from, end = anchor + settle - 1, anchor + settle + step - 1
        if contiguous:
            lo, read_lo, hi = anchor - first, read_from - first, min(end - first, n)
        else:
            lo, read_lo, hi = (int(i) for i in np.searchsorted(bars, [anchor, read_from, end]))
            if lo >= n or bars[lo] != anchor:
                continue
        if read_lo >= hi:
            continue
        values = segment(lo, hi)[read_lo - lo :]
        if not contiguous:
            # A hole between the anchor and a bar leaves that bar without a settled value.
            broken = bars[read_lo:hi] - anchor != np.arange(read_lo - lo, hi - lo)
            values = np.where(broken, np.nan, values)
        out[read_lo:hi] = values
    return out


def anchored_last(segment: Segment, open_ms: IntArray, interval_ms: int, settle: int) -> float:
    """The settled value at the last bar (NaN when its anchor is not in the series): the same
    number `anchored` gives there, computed on one piece only."""
    n = len(open_ms)
    if n == 0:
        return float("nan")
    need = window_at(int(open_ms[-1]), interval_ms, settle)
    lo = n - need
    anchor_open = (int(open_ms[-1]) // interval_ms - need + 1) * interval_ms
    if lo < 0 or int(open_ms[lo]) != anchor_open:
        return float("nan")
    return float(segment(lo, n)[-1])
