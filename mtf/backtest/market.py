"""What the simulation knows of one symbol's market (pure): its 1m bars, the quote and the
plan's candle numbers at any decision minute.

The numbers a plan reads (settled ATRs, SMA21, the day's VWAP, yesterday's hourly pivots) are
computed once over the whole history from their anchors, then read at each minute: the same
floats `tradeentry.snapshot.read_market_numbers` computes from a live window
(`tests/backtest/test_market.py` holds them to it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

import indicators as ind
from providers.candles import Candles
from providers.paper.quotes import Bar, dec, top_of_book
from providers.timeframes import Timeframe
from providers.types import ContractSpec, TopOfBook
from tradeentry import metrics as tm
from tradeentry.snapshot import MarketNumbers, market_numbers, pivot_values

DAY_MS = 86_400_000


def _last_closed(open_time: np.ndarray, interval_ms: int, moment_ms: int) -> int:
    """Index of the newest candle closed at `moment_ms` (-1: none)."""
    return int(np.searchsorted(open_time, moment_ms - interval_ms, side="right")) - 1


@dataclass
class _Column:
    candles: Candles
    values: np.ndarray

    def __post_init__(self) -> None:
        times = self.candles.open_time
        self._first = int(times[0]) if len(times) else 0
        self._contiguous = bool(
            len(times) and int(times[-1]) - self._first == (len(times) - 1) * self.step
        )

    @property
    def step(self) -> int:
        return self.candles.timeframe.ms

    def index(self, moment_ms: int) -> int:
        if self._contiguous:
            return min((moment_ms - self.step - self._first) // self.step, len(self.values) - 1)
        return _last_closed(self.candles.open_time, self.step, moment_ms)

    def at(self, moment_ms: int) -> float | None:
        i = self.index(moment_ms)
        if i < 0:
            return None
        value = float(self.values[i])
        return value if value == value and value not in (np.inf, -np.inf) else None


def _atr_column(candles: Candles) -> np.ndarray:
    def segment(lo: int, hi: int) -> np.ndarray:
        w = candles.window(lo, hi)
        return ind.atr(w.high, w.low, w.close, tm.ATR_PERIOD)

    return ind.anchored(segment, candles.open_time, candles.timeframe.ms, tm.atr_settle())


def _sma21_column(candles: Candles) -> np.ndarray:
    def segment(lo: int, hi: int) -> np.ndarray:
        return ind.sma(candles.close[lo:hi], 21)

    return ind.anchored(segment, candles.open_time, candles.timeframe.ms, tm.SMA21_SETTLE)


def _vwap_column(candles: Candles) -> np.ndarray:
    """The day's VWAP where the candles reach back to that day's start (else NaN), as
    `tradeentry.metrics.day_vwap` requires of a window."""
    if not len(candles):
        return np.empty(0)
    values = ind.vwap_daily(
        candles.open_time, candles.high, candles.low, candles.close, candles.volume
    )
    day_start = candles.open_time // DAY_MS * DAY_MS
    return np.where(day_start >= candles.open_time[0], values, np.nan)


@dataclass
class SymbolMarket:
    """One symbol's contract, 1m bars and plan numbers over the backtest's history."""

    spec: ContractSpec
    bars: Candles  # 1m, oldest first
    spread_bps: Decimal
    atr: dict[Timeframe, _Column] = field(default_factory=dict)
    sma21: dict[Timeframe, _Column] = field(default_factory=dict)
    vwap: dict[Timeframe, _Column] = field(default_factory=dict)
    pivots: tuple[_Column, ...] = ()

    @classmethod
    def build(
        cls,
        spec: ContractSpec,
        candles: Mapping[Timeframe, Candles],
        spread_bps: Decimal,
        *,
        atr_timeframes: Iterable[Timeframe],
        zone_timeframe: Timeframe,
    ) -> SymbolMarket:
        """`candles` must hold 1m, 1h and every timeframe named here."""
        market = cls(spec, candles[Timeframe.M1], spread_bps)
        for tf in {*atr_timeframes, zone_timeframe}:
            market.atr[tf] = _Column(candles[tf], _atr_column(candles[tf]))
        zone = candles[zone_timeframe]
        market.sma21[zone_timeframe] = _Column(zone, _sma21_column(zone))
        market.vwap[zone_timeframe] = _Column(zone, _vwap_column(zone))
        hourly = candles[Timeframe.H1]
        levels = ind.daily_floor_pivots(
            hourly.open_time, hourly.high, hourly.low, hourly.close, interval_ms=Timeframe.H1.ms
        )
        market.pivots = tuple(
            _Column(hourly, np.asarray(level, dtype=np.float64))
            for level in (
                levels.p,
                levels.r1,
                levels.r2,
                levels.r3,
                levels.s1,
                levels.s2,
                levels.s3,
            )
        )
        return market

    # --- bars ---------------------------------------------------------------------------------

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    def bar_index(self, moment_ms: int) -> int:
        """Index of the 1m bar closed at `moment_ms` (-1: none)."""
        return _last_closed(self.bars.open_time, Timeframe.M1.ms, moment_ms)

    def bar(self, index: int) -> Bar:
        b = self.bars
        t = int(b.open_time[index])
        return Bar(
            t,
            t + Timeframe.M1.ms,
            dec(b.open[index]),
            dec(b.high[index]),
            dec(b.low[index]),
            dec(b.close[index]),
            dec(b.volume[index]),
        )

    def last_bar(self, moment_ms: int) -> Bar | None:
        """The newest 1m bar closed at `moment_ms`, as the paper exchange prices from."""
        i = self.bar_index(moment_ms)
        return self.bar(i) if i >= 0 else None

    def quote(self, moment_ms: int) -> TopOfBook | None:
        bar = self.last_bar(moment_ms)
        return None if bar is None else top_of_book(self.spec, bar, self.spread_bps)

    def mark(self, moment_ms: int) -> Decimal | None:
        i = self.bar_index(moment_ms)
        return dec(self.bars.close[i]) if i >= 0 else None

    # --- plan numbers -------------------------------------------------------------------------

    def numbers(
        self, moment_ms: int, atr_timeframe: Timeframe, zone_timeframe: Timeframe, anchor: str
    ) -> MarketNumbers:
        """What `read_market_numbers` reads at `moment_ms`."""
        atr = self.atr[atr_timeframe].at(moment_ms)
        zone_atr = (
            atr if zone_timeframe == atr_timeframe else self.atr[zone_timeframe].at(moment_ms)
        )
        levels = [column.at(moment_ms) for column in self.pivots]
        return market_numbers(
            atr,
            zone_atr,
            self.vwap[zone_timeframe].at(moment_ms),
            self.sma21[zone_timeframe].at(moment_ms),
            pivot_values(levels),
            anchor,
        )
