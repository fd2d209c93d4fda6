"""Window sums and means over the previous bars, without Python loops over bars."""

from __future__ import annotations

import numpy as np

from indicators._arrays import FloatArray, nans


def prefix_sums(values: FloatArray) -> FloatArray:
    """`out[i]` = sum of `values[:i]`; `len(out) == len(values) + 1`.

    Window sums taken as differences of these are exactly 0.0 over an all-zero window
    (adding 0.0 never changes a float), which lets callers detect "no volume" reliably;
    a running add/subtract total such as TA-Lib's SUM leaves rounding residue instead.
    """
    out = np.empty(len(values) + 1)
    out[0] = 0.0
    np.cumsum(values, out=out[1:])
    return out


def rolling_sum(values: FloatArray, window: int) -> FloatArray:
    """Sum of the `window` values ending at each bar; NaN before the window fills."""
    out = nans(len(values))
    if len(values) >= window:
        sums = prefix_sums(values)
        out[window - 1 :] = sums[window:] - sums[:-window]
    return out


def local_rolling_mean(values: FloatArray, window: int) -> FloatArray:
    """Mean of the `window` values ending at each bar.

    A NaN only spoils the windows that contain it, unlike TA-Lib's SMA whose running
    total stays NaN for the rest of the series. The loop runs over the window, not the bars.
    """
    n = len(values)
    out = nans(n)
    if n < window:
        return out
    total = values[window - 1 :].copy()
    for lag in range(1, window):
        total += values[window - 1 - lag : n - lag]
    out[window - 1 :] = total / window
    return out
