"""Trade-entry profiles: the packaged four load, defaults match the documented schema, bad
files report every problem with its YAML path."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from mtf.rules.profile import load_profile
from providers.types import OrderMode, OrderType
from tradeentry.config import (
    TradeEntryConfig,
    TradeEntryConfigError,
    available_trade_entries,
    load_trade_entry,
    parse_trade_entry,
)

PROFILES = ("scalper_micro", "scalper", "regular", "crash")


@pytest.fixture(autouse=True)
def _packaged_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTF_TRADE_ENTRY_DIR", raising=False)


@pytest.mark.parametrize("name", PROFILES)
def test_packaged_profiles_load(name: str) -> None:
    config = load_trade_entry(name)
    assert config.name == name
    # risk is a percent of a few tenths, never a fraction read as tens of percent
    assert Decimal("0.1") <= config.risk.risk_pct <= Decimal(1)
    for mult in config.risk.timeframe_risk_multipliers.values():
        assert config.risk.risk_pct * mult <= 1
    assert config.leverage.floor <= config.leverage.exchange_cap


@pytest.mark.parametrize("name", PROFILES)
def test_profiles_cover_the_validation_profiles_execution_timeframes(name: str) -> None:
    validation = load_profile(name)
    config = load_trade_entry(name)
    assert set(config.order.allowed_timeframes) == set(validation.execution)


def test_every_validation_profile_has_a_trade_entry_profile() -> None:
    assert set(PROFILES) <= set(available_trade_entries())


def test_defaults_follow_the_schema() -> None:
    config = TradeEntryConfig(name="x")
    assert config.risk.risk_pct == Decimal("0.5")
    assert config.risk.budget_usdt == 100
    assert config.risk.max_concurrent_positions == 3
    assert config.risk.daily_loss_limit_usdt == 0
    assert config.stop.policy == "atr" and config.stop.fallback == "risk"
    assert config.stop.min_distance_pct == Decimal("0.15")
    assert config.stop.max_distance_pct == Decimal("3.0")
    assert config.take_profit.policy == "r_multiple"
    assert config.take_profit.r_multiple == Decimal("1.5")
    assert not config.take_profit.two_targets.enabled
    assert config.order.type is OrderType.LIMIT
    assert config.order.order_mode is OrderMode.MAKER_ONLY
    assert config.entry_zone.ttl_seconds == 180
    assert config.leverage.floor == 2 and config.leverage.exchange_cap == 20
    assert config.leverage.rounding == "floor"
    assert config.protection.price_type == "mark"
    assert config.dead_man_switch_seconds == 0


def test_market_orders_default_to_gtc_and_refuse_maker_only() -> None:
    config = parse_trade_entry({"name": "x", "order": {"type": "market"}})
    assert config.order.order_mode is OrderMode.GTC
    with pytest.raises(TradeEntryConfigError) as err:
        parse_trade_entry({"name": "x", "order": {"type": "market", "mode": "maker_only"}})
    assert err.value.problems == [("order.mode", "market orders use gtc, got 'maker_only'")]


def test_config_is_frozen() -> None:
    config = TradeEntryConfig(name="x")
    with pytest.raises(ValueError):
        config.risk.risk_pct = Decimal(50)  # type: ignore[misc]


BAD = """\
name: bad
risk: {risk_pct: 50, budget_usdt: -1, colour: red, timeframe_risk_multipliers: {7m: 2}}
stop: {policy: atrr}
order: {type: market, mode: maker_only}
leverage: {rounding: up}
entry_zone: {w_min_pct: 2, w_max_pct: 1}
bogus: 1
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


def test_bad_file_reports_every_problem_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(tmp_path))
    _write(tmp_path, "bad", BAD)
    with pytest.raises(TradeEntryConfigError) as err:
        load_trade_entry("bad")
    problems = dict(err.value.problems)
    assert set(problems) == {
        "risk.risk_pct",
        "risk.budget_usdt",
        "risk.colour",
        "risk.timeframe_risk_multipliers.7m.[key]",
        "stop.policy",
        "order.mode",
        "leverage.rounding",
        "entry_zone.w_min_pct",
        "bogus",
    }
    assert "less than or equal to 10" in problems["risk.risk_pct"]
    assert "'atr', 'pivot' or 'risk'" in problems["stop.policy"]
    assert "'floor', 'round' or 'ceil'" in problems["leverage.rounding"]
    assert (
        "'1m', '5m', '15m', '1h', '4h' or '1d'"
        in problems["risk.timeframe_risk_multipliers.7m.[key]"]
    )
    assert problems["risk.colour"].startswith("unknown key; allowed: risk_pct, budget_usdt")
    assert "dead_man_switch_seconds" in problems["bogus"]
    message = str(err.value)
    assert str(tmp_path / "bad.yaml") in message and "9 problem(s)" in message


def test_cross_field_problems_name_their_keys() -> None:
    data = {
        "name": "x",
        "risk": {"risk_pct": 5, "timeframe_risk_multipliers": {"1m": 3}},
        "stop": {"min_distance_pct": 5, "max_distance_pct": 3, "fallback": "atr"},
        "take_profit": {"two_targets": {"enabled": True, "tp1_r": 2}},
        "leverage": {"floor": 30, "per_symbol_caps": {"BTC*": 1}},
    }
    with pytest.raises(TradeEntryConfigError) as err:
        parse_trade_entry(data)
    assert [path for path, _ in err.value.problems] == [
        "risk.timeframe_risk_multipliers.1m",
        "stop.min_distance_pct",
        "stop.fallback",
        "take_profit.two_targets.tp1_r",
        "leverage.floor",
        "leverage.per_symbol_caps.BTC*",
    ]


def test_an_end_of_zone_window_no_poll_can_hit_is_refused() -> None:
    data = {
        "name": "x",
        "entry_zone": {"ttl_seconds": 60},
        "watcher": {"poll_seconds": 10},
        "fallback_end_of_zone": {"enabled": True, "seconds_before_expiry": 5},
        "dead_man_switch_seconds": 30,
    }
    with pytest.raises(TradeEntryConfigError) as err:
        parse_trade_entry(data)
    paths = [path for path, _ in err.value.problems]
    assert paths == ["fallback_end_of_zone.seconds_before_expiry", "dead_man_switch_seconds"]


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(TradeEntryConfigError) as err:
        load_trade_entry("nope")
    assert "available: crash, regular, scalper, scalper_micro" in str(err.value)


def test_name_must_match_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(tmp_path))
    _write(tmp_path, "alpha", "name: beta\n")
    with pytest.raises(TradeEntryConfigError) as err:
        load_trade_entry("alpha")
    assert err.value.problems[0][0] == "name"


@pytest.mark.parametrize(("text", "problem"), [("a: [1", "not valid YAML"), ("- 1\n", "mapping")])
def test_unreadable_files(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(TradeEntryConfigError, match=problem):
        load_trade_entry(str(_write(tmp_path, "broken", text)))


def test_env_dir_is_searched_first_and_cached_by_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(tmp_path))
    path = _write(tmp_path, "scalper", "name: scalper\nrisk: {risk_pct: 0.2}\n")
    first = load_trade_entry("scalper")
    assert first.risk.risk_pct == Decimal("0.2")
    assert load_trade_entry("scalper") is first
    path.write_text("name: scalper\nrisk: {risk_pct: 0.3}\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_trade_entry("scalper").risk.risk_pct == Decimal("0.3")
