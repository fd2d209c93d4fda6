"""Momentum oscillators: RSI (Wilder, TA-Lib) and Stochastic RSI.

Stochastic RSI follows the TradingView definition, which the `ta` library also uses (there
scaled 0..1): the stochastic of the RSI over `stoch_period` bars,
`raw = 100 * (rsi - min(rsi)) / (max(rsi) - min(rsi))`, then `%K = SMA(raw, k_smoothing)`
and `%D = SMA(%K, d_smoothing)`, all on a 0..100 scale. TA-Lib's STOCHRSI differs: its
fast %K is the unsmoothed `raw` and its zero-range convention is 0.

Two conventions differ from TA-Lib on degenerate input:

* RSI is 50 (neutral) while no price has moved since the first bar; TA-Lib reports 0 then,
  which would read as "oversold" on a freshly listed or halted contract.
* When the RSI window is flat (range at most `FLAT_RSI_RANGE`), the stochastic is 0/0:
  `raw` is NaN there, and so are the %K and %D windows that contain it. Testing the range
  against exactly 0 would not do: with unchanged prices Wilder's averages both decay by
  the same factor, so the RSI only wobbles in its last bits (~1e-14) and the stochastic of
  that wobble is noise anywhere in 0..100. Unchanged closes over a few bars are common on
  1m candles, so short stochastic windows meet this often.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import talib

from indicators._arrays import FloatArray, as_series, check_period, nans
from indicators._rolling import local_rolling_mean

#: RSI ranges at or below this (in RSI points) count as flat for the Stochastic RSI.
FLAT_RSI_RANGE = 1e-9


class StochRSI(NamedTuple):
    """%K and %D of the Stochastic RSI, 0..100."""

    k: FloatArray
    d: FloatArray


def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's RSI, 0..100; NaN for the first `period` bars; 50 until a price moves."""
    p = check_period("rsi", "period", period, minimum=2)
    x = as_series(close, "close")
    out = talib.RSI(x, timeperiod=p)
    zero = out == 0.0
    if zero.any():
        # NaN steps (leading warm-up of an input series) are not moves.
        moved = np.abs(np.diff(x)) > 0
        unmoved = np.ones(len(x), dtype=bool)
        unmoved[1:] = ~np.logical_or.accumulate(moved)
        out[unmoved & zero] = 50.0
    return out


def stoch_rsi(
    close: npt.ArrayLike,
    rsi_period: int = 14,
    stoch_period: int = 14,
    k_smoothing: int = 3,
    d_smoothing: int = 3,
) -> StochRSI:
    """Stochastic RSI (TradingView definition, 0..100); see the module docstring."""
    check_period("stoch_rsi", "rsi_period", rsi_period, minimum=2)
    w = check_period("stoch_rsi", "stoch_period", stoch_period, minimum=2)
    sk = check_period("stoch_rsi", "k_smoothing", k_smoothing)
    sd = check_period("stoch_rsi", "d_smoothing", d_smoothing)
    r = rsi(close, rsi_period)
    lowest = talib.MIN(r, timeperiod=w)
    span = talib.MAX(r, timeperiod=w) - lowest
    raw = np.divide(100.0 * (r - lowest), span, out=nans(len(r)), where=span > FLAT_RSI_RANGE)
    k = local_rolling_mean(raw, sk)
    return StochRSI(k=k, d=local_rolling_mean(k, sd))
