"""Technical indicators over candle columns.

Every function takes 1-D arrays ordered oldest first (anything numpy can turn into float64;
open times as integer epoch milliseconds) and returns arrays of the same length, with NaN
where the value is not defined yet (warm-up). Multi-line indicators return a NamedTuple of
arrays. Standard indicators come from TA-Lib; VWAPs, volume ratio, pivots and the rule
helpers are vectorised numpy. `required_candles(name, **params)` gives the warm-up of each,
`settled_candles(name, **params)` the history after which its seed no longer matters, and
`indicators.anchored` computes settled values that do not depend on the history loaded.
"""

from indicators._arrays import BoolArray, FloatArray, IntArray
from indicators.anchored import anchored, anchored_last, window_at, worst_window
from indicators.momentum import FLAT_RSI_RANGE, StochRSI, rsi, stoch_rsi
from indicators.moving_averages import ema, sma
from indicators.pivots import FloorPivots, daily_floor_pivots, floor_pivots
from indicators.requirements import (
    INDICATORS,
    SETTLE_TOLERANCE,
    required_candles,
    settled_candles,
)
from indicators.series import (
    crossed_above,
    crossed_below,
    decreasing,
    increasing,
    shift,
    slope,
)
from indicators.trend import MACD, DirectionalMovement, adx, macd
from indicators.volatility import BollingerBands, atr, bollinger, true_range
from indicators.volume import typical_price, volume_ratio, vwap_daily, vwap_rolling

__all__ = [
    "FLAT_RSI_RANGE",
    "INDICATORS",
    "MACD",
    "SETTLE_TOLERANCE",
    "BollingerBands",
    "BoolArray",
    "DirectionalMovement",
    "FloatArray",
    "FloorPivots",
    "IntArray",
    "StochRSI",
    "adx",
    "anchored",
    "anchored_last",
    "atr",
    "bollinger",
    "crossed_above",
    "crossed_below",
    "daily_floor_pivots",
    "decreasing",
    "ema",
    "floor_pivots",
    "increasing",
    "macd",
    "required_candles",
    "rsi",
    "settled_candles",
    "shift",
    "slope",
    "sma",
    "stoch_rsi",
    "true_range",
    "typical_price",
    "volume_ratio",
    "vwap_daily",
    "vwap_rolling",
    "window_at",
    "worst_window",
]
