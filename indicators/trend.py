"""Trend: MACD and Wilder's directional movement (ADX, +DI, -DI), from TA-Lib.

MACD's signal line is an EMA of the MACD line seeded, like every TA-Lib EMA, with an SMA,
so the line, signal and histogram are all first defined at bar `slow + signal - 2`.
ADX is first defined at bar `2 * period - 1` (one Wilder average of DX, which itself needs
`period` bars of smoothed directional movement); +DI and -DI at bar `period`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy.typing as npt
import talib

from indicators._arrays import FloatArray, as_columns, as_series, check_period


class MACD(NamedTuple):
    line: FloatArray
    signal: FloatArray
    hist: FloatArray


class DirectionalMovement(NamedTuple):
    adx: FloatArray
    plus_di: FloatArray
    minus_di: FloatArray


def macd(close: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> MACD:
    """EMA(fast) - EMA(slow), its EMA(signal), and their difference (histogram)."""
    f = check_period("macd", "fast", fast, minimum=2)
    s = check_period("macd", "slow", slow, minimum=2)
    g = check_period("macd", "signal", signal)
    if f >= s:
        # TA-Lib would silently swap them; a swapped configuration is a mistake upstream.
        raise ValueError(f"macd: fast must be < slow, got fast={f}, slow={s}")
    x = as_series(close, "close")
    line, sig, hist = talib.MACD(x, fastperiod=f, slowperiod=s, signalperiod=g)
    return MACD(line=line, signal=sig, hist=hist)


def adx(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> DirectionalMovement:
    """ADX, +DI and -DI (0..100) with Wilder smoothing over `period` bars."""
    p = check_period("adx", "period", period, minimum=2)
    h, lo, c = as_columns(high=high, low=low, close=close)
    return DirectionalMovement(
        adx=talib.ADX(h, lo, c, timeperiod=p),
        plus_di=talib.PLUS_DI(h, lo, c, timeperiod=p),
        minus_di=talib.MINUS_DI(h, lo, c, timeperiod=p),
    )
