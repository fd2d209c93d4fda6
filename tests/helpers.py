"""Small builders for tests: candles with exactly the values a test wants."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from providers.candles import Candles
from providers.timeframes import Timeframe

T0 = 1_700_000_000_000 - (1_700_000_000_000 % 86_400_000)  # a UTC midnight


def make_candles(
    closes: Sequence[float],
    timeframe: Timeframe = Timeframe.M1,
    *,
    symbol: str = "TESTUSDT",
    start_ms: int = T0,
    spread: float = 0.001,
    volumes: Sequence[float] | None = None,
) -> Candles:
    """Candles whose closes are `closes`; opens are the previous close, wicks `spread` wide."""
    closes_arr = np.asarray(closes, dtype=float)
    opens = np.concatenate([[closes_arr[0]], closes_arr[:-1]])
    highs = np.maximum(opens, closes_arr) * (1 + spread)
    lows = np.minimum(opens, closes_arr) * (1 - spread)
    vols = np.asarray(
        volumes if volumes is not None else np.full(len(closes_arr), 100.0), dtype=float
    )
    times = start_ms + np.arange(len(closes_arr), dtype=np.int64) * timeframe.ms
    return Candles(symbol, timeframe, times, opens, highs, lows, closes_arr, vols)


def as_of_after(candles: Candles) -> int:
    """The moment the last candle closes."""
    assert candles.last_open_ms is not None
    return candles.last_open_ms + candles.timeframe.ms


def random_walk(n: int, *, seed: int = 1, start: float = 100.0, vol: float = 0.002) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0, vol, n)))


def permissive_trade_entry(name: str, timeframes: Sequence[str] = ("1m",)) -> dict[str, object]:
    """A trade-entry profile that plans almost any READY signal of a synthetic market: market
    orders, a wide zone, loose guards (for pipeline tests that look past the planner)."""
    return {
        "name": name,
        "risk": {
            "risk_pct": 1,
            "budget_usdt": 1000,
            "max_concurrent_positions": 50,
            "cooldown_minutes": 0,
        },
        "order": {
            "type": "market",
            "allowed_timeframes": list(timeframes),
            "max_spread_bps": 100,
            "max_deviation_pct": 5,
        },
        "entry_zone": {
            "timeframe": timeframes[0],
            "anchor": "sma21",
            "w_min_pct": 5,
            "w_max_pct": 10,
        },
        "stop": {
            "policy": "risk",
            "fallback": "none",
            "risk_distance_pct": 1,
            "max_distance_pct": 5,
        },
    }


#: A validation profile that is READY long on every symbol with candles (5m context, 1m
#: execution): runs whose every symbol places an order.
ALWAYS_LONG: dict[str, object] = {
    "name": "always_long",
    "mode": "pragmatic",
    "context_timeframes": ["5m"],
    "execution_timeframes": ["1m"],
    "history_bars": 60,
    "timeframes": {
        "5m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
        "1m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
    },
}
