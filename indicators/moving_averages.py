"""Simple and exponential moving averages (TA-Lib).

EMA seeding follows TA-Lib: the first value, at bar `period - 1`, is the SMA of the first
`period` values; after that `ema[t] = ema[t-1] + alpha * (x[t] - ema[t-1])` with
`alpha = 2 / (period + 1)`. Implementations seeded with the first value instead (pandas
`ewm(adjust=False)`, the `ta` library) differ from this one by `gap * (1 - alpha)**k` after
`k` further bars, where `gap` is at most the range of the first `period` values. Agreeing
within a relative `tol` therefore takes `k >= ln(tol * price / gap) / ln(1 - alpha)` bars:
for EMA(200) (`1 - alpha = 0.99005`) and a seed gap of 1 % of price, 1e-6 needs ~920 bars,
far more than the 200 bars of the nominal period.
"""

from __future__ import annotations

import numpy.typing as npt
import talib

from indicators._arrays import FloatArray, as_series, check_period


def sma(series: npt.ArrayLike, period: int) -> FloatArray:
    """Simple moving average; NaN for the first `period - 1` bars."""
    p = check_period("sma", "period", period)
    x = as_series(series, "series")
    return talib.SMA(x, timeperiod=p)


def ema(series: npt.ArrayLike, period: int) -> FloatArray:
    """Exponential moving average seeded with the SMA of the first `period` values."""
    p = check_period("ema", "period", period)
    x = as_series(series, "series")
    return talib.EMA(x, timeperiod=p)
