"""The kline sync, the backfill and the retention follow the profiles' history requirement."""

from __future__ import annotations

from typing import Any

import pytest

import indicators as ind
from mtf.history import history_needs, plan_needs
from mtf.rules.profile import load_profile
from providers.candles import Candles
from providers.timeframes import Timeframe
from tradeentry.config import load_trade_entry


def test_needs_cover_decisions_and_plans() -> None:
    needs = history_needs(["scalper_micro"])
    profile = load_profile("scalper_micro")
    config = load_trade_entry("scalper_micro")
    # the decision: VWAP on 1m reaches back to midnight, so up to a whole day of minutes
    assert needs[Timeframe.M1] == profile.minimum_candles(Timeframe.M1) == 1440
    # the plan: yesterday's pivots from hourly candles, and the zone's day VWAP on 5m
    assert needs[Timeframe.H1] == 48
    assert needs[Timeframe.M5] >= 288 == plan_needs(config, profile.execution)[Timeframe.M5]
    assert set(needs) == {Timeframe.M1, Timeframe.M5, Timeframe.H1}
    regular = history_needs(["regular"])
    ema200 = ind.worst_window(Timeframe.H1.ms, ind.settled_candles("ema", period=200))
    assert regular[Timeframe.H1] >= ema200 > 700


def test_unknown_profiles_are_skipped() -> None:
    assert history_needs(["no_such_profile"]) == {}


def test_sync_klines_fetches_what_the_profiles_read(
    sqlite_url: str, make_services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtf.tasks import maintenance

    svc = make_services(sqlite_url, schedule_profiles="regular", profile="scalper_micro")
    asked: list[tuple[str, Timeframe, int]] = []

    def closed_candles(symbol: str, tf: Timeframe, now_ms: int, limit: int) -> Candles:
        asked.append((symbol, tf, limit))
        return Candles.empty(symbol, tf)

    monkeypatch.setattr(svc.market, "closed_candles", closed_candles)
    monkeypatch.setattr(maintenance, "tradable_universe", lambda *_: (["BTCUSDT"], {}))
    maintenance.sync_klines()
    needs = history_needs(["regular", "scalper_micro"])
    assert {(tf, limit) for _, tf, limit in asked} == set(needs.items())
    asked.clear()
    maintenance.sync_klines(timeframes=["1h"], bars=10)
    assert asked == [("BTCUSDT", Timeframe.H1, 10)]
