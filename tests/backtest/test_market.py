"""The plan numbers a backtest reads from whole histories are the ones a live plan computes
from the window it reads (`tradeentry.snapshot.read_market_numbers`)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from mtf.backtest.data import markets
from mtf.backtest.overrides import load_pair
from providers.candles import Candles
from providers.timeframes import Timeframe, to_ms
from tests.backtest.builders import real_loaded
from tests.realdata import real_candles
from tradeentry.snapshot import read_market_numbers

START = to_ms(datetime(2023, 8, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("scalper_micro", {}),
        ("regular", {}),
        ("scalper", {"entry_zone.anchor": "sma21", "stop.atr_timeframe": "15m"}),
    ],
)
def test_numbers_equal_the_live_snapshot(name: str, overrides: dict[str, str]) -> None:
    pair = load_pair(name, overrides)
    config = pair.config
    symbol = "ETHUSDT"
    loaded = real_loaded(pair, [symbol], START, START + 86_400_000)
    market = markets(pair, loaded, spread_bps=__import__("decimal").Decimal(2))[symbol]
    rng = np.random.default_rng(7)
    minutes = START + rng.integers(0, 1440, 60) * 60_000
    for tf in pair.profile.execution:
        atr_tf = config.stop.atr_timeframe or tf
        for moment in minutes.tolist():

            def reader(frame: Timeframe, limit: int, at: int = moment) -> Candles:
                return real_candles(symbol, frame).until(at).tail(limit)

            live = read_market_numbers(
                reader,
                atr_timeframe=atr_tf,
                zone_timeframe=config.entry_zone.timeframe,
                anchor=config.entry_zone.anchor,
                now_ms=moment,
            )
            mine = market.numbers(
                moment, atr_tf, config.entry_zone.timeframe, config.entry_zone.anchor
            )
            assert mine == live, moment
            assert live.atr is not None and live.anchor is not None and live.pivots is not None
