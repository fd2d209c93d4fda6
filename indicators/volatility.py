"""Volatility: True Range, ATR (Wilder) and Bollinger Bands (TA-Lib).

ATR starts at bar `period` with the mean of the true ranges of bars 1..period (bar 0 has
no previous close), then smooths with `alpha = 1 / period`. Bollinger Bands use the
population standard deviation (ddof=0) of the last `period` closes, as Bollinger defined.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy.typing as npt
import talib

from indicators._arrays import FloatArray, as_columns, as_series, check_period, check_positive


class BollingerBands(NamedTuple):
    upper: FloatArray
    middle: FloatArray
    lower: FloatArray


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """max(high, previous close) - min(low, previous close); NaN at bar 0."""
    h, lo, c = as_columns(high=high, low=low, close=close)
    return talib.TRANGE(h, lo, c)


def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Wilder's Average True Range; NaN for the first `period` bars."""
    p = check_period("atr", "period", period)
    h, lo, c = as_columns(high=high, low=low, close=close)
    return talib.ATR(h, lo, c, timeperiod=p)


def bollinger(close: npt.ArrayLike, period: int = 20, deviations: float = 2.0) -> BollingerBands:
    """SMA(`period`) ± `deviations` population standard deviations."""
    p = check_period("bollinger", "period", period, minimum=2)
    k = check_positive("bollinger", "deviations", deviations)
    x = as_series(close, "close")
    upper, middle, lower = talib.BBANDS(
        x, timeperiod=p, nbdevup=k, nbdevdn=k, matype=talib.MA_Type.SMA
    )
    return BollingerBands(upper=upper, middle=middle, lower=lower)
