"""Helpers for "last n bars" rules: shifts, slopes, runs of rises or falls, and crosses.

Comparisons involving NaN are False, so warm-up bars never trigger a rule.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from indicators._arrays import BoolArray, FloatArray, as_series, check_period, nans


def shift(series: npt.ArrayLike, n: int = 1) -> FloatArray:
    """The value `n` bars earlier (`out[t] = series[t-n]`); NaN for the first `n` bars."""
    k = check_period("shift", "n", n, minimum=0)
    x = as_series(series, "series")
    out = nans(len(x))
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def slope(series: npt.ArrayLike, lookback: int) -> FloatArray:
    """Average change per bar over `lookback` bars: `(s[t] - s[t-lookback]) / lookback`."""
    k = check_period("slope", "lookback", lookback)
    x = as_series(series, "series")
    out = nans(len(x))
    if k < len(x):
        out[k:] = (x[k:] - x[:-k]) / k
    return out


def increasing(series: npt.ArrayLike, n: int, strict: bool = True) -> BoolArray:
    """True at t when each of the last `n` steps rose: `s[t-n] < ... < s[t]`.

    With `strict=False` flat steps count too (`<=`). NaN steps never count.
    """
    return _run_of_steps("increasing", series, n, strict, rising=True)


def decreasing(series: npt.ArrayLike, n: int, strict: bool = True) -> BoolArray:
    """True at t when each of the last `n` steps fell: `s[t-n] > ... > s[t]`.

    With `strict=False` flat steps count too (`>=`). NaN steps never count.
    """
    return _run_of_steps("decreasing", series, n, strict, rising=False)


def crossed_above(a: npt.ArrayLike, b: npt.ArrayLike | float) -> BoolArray:
    """True at t when `a[t-1] <= b[t-1]` and `a[t] > b[t]`; `b` may be a constant level."""
    x, y = _pair("crossed_above", a, b)
    out = np.zeros(len(x), dtype=bool)
    out[1:] = (x[:-1] <= y[:-1]) & (x[1:] > y[1:])
    return out


def crossed_below(a: npt.ArrayLike, b: npt.ArrayLike | float) -> BoolArray:
    """True at t when `a[t-1] >= b[t-1]` and `a[t] < b[t]`; `b` may be a constant level."""
    x, y = _pair("crossed_below", a, b)
    out = np.zeros(len(x), dtype=bool)
    out[1:] = (x[:-1] >= y[:-1]) & (x[1:] < y[1:])
    return out


def _run_of_steps(
    owner: str, series: npt.ArrayLike, n: int, strict: bool, *, rising: bool
) -> BoolArray:
    k = check_period(owner, "n", n)
    x = as_series(series, "series")
    out = np.zeros(len(x), dtype=bool)
    if len(x) <= k:
        return out
    step = x[1:] - x[:-1] if rising else x[:-1] - x[1:]
    ok = step > 0 if strict else step >= 0
    # failed[i] = failing steps among the first i; a window of k steps is clean when the
    # count does not grow across it.
    failed = np.zeros(len(x), dtype=np.int64)
    np.cumsum(~ok, out=failed[1:])
    out[k:] = failed[k:] == failed[:-k]
    return out


def _pair(owner: str, a: npt.ArrayLike, b: npt.ArrayLike | float) -> tuple[FloatArray, FloatArray]:
    x = as_series(a, "a")
    y_in = np.asarray(b, dtype=np.float64)
    if y_in.ndim == 0:
        return x, np.full(len(x), float(y_in))
    y = as_series(y_in, "b")
    if len(y) != len(x):
        raise ValueError(f"{owner}: a and b must have the same length, got {len(x)} and {len(y)}")
    return x, y
