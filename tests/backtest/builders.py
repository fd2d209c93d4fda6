"""Markets and trade-entry profiles with exactly the prices a backtest test wants."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from mtf.backtest.engine import BacktestSignal, SimResult, simulate
from mtf.backtest.market import SymbolMarket
from providers.candles import Candles
from providers.paper.book import Costs
from providers.specs import default_spec
from providers.timeframes import Timeframe
from providers.types import PositionSide
from tests.helpers import T0, permissive_trade_entry
from tradeentry.config import TradeEntryConfig, parse_trade_entry

MINUTE = 60_000
COSTS = Costs(Decimal("0.0002"), Decimal("0.0006"), Decimal(2))


def minutes(
    closes: Sequence[float],
    *,
    symbol: str = "TESTUSDT",
    wick: float = 0.05,
    highs: dict[int, float] | None = None,
    lows: dict[int, float] | None = None,
    opens: dict[int, float] | None = None,
) -> Candles:
    """1m candles from T0: each opens at the previous close, wicks `wick` beyond its body;
    `highs` / `lows` / `opens` set single candles by index."""
    close = np.asarray(closes, dtype=float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    for i, value in (opens or {}).items():
        open_[i] = value
    high = np.maximum(open_, close) + wick
    low = np.minimum(open_, close) - wick
    for i, value in (highs or {}).items():
        high[i] = value
    for i, value in (lows or {}).items():
        low[i] = value
    times = T0 + np.arange(len(close), dtype=np.int64) * MINUTE
    return Candles(symbol, Timeframe.M1, times, open_, high, low, close, np.full(len(close), 50.0))


def flat(n: int = 400, price: float = 100.0) -> list[float]:
    """A quiet market: closes wobbling a few cents around `price`."""
    return [price + 0.03 * ((i % 4) - 1.5) for i in range(n)]


def market(candles: Candles, *, spread_bps: str = "2") -> SymbolMarket:
    spec = default_spec(candles.symbol, float(candles.close[0]))
    blocks = {Timeframe.M1: candles, Timeframe.H1: Candles.empty(candles.symbol, Timeframe.H1)}
    return SymbolMarket.build(
        spec,
        blocks,
        Decimal(spread_bps),
        atr_timeframes=[Timeframe.M1],
        zone_timeframe=Timeframe.M1,
    )


def config(**sections: dict[str, Any]) -> TradeEntryConfig:
    """The permissive test profile (market orders, a stop 1 % away, target 1.5R) with some
    sections changed."""
    data = copy.deepcopy(permissive_trade_entry("bt"))
    data["stop"]["risk_distance_pct"] = 1
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_trade_entry(data)


def signal(minute: int, side: str = "long", symbol: str = "TESTUSDT") -> BacktestSignal:
    """READY at the close of candle `minute - 1` (the minute `minute` starts)."""
    return BacktestSignal(T0 + minute * MINUTE, symbol, PositionSide(side), Timeframe.M1)


def run(
    cfg: TradeEntryConfig,
    markets: Sequence[SymbolMarket],
    signals: Sequence[BacktestSignal],
    *,
    end_minute: int | None = None,
    balance: str = "1000",
) -> SimResult:
    end = T0 + (end_minute or len(markets[0].bars)) * MINUTE
    first = min(s.moment_ms for s in signals) if signals else T0
    return simulate(
        cfg,
        markets,
        signals,
        costs=COSTS,
        balance=Decimal(balance),
        start_ms=first,
        end_ms=end,
    )


def real_loaded(pair: Any, symbols: Sequence[str], start_ms: int, end_ms: int) -> Any:
    """`mtf.backtest.data.Loaded` from the real candles, with the importer's default specs."""
    from mtf.backtest.data import Loaded, needs
    from tests.realdata import real_candles

    tfs = needs(pair)
    candles = {s: {tf: real_candles(s, tf).until(end_ms) for tf in tfs} for s in symbols}
    specs = {s: default_spec(s, float(candles[s][Timeframe.M1].close[0])) for s in symbols}
    return Loaded(specs, candles)
