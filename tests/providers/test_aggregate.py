"""Longer candles built from one-minute candles equal Bitmart's own, on real Bitmart data."""

from __future__ import annotations

import numpy as np
import pytest

from providers.aggregate import SOURCE_OF, aggregate
from providers.candles import Candles
from providers.importer.csvfile import parse_file
from providers.timeframes import Timeframe
from tests.conftest import klines_file

FOLDER = "bitmart-futures_2025-09"


def load(symbol: str, tf: Timeframe) -> Candles:
    return parse_file(klines_file(FOLDER, f"{symbol}-{tf.value}.csv")).candles


@pytest.mark.parametrize("symbol", ["PLUMEUSDT", "HIFIUSDT", "ZORAUSDT"])
@pytest.mark.parametrize("tf", [Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.H4])
def test_aggregation_equals_the_exchange_candles(symbol: str, tf: Timeframe) -> None:
    exchange = load(symbol, tf)
    built = aggregate(load(symbol, SOURCE_OF[tf]), tf)
    common, mine, theirs = np.intersect1d(built.open_time, exchange.open_time, return_indices=True)
    assert len(common) >= 20, f"too few common {tf} buckets to compare ({len(common)})"
    for column in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(built, column)[mine], getattr(exchange, column)[theirs]), (
            column
        )
    assert np.allclose(built.volume[mine], exchange.volume[theirs], rtol=1e-9, atol=0)


def test_from_one_minute_all_the_way_up() -> None:
    one = load("PLUMEUSDT", Timeframe.M1)
    five = aggregate(one, Timeframe.M5)
    fifteen = aggregate(five, Timeframe.M15)
    exchange = load("PLUMEUSDT", Timeframe.M15)
    common, mine, theirs = np.intersect1d(
        fifteen.open_time, exchange.open_time, return_indices=True
    )
    assert len(common) >= 10
    assert np.array_equal(fifteen.close[mine], exchange.close[theirs])
    assert np.array_equal(fifteen.high[mine], exchange.high[theirs])


def test_incomplete_buckets_are_left_out() -> None:
    rows = [(60_000 * i, 1.0, 2.0, 0.5, 1.5, 1.0) for i in range(12)]
    del rows[7]  # a hole in the second 5m bucket
    built = aggregate(Candles.from_rows("X", Timeframe.M1, rows), Timeframe.M5)
    assert list(built.open_time) == [0], "only the complete bucket"
    assert built.volume[0] == 5.0
    with pytest.raises(ValueError, match="cannot build 1m candles from 5m"):
        aggregate(Candles.from_rows("X", Timeframe.M5, rows[:1]), Timeframe.M1)
