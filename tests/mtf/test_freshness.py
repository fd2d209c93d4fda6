"""A symbol is decided only on the candle that has just closed: a last candle published one
bar late is stale, on every timeframe, from the store or from the exchange's feed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from infra.db import get_engine
from mtf.context import RunContext
from mtf.validator import validate_symbol
from providers.candles import Candles
from providers.klines import KlineStore
from providers.marketdata import MarketData
from providers.timeframes import Timeframe
from tests.mtf.test_pipeline_embedded import profiles_dir  # noqa: F401

AS_OF = 1_700_000_400_000  # a multiple of 5 minutes: the 1m and the 5m candles close here
BARS = 80


def rows(tf: Timeframe, last_open: int, bars: int = BARS) -> np.ndarray:
    opens = last_open - tf.ms * np.arange(bars - 1, -1, -1)
    close = 100 + np.arange(bars, dtype=float)
    return np.column_stack([opens, close, close + 1, close - 1, close, np.full(bars, 10.0)])


def series(tf: Timeframe, last_open: int) -> Candles:
    return Candles.from_rows("BTCUSDT", tf, rows(tf, last_open))


class LateFeed:
    """An exchange feed whose newest candle is `late_bars` behind on one timeframe."""

    def __init__(self, late_tf: Timeframe | None, late_bars: int) -> None:
        self.late_tf, self.late_bars = late_tf, late_bars

    def covers(self, symbol: str) -> bool:
        return True

    def candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        lag = self.late_bars if timeframe == self.late_tf else 0
        newest = timeframe.last_closed_open_ms(AS_OF) - lag * timeframe.ms
        whole = rows(timeframe, newest, bars=2000)
        keep = (whole[:, 0] >= start_ms) & (whole[:, 0] < end_ms)
        return Candles.from_rows(symbol, timeframe, whole[keep])


def decide(market: MarketData) -> dict[str, Any]:
    ctx = RunContext("r", "always_long", AS_OF, True, "paper", 0)
    return validate_symbol("BTCUSDT", ctx, market)


@pytest.fixture
def store(sqlite_url: str, profiles_dir: Path) -> KlineStore:  # noqa: F811
    return KlineStore(get_engine(sqlite_url))


@pytest.mark.parametrize("late_tf", [Timeframe.M1, Timeframe.M5])
def test_a_stored_last_candle_one_bar_late_is_stale(store: KlineStore, late_tf: Timeframe) -> None:
    for tf in (Timeframe.M1, Timeframe.M5):
        expected = tf.last_closed_open_ms(AS_OF)
        store.upsert(series(tf, expected - tf.ms if tf == late_tf else expected))
    result = decide(MarketData(store))
    assert result["status"] == "SKIPPED" and result["reason"] == "stale_candles"
    assert result["detail"].startswith(f"{late_tf} newest candle")


@pytest.mark.parametrize("late_tf", [Timeframe.M1, Timeframe.M5])
def test_an_exchange_publishing_one_bar_late_is_stale(
    store: KlineStore, late_tf: Timeframe
) -> None:
    result = decide(MarketData(store, [LateFeed(late_tf, 1)]))
    assert result["status"] == "SKIPPED" and result["reason"] == "stale_candles"
    assert f"{late_tf} newest candle" in result["detail"]


def test_candles_on_time_are_decided(store: KlineStore) -> None:
    result = decide(MarketData(store, [LateFeed(None, 0)]))
    assert result["status"] == "READY", result
    assert result["candle_open_ms"] == Timeframe.M1.last_closed_open_ms(AS_OF)
