"""The pre-trade snapshot: contract, book, balance and the candle-derived numbers a plan needs.

The shell reads the exchange and the candles here, once, so the planner stays a pure function.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import indicators as ind
from providers.candles import Candles
from providers.port import Exchange
from providers.timeframes import Timeframe
from tradeentry import metrics as tm
from tradeentry.model import Pivots, Snapshot

#: (timeframe, how many closed candles) -> candles closed at the decision time.
CandleReader = Callable[[Timeframe, int], Candles]

DAY_MS = 86_400_000


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value))


def pivots_from(candles: Candles) -> Pivots | None:
    """The previous UTC day's floor pivots, if the candles cover that day."""
    levels = ind.daily_floor_pivots(
        candles.open_time,
        candles.high,
        candles.low,
        candles.close,
        interval_ms=candles.timeframe.ms,
    )
    ordered = (levels.p, levels.r1, levels.r2, levels.r3, levels.s1, levels.s2, levels.s3)
    values = [_decimal(tm.last_value(level)) for level in ordered]
    if any(v is None for v in values):
        return None
    p, r1, r2, r3, s1, s2, s3 = values
    assert p and r1 and r2 and r3 and s1 and s2 and s3
    return Pivots(p=p, r1=r1, r2=r2, r3=r3, s1=s1, s2=s2, s3=s3)


def read_snapshot(
    exchange: Exchange,
    symbol: str,
    *,
    candles: CandleReader,
    atr_timeframe: Timeframe,
    zone_timeframe: Timeframe,
    anchor: str,
    now_ms: int,
) -> Snapshot:
    """Read what the planner may look at. Exchange failures propagate (nothing is assumed)."""
    spec = exchange.contract(symbol)
    book = exchange.top_of_book(symbol)
    balance = exchange.balance()
    atr = _decimal(tm.last_atr(candles(atr_timeframe, 300)))
    zone_candles = candles(zone_timeframe, max(300, DAY_MS // zone_timeframe.ms + 1))
    vwap = _decimal(tm.day_vwap(zone_candles))
    sma = _decimal(tm.sma21(zone_candles))
    zone_atr = atr if zone_timeframe == atr_timeframe else _decimal(tm.last_atr(zone_candles))
    # The zone anchor: the configured kind first, the other one when it is missing.
    if anchor == "vwap":
        value, kind = (vwap, "vwap") if vwap is not None else (sma, "sma21")
    else:
        value, kind = (sma, "sma21") if sma is not None else (vwap, "vwap")
    hourly = candles(Timeframe.H1, 2 * 24 + 1)
    return Snapshot(
        spec=spec,
        book=book,
        equity=balance.equity,
        available=balance.available,
        atr=atr,
        anchor=value,
        anchor_kind=kind if value is not None else "none",
        pivots=pivots_from(hourly) if len(hourly) else None,
        now_ms=now_ms,
        zone_atr=zone_atr,
    )
