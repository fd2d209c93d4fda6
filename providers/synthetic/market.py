"""`SyntheticMarket`: a seeded, deterministic market of USDT perpetuals, as a function of time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from providers.candles import Candles
from providers.specs import default_spec
from providers.synthetic.daily import (
    DAY_MS,
    END_MS,
    ORIGIN_MS,
    Regime,
    day,
    day_index,
)
from providers.synthetic.intraday import MINUTES, DayBars, day_bars
from providers.synthetic.numeric import grid_values
from providers.synthetic.universe import SymbolProfile, profile_for, universe
from providers.timeframes import MINUTE_MS, Timeframe, iso
from providers.types import ContractSpec

_Ints = npt.NDArray[np.integer[Any]]
_Columns = tuple[_Ints, _Ints, _Ints, _Ints, _Ints]


@dataclass(frozen=True)
class SyntheticMarket:
    """A reproducible market: the same seed gives the same candles, whoever asks and however.

    Candles are a pure function of (seed, symbol, open time), defined from 2020-01-01 (every
    symbol's listing) to 2040-01-01 UTC. Volumes are in base-asset units, whole contracts.
    """

    seed: int

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}")

    def universe(self, n: int) -> list[str]:
        """The first `n` symbols: BTCUSDT, ETHUSDT, ..., LINKUSDT, then S0009USDT, S0010USDT..."""
        return universe(n)

    def profile(self, symbol: str) -> SymbolProfile:
        """The constants behind `symbol` (ValueError naming the universe if it has none)."""
        return profile_for(self.seed, symbol)

    def regime(self, symbol: str, ts_ms: int) -> Regime:
        """The regime of the UTC day containing `ts_ms`."""
        return day(self.seed, self.profile(symbol), day_index(_within_horizon(ts_ms))).regime

    def spec(self, symbol: str, *, as_of_ms: int | None = None) -> ContractSpec:
        """The contract of `symbol`, Bitmart-like (see `providers.specs`).

        With `as_of_ms`, last price and 24h figures are those of the generated candles closed
        at that time; without it, the symbol's base price and expected 24h figures.
        """
        profile = self.profile(symbol)
        spec = default_spec(symbol, profile.base_price)
        if as_of_ms is None:
            turnover = profile.turnover_per_minute * MINUTES
            last_price = spec.last_price
            volume = turnover / profile.base_price
        else:
            bars = self.candles(symbol, Timeframe.M1, as_of_ms - DAY_MS, as_of_ms)
            if not len(bars):
                raise ValueError(f"{symbol}: no synthetic candles before {iso(as_of_ms)}")
            turnover = float(np.sum(bars.volume * bars.close))
            volume = float(np.sum(bars.volume))
            last_price = Decimal(repr(float(bars.close[-1])))
        return dataclasses.replace(
            spec,
            open_timestamp_ms=ORIGIN_MS,
            last_price=last_price,
            index_price=last_price,
            turnover_24h=Decimal(f"{turnover:.2f}"),
            volume_24h=_decimal_on(volume, profile.contract_size),
            funding_rate=Decimal("0.0001"),
        )

    def candles(
        self, symbol: str, timeframe: Timeframe | str, start_ms: int, end_ms: int
    ) -> Candles:
        """Candles lying wholly in [start_ms, end_ms), oldest first.

        A candle is included when its open time >= start_ms and its close time <= end_ms, so
        `end_ms = now` never yields a forming candle; with bounds on the timeframe's grid this
        is every open time in [start_ms, end_ms). Higher timeframes aggregate the 1m candles of
        their UTC bucket (open first, high max, low min, close last, volume sum). Nothing
        exists before 2020-01-01; asking past 2040-01-01 is an error.
        """
        tf = Timeframe.parse(timeframe)
        profile = self.profile(symbol)
        first = max(-(-start_ms // tf.ms) * tf.ms, ORIGIN_MS)
        stop = (end_ms // tf.ms) * tf.ms
        if stop > END_MS:
            raise ValueError(
                f"the synthetic market ends at {iso(END_MS)}; asked for candles until {iso(end_ms)}"
            )
        if stop <= first:
            return Candles.empty(symbol, tf)
        opens, highs, lows, closes, contracts = _buckets(self.seed, profile, tf, first, stop)
        tick = profile.tick_size
        return Candles(
            symbol=symbol,
            timeframe=tf,
            open_time=np.arange(first, stop, tf.ms, dtype=np.int64),
            open=grid_values(opens, tick),
            high=grid_values(highs, tick),
            low=grid_values(lows, tick),
            close=grid_values(closes, tick),
            volume=grid_values(contracts, profile.contract_size),
        )


def _buckets(seed: int, profile: SymbolProfile, tf: Timeframe, first: int, stop: int) -> _Columns:
    """Open, high, low, close (ticks) and contracts of the `tf` candles in [first, stop)."""
    parts = []
    # Every timeframe divides a UTC day, so no candle straddles two cached days.
    for d in range(day_index(first), day_index(stop - 1) + 1):
        day_start = ORIGIN_MS + d * DAY_MS
        lo = max(first - day_start, 0) // MINUTE_MS
        hi = min(stop - day_start, DAY_MS) // MINUTE_MS
        parts.append(_aggregate(day_bars(seed, profile, d), lo, hi, tf.minutes))
    if len(parts) == 1:
        return parts[0]
    o, h, lo_, c, v = (np.concatenate(column) for column in zip(*parts, strict=True))
    return o, h, lo_, c, v


def _aggregate(bars: DayBars, lo: int, hi: int, minutes: int) -> _Columns:
    """Minutes lo..hi-1 of a day grouped `minutes` at a time."""
    opens, closes = bars.open[lo:hi], bars.close[lo + 1 : hi + 1]
    highs, lows, contracts = bars.high[lo:hi], bars.low[lo:hi], bars.contracts[lo:hi]
    if minutes == 1:
        return opens, highs, lows, closes, contracts
    shape = (-1, minutes)
    return (
        opens[::minutes],
        highs.reshape(shape).max(axis=1),
        lows.reshape(shape).min(axis=1),
        closes[minutes - 1 :: minutes],
        contracts.reshape(shape).sum(axis=1, dtype=np.int64),
    )


def _within_horizon(ts_ms: int) -> int:
    if not ORIGIN_MS <= ts_ms < END_MS:
        raise ValueError(
            f"{iso(ts_ms)} is outside the synthetic market ({iso(ORIGIN_MS)} to {iso(END_MS)})"
        )
    return ts_ms


def _decimal_on(value: float, step: Decimal) -> Decimal:
    """`value` rounded to a multiple of `step`, as an exact Decimal."""
    units = round(value / float(step))
    return (Decimal(units) * step).normalize()
