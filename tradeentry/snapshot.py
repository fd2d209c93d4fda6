"""The pre-trade snapshot: contract, book, balance and the candle-derived numbers a plan needs.

The shell reads the exchange and the candles here, once, so the planner stays a pure function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
#: Hourly candles of the whole previous day, read for its pivots.
PIVOT_HOURS = 24


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(float(value)))


def pivot_values(values: list[float | None]) -> Pivots | None:
    """Pivots from (p, r1, r2, r3, s1, s2, s3), None when any is undefined."""
    decimals = [_decimal(v) for v in values]
    if any(v is None for v in decimals):
        return None
    p, r1, r2, r3, s1, s2, s3 = decimals
    assert p and r1 and r2 and r3 and s1 and s2 and s3
    return Pivots(p=p, r1=r1, r2=r2, r3=r3, s1=s1, s2=s2, s3=s3)


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
    return pivot_values([tm.last_value(level) for level in ordered])


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
    numbers = read_market_numbers(
        candles,
        atr_timeframe=atr_timeframe,
        zone_timeframe=zone_timeframe,
        anchor=anchor,
        now_ms=now_ms,
    )
    return Snapshot(
        spec=spec,
        book=book,
        equity=balance.equity,
        available=balance.available,
        atr=numbers.atr,
        anchor=numbers.anchor,
        anchor_kind=numbers.anchor_kind,
        pivots=numbers.pivots,
        now_ms=now_ms,
        zone_atr=numbers.zone_atr,
    )


@dataclass(frozen=True)
class MarketNumbers:
    """What a plan reads from candles: ATRs, the entry-zone anchor and the daily pivots."""

    atr: Decimal | None
    zone_atr: Decimal | None
    anchor: Decimal | None
    anchor_kind: str
    pivots: Pivots | None


def market_numbers(
    atr: float | None,
    zone_atr: float | None,
    vwap: float | None,
    sma: float | None,
    pivots: Pivots | None,
    anchor: str,
) -> MarketNumbers:
    """The numbers as the planner takes them: decimals, the configured anchor first and the
    other one when it is missing."""
    vwap_d, sma_d = _decimal(vwap), _decimal(sma)
    if anchor == "vwap":
        value, kind = (vwap_d, "vwap") if vwap_d is not None else (sma_d, "sma21")
    else:
        value, kind = (sma_d, "sma21") if sma_d is not None else (vwap_d, "vwap")
    return MarketNumbers(
        atr=_decimal(atr),
        zone_atr=_decimal(zone_atr),
        anchor=value,
        anchor_kind=kind if value is not None else "none",
        pivots=pivots,
    )


def read_market_numbers(
    candles: CandleReader,
    *,
    atr_timeframe: Timeframe,
    zone_timeframe: Timeframe,
    anchor: str,
    now_ms: int,
) -> MarketNumbers:
    """Read exactly the candles the settled ATRs, SMA21, the day's VWAP and yesterday's
    pivots need at `now_ms`, and compute them."""
    atr_need = tm.settled_window(atr_timeframe.ms, tm.atr_settle())
    atr = tm.last_atr(candles(atr_timeframe, atr_need))
    zone_need = max(
        tm.settled_window(zone_timeframe.ms, tm.atr_settle()),
        tm.settled_window(zone_timeframe.ms, tm.SMA21_SETTLE),
        tm.day_window(zone_timeframe.ms, now_ms),
    )
    zone_candles = candles(zone_timeframe, zone_need)
    zone_atr = atr if zone_timeframe == atr_timeframe else tm.last_atr(zone_candles)
    hourly = candles(Timeframe.H1, PIVOT_HOURS + tm.day_window(Timeframe.H1.ms, now_ms))
    return market_numbers(
        atr,
        zone_atr,
        tm.day_vwap(zone_candles),
        tm.sma21(zone_candles),
        pivots_from(hourly) if len(hourly) else None,
        anchor,
    )
