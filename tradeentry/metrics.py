"""Trade metrics a profile's execution selector may ask for, as pure functions of candles.

* `atr_bps` — ATR(14) / close in basis points.
* `entry_zone_width_pct` — width of the entry zone the planner would use: twice
  clamp(k·ATR, w_min·anchor, w_max·anchor), in percent of the anchor (VWAP of the day, else
  SMA21).
* `expected_r_multiple` — reward over risk of a trade entered at the close with a stop k·ATR
  away and a target at the nearest daily floor pivot beyond the entry (R1..R3 for a long,
  S1..S3 for a short; the pivot P counts when it is beyond the entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import indicators as ind
from providers.candles import Candles


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


def last_atr(candles: Candles, period: int = 14) -> float | None:
    if len(candles) < ind.required_candles("atr", period=period):
        return None
    return last_value(ind.atr(candles.high, candles.low, candles.close, period))


def atr_bps(candles: Candles) -> float | None:
    atr = last_atr(candles)
    return None if atr is None else atr / float(candles.close[-1]) * 10_000


def day_vwap(candles: Candles) -> float | None:
    """VWAP of the current UTC day, when the candles reach back to its start."""
    if not len(candles):
        return None
    day_start = int(candles.open_time[-1]) // 86_400_000 * 86_400_000
    if int(candles.open_time[0]) > day_start:
        return None
    return last_value(
        ind.vwap_daily(candles.open_time, candles.high, candles.low, candles.close, candles.volume)
    )


def sma21(candles: Candles) -> float | None:
    return last_value(ind.sma(candles.close, 21)) if len(candles) >= 21 else None


def zone_anchor(candles: Candles) -> float | None:
    """VWAP of the UTC day when the candles reach back to its start, else SMA21."""
    vwap = day_vwap(candles)
    return vwap if vwap is not None else sma21(candles)


def entry_zone_width_pct(candles: Candles, params: ZoneParams = ZoneParams()) -> float | None:
    atr, anchor = last_atr(candles), zone_anchor(candles)
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
    candles: Candles, side: str, levels: list[float], stop: StopParams = StopParams()
) -> float | None:
    """Distance to the nearest pivot beyond the entry over the stop distance."""
    atr = last_atr(candles)
    if atr is None or atr <= 0 or not levels:
        return None
    entry = float(candles.close[-1])
    risk = stop.atr_k * atr
    beyond = (
        [v for v in levels if v > entry] if side == "long" else [v for v in levels if v < entry]
    )
    if not beyond:
        return None
    target = min(beyond) if side == "long" else max(beyond)
    return abs(target - entry) / risk
