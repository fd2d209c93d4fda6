"""Trade metrics a profile's execution selector may ask for, and the settled candle values the
planner's snapshot reads, as pure functions.

* `atr_bps` — ATR(14) / close in basis points.
* `entry_zone_width_pct` — width of the entry zone the planner would use: twice
  clamp(k·ATR, w_min·anchor, w_max·anchor), in percent of the anchor (VWAP of the day, else
  SMA21).
* `expected_r_multiple` — reward over risk of a trade entered at the close with a stop k·ATR
  away and a target at the nearest daily floor pivot beyond the entry (R1..R3 for a long,
  S1..S3 for a short; the pivot P counts when it is beyond the entry).

ATR and SMA21 are settled values computed from their anchor (`indicators.anchored`): the same
number whatever history the candles hold, so a plan from a live window and one from a
backtest's whole history agree. `settled_window` says how many candles that takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import indicators as ind
from providers.candles import Candles

ATR_PERIOD = 14
DAY_MS = 86_400_000


@dataclass(frozen=True)
class ZoneParams:
    k_atr: float = 0.35
    w_min: float = 0.0005
    w_max: float = 0.01


@dataclass(frozen=True)
class StopParams:
    atr_k: float = 1.5


def last_value(series: np.ndarray) -> float | None:
    """The last value of a series, None when empty or undefined."""
    if not len(series):
        return None
    value = float(series[-1])
    return value if math.isfinite(value) else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def atr_settle(period: int = ATR_PERIOD) -> int:
    return ind.settled_candles("atr", period=period)


SMA21_SETTLE = ind.settled_candles("sma", period=21)


def settled_window(interval_ms: int, settle: int) -> int:
    """Candles that always hold the anchor of the last one (`indicators.worst_window`): read
    this many, and the settled value is there whichever candle is the newest."""
    return ind.worst_window(interval_ms, settle)


def day_window(interval_ms: int, now_ms: int) -> int:
    """Candles closed at `now_ms` since 00:00 UTC of the last one's day."""
    last_open = (now_ms // interval_ms) * interval_ms - interval_ms
    return (last_open % DAY_MS) // interval_ms + 1


def last_atr(candles: Candles, period: int = ATR_PERIOD) -> float | None:
    """The settled ATR at the last candle (None without the candles from its anchor)."""

    def segment(lo: int, hi: int) -> np.ndarray:
        window = candles.window(lo, hi)
        return ind.atr(window.high, window.low, window.close, period)

    return _finite(
        ind.anchored_last(segment, candles.open_time, candles.timeframe.ms, atr_settle(period))
    )


def sma21(candles: Candles) -> float | None:
    """The settled SMA(21) of the close at the last candle."""

    def segment(lo: int, hi: int) -> np.ndarray:
        return ind.sma(candles.close[lo:hi], 21)

    return _finite(
        ind.anchored_last(segment, candles.open_time, candles.timeframe.ms, SMA21_SETTLE)
    )


def day_vwap(candles: Candles) -> float | None:
    """VWAP of the current UTC day, when the candles reach back to its start."""
    if not len(candles):
        return None
    day_start = int(candles.open_time[-1]) // DAY_MS * DAY_MS
    if int(candles.open_time[0]) > day_start:
        return None
    return last_value(
        ind.vwap_daily(candles.open_time, candles.high, candles.low, candles.close, candles.volume)
    )


def zone_anchor(candles: Candles) -> float | None:
    """VWAP of the UTC day when the candles reach back to its start, else SMA21."""
    vwap = day_vwap(candles)
    return vwap if vwap is not None else sma21(candles)


def atr_bps(atr: float | None, close: float | None) -> float | None:
    if atr is None or close is None or close <= 0:
        return None
    return atr / close * 10_000


def entry_zone_width_pct(
    atr: float | None, anchor: float | None, params: ZoneParams = ZoneParams()
) -> float | None:
    if atr is None or anchor is None or anchor <= 0:
        return None
    half = min(max(params.k_atr * atr, params.w_min * anchor), params.w_max * anchor)
    return 2 * half / anchor * 100


def pivot_levels(candles: Candles) -> list[float]:
    """The previous UTC day's floor pivots, read at the last candle (empty if unknown)."""
    if not len(candles):
        return []
    pivots = ind.daily_floor_pivots(
        candles.open_time,
        candles.high,
        candles.low,
        candles.close,
        interval_ms=candles.timeframe.ms,
    )
    values = [last_value(np.asarray(level)) for level in pivots]
    return sorted(v for v in values if v is not None)


def expected_r_multiple(
    entry: float | None,
    atr: float | None,
    side: str,
    levels: list[float],
    stop: StopParams = StopParams(),
) -> float | None:
    """Distance to the nearest pivot beyond the entry over the stop distance."""
    if entry is None or atr is None or atr <= 0 or not levels:
        return None
    risk = stop.atr_k * atr
    beyond = (
        [v for v in levels if v > entry] if side == "long" else [v for v in levels if v < entry]
    )
    if not beyond:
        return None
    target = min(beyond) if side == "long" else max(beyond)
    return abs(target - entry) / risk
