"""The packaged profiles replayed over real candles (Binance USD-M futures, July-August 2023):
each must give READY decisions on both sides, and leave most moments INVALID with a reason."""

from __future__ import annotations

from functools import cache

import pytest

from mtf.replay import ReplayReport, replay
from mtf.rules.profile import load_profile
from providers.candles import Candles
from providers.importer import parse_file
from providers.timeframes import Timeframe
from tests.conftest import klines_file

FOLDER = "binance-usdm-futures_2023-07"
SYMBOLS = ("BTCUSDT", "XRPUSDT", "DOGEUSDT")
#: Every profile decides at every minute: the rule tree is evaluated over whole columns.
STEPS = {
    "scalper_micro": Timeframe.M1,
    "scalper": Timeframe.M1,
    "regular": Timeframe.M1,
    "crash": Timeframe.M1,
}


@cache
def candles(symbol: str, tf: Timeframe) -> Candles:
    return parse_file(klines_file(FOLDER, f"{symbol}-{tf.value}.csv")).candles


@cache
def report(name: str) -> ReplayReport:
    profile = load_profile(name)
    total = ReplayReport()
    for symbol in SYMBOLS:
        blocks = {tf: candles(symbol, tf) for tf in profile.timeframes}
        total.merge(replay(profile, symbol, blocks, step=STEPS[name]))
    return total


@pytest.mark.parametrize("name", sorted(STEPS))
def test_profile_trades_both_sides_on_real_data(name: str) -> None:
    r = report(name)
    assert r.decisions > 1000, "the replay covers weeks of candles"
    sides = r.sides()
    assert sides["long"] >= 1 and sides["short"] >= 1, dict(r.ready)
    for symbol, _, side, tf in r.examples:
        assert symbol in SYMBOLS and side in ("long", "short")
        assert Timeframe(tf) in load_profile(name).execution


@pytest.mark.parametrize("name", sorted(STEPS))
def test_most_moments_are_invalid_with_a_reason(name: str) -> None:
    r = report(name)
    assert r.statuses["INVALID"] > r.decisions / 2, dict(r.statuses)
    assert r.statuses["ERROR"] == 0 and r.statuses["SKIPPED"] == 0
    assert sum(r.reasons.values()) == r.statuses["INVALID"]
    assert all(reason and "None" not in reason for reason in r.reasons), r.reasons.most_common(5)
