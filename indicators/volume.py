"""Volume-weighted prices and relative volume, written in vectorised numpy.

Both VWAPs weight the typical price `(high + low + close) / 3` by volume. Where the volume
summed over the anchor period is 0 there is no traded price to average, so the VWAP is NaN
there (a day that starts with zero-volume bars gets its first value at its first traded bar).

The daily VWAP sums each day from its first bar, so its value never depends on earlier days.
Rolling window sums are differences of running totals over the whole input, so their rounding
grows with its length (about 1e-13 relative on 500 candles); the rule engine computes them from
a fixed anchor (`indicators.anchored`), which makes them independent of the history loaded.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from indicators._arrays import (
    FloatArray,
    as_columns,
    as_open_times,
    check_non_negative,
    check_period,
    nans,
)
from indicators._days import day_runs
from indicators._rolling import prefix_sums, rolling_sum


def typical_price(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """(high + low + close) / 3."""
    h, lo, c = as_columns(high=high, low=low, close=close)
    out: FloatArray = (h + lo + c) / 3.0
    return out


def vwap_daily(
    open_time_ms: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
) -> FloatArray:
    """VWAP anchored at 00:00 UTC: cumulative from the first bar of each UTC day.

    A bar belongs to the day of its open time. Only the bars present are summed, so a
    series that starts mid-day yields the VWAP of that partial day.
    """
    h, lo, c, v = as_columns(high=high, low=low, close=close, volume=volume)
    check_non_negative("volume", v)
    times = as_open_times(open_time_ms, len(v))
    runs = day_runs(times)
    weighted = (h + lo + c) / 3.0 * v
    pv, vol = np.empty(len(v)), np.empty(len(v))
    # Running sums restart each day, so a day's values never depend on the bars before it
    # (differences of one running total would carry their rounding into every later day).
    for first, size in zip(runs.first.tolist(), runs.size.tolist(), strict=True):
        np.cumsum(weighted[first : first + size], out=pv[first : first + size])
        np.cumsum(v[first : first + size], out=vol[first : first + size])
    return _ratio(pv, vol)


def vwap_rolling(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    window: int = 14,
) -> FloatArray:
    """VWAP over the last `window` bars (the `ta` library's VWAP); NaN before that."""
    w = check_period("vwap_rolling", "window", window)
    h, lo, c, v = as_columns(high=high, low=low, close=close, volume=volume)
    check_non_negative("volume", v)
    return _ratio(rolling_sum((h + lo + c) / 3.0 * v, w), rolling_sum(v, w))


def volume_ratio(volume: npt.ArrayLike, window: int = 20) -> FloatArray:
    """volume[t] / mean(volume[t-window : t]): this bar against the `window` bars before it.

    NaN for the first `window` bars and where those bars traded nothing (mean 0).
    """
    w = check_period("volume_ratio", "window", window)
    v = as_columns(volume=volume)[0]
    check_non_negative("volume", v)
    out = nans(len(v))
    if len(v) > w:
        sums = prefix_sums(v)
        previous = sums[w:-1] - sums[: -w - 1]
        out[w:] = _ratio(v[w:] * w, previous)
    return out


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator where the denominator is > 0, else NaN."""
    out = nans(len(numerator))
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out
