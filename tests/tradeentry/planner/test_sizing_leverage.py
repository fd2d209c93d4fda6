"""Size from risk, leverage from risk over stop distance with each cap once, the liquidation
guard, and the margin fit."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from providers.types import OrderType, PositionSide
from tests.tradeentry.planner.builders import make_config, make_spec
from tradeentry.model import Skip, SkipReason
from tradeentry.planner.leverage import (
    LeverageChoice,
    choose_leverage,
    dynamic_leverage,
    round_leverage,
    symbol_cap,
)
from tradeentry.planner.liquidation import (
    LiquidationCheck,
    guard_liquidation,
    liquidation_price,
    max_safe_leverage,
)
from tradeentry.planner.sizing import Sizing, fit_margin, size_for_risk

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


@pytest.mark.parametrize(
    ("step", "expected"), [("1", "83"), ("5", "80"), ("0.1", "83.3"), ("0.001", "83.333")]
)
def test_size_is_the_risk_over_the_loss_per_contract_floored_to_the_step(
    step: str, expected: str
) -> None:
    spec = make_spec(tick="0.01", contract_size="0.01", step=step, min_volume=step)
    sizing = size_for_risk(D("0.5"), D("0.6"), spec, OrderType.LIMIT)
    # one contract loses 0.6 x 0.01 = 0.006 USDT; 0.5 / 0.006 = 83.33...
    assert isinstance(sizing, Sizing)
    assert sizing.risk_per_contract == D("0.006")
    assert sizing.size == D(expected)
    assert sizing.size * sizing.risk_per_contract <= D("0.5")


def test_size_is_capped_by_the_order_type_volume_limit() -> None:
    spec = make_spec(max_volume="50", market_max_volume="20")
    limit = size_for_risk(D(10), D("0.01"), spec, OrderType.LIMIT)
    market = size_for_risk(D(10), D("0.01"), spec, OrderType.MARKET)
    assert isinstance(limit, Sizing) and limit.size == 50
    assert isinstance(market, Sizing) and market.size == 20


def test_size_under_the_minimum_is_refused() -> None:
    spec = make_spec(min_volume="10")
    skip = size_for_risk(D("0.05"), D("0.01"), spec, OrderType.LIMIT)  # 5 contracts
    assert isinstance(skip, Skip) and skip.reason is SkipReason.SIZE_BELOW_MINIMUM


def test_fit_margin_shrinks_the_size_not_the_leverage_cap() -> None:
    spec = make_spec(tick="0.01")
    # notional 100 x 10 = 1000 at leverage 2 needs 500 margin; budget 300 -> 300 x 2 / 10 = 60
    assert fit_margin(D(100), D(10), 2, D(300), spec) == D(60)
    assert fit_margin(D(50), D(10), 2, D(300), spec) == D(50)
    # A 1 % fee reserve: each contract takes 5 + 0.1 of the budget -> 58 contracts.
    assert fit_margin(D(100), D(10), 2, D(300), spec, D(1)) == D(58)


def test_dynamic_leverage_is_risk_over_stop_distance() -> None:
    # 1.5 % of the budget at risk with a stop 0.52 % away: notional = 2.8846 x budget
    assert dynamic_leverage(D("1.5"), D("0.52"), D(1)).quantize(D("0.0001")) == D("2.8846")
    assert dynamic_leverage(D("1.5"), D("0.52"), D("0.8")).quantize(D("0.0001")) == D("2.3077")


@pytest.mark.parametrize(("mode", "expected"), [("floor", 2), ("round", 3), ("ceil", 3)])
def test_leverage_rounding(mode: str, expected: int) -> None:
    assert round_leverage(D("2.5"), mode) == expected


def test_symbol_caps_are_case_insensitive_globs_and_the_smallest_wins() -> None:
    caps = {"btc*": 8, "*USDT": 12, "ETH*": 3}
    assert symbol_cap("BTCUSDT", caps) == ("btc*", 8)
    assert symbol_cap("ethusdt", caps) == ("ETH*", 3)
    assert symbol_cap("SOLUSDC", caps) is None


def test_every_cap_applies_once() -> None:
    config = make_config(leverage={"exchange_cap": 20, "per_symbol_caps": {"TEST*": 7}}).leverage
    spec = make_spec(max_leverage=50)
    # risk 1 % / stop 0.1 % = 10, above the symbol cap 7
    choice = choose_leverage("TESTUSDT", "1m", D(1), D("0.1"), spec, config)
    assert isinstance(choice, LeverageChoice)
    assert (choice.rounded, choice.leverage) == (10, 7)
    assert choice.caps == (("exchange_cap", 20), ("symbol_cap[TEST*]", 7), ("contract_max", 50))
    small = choose_leverage("TESTUSDT", "1m", D(1), D("0.1"), make_spec(max_leverage=5), config)
    assert isinstance(small, LeverageChoice) and small.leverage == 5


def test_dynamic_below_the_floor_is_raised_to_it() -> None:
    config = make_config(leverage={"floor": 3}).leverage
    choice = choose_leverage("TESTUSDT", "1m", D("0.5"), D(1), make_spec(min_leverage=1), config)
    assert isinstance(choice, LeverageChoice) and choice.leverage == 3
    bumped = choose_leverage("TESTUSDT", "1m", D("0.5"), D(1), make_spec(min_leverage=4), config)
    assert isinstance(bumped, LeverageChoice) and bumped.leverage == 4


def test_floor_above_every_cap_is_refused() -> None:
    config = make_config(leverage={"floor": 5}).leverage
    skip = choose_leverage("TESTUSDT", "1m", D(1), D(1), make_spec(max_leverage=3), config)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.LEVERAGE_BELOW_FLOOR
    assert "contract_max=3" in skip.detail


def test_liquidation_price() -> None:
    # 1/10 - 0.5 % = 9.5 % away from the entry
    assert liquidation_price(D(100), LONG, 10, D("0.5")) == D("90.5")
    assert liquidation_price(D(100), SHORT, 10, D("0.5")) == D("109.5")


def test_max_safe_leverage() -> None:
    # 1/L - 0.5 % >= 1.2 x 2 %  <=>  L <= 100 / 2.9 = 34.48
    assert max_safe_leverage(D(2), D("0.5"), D("1.2")) == 34


def test_guard_lowers_an_unsafe_leverage() -> None:
    config = make_config(leverage={"maintenance_margin_pct": 0.5}).leverage
    spec = make_spec(tick="0.01")
    check = guard_liquidation(LONG, D(100), D(98), D(2), 50, 2, config, spec)
    assert isinstance(check, LiquidationCheck)
    assert (check.max_safe, check.leverage) == (34, 34)
    # 100 x (1 - (1/34 - 0.005)) = 97.559 -> rounded toward the entry: 97.56, below the stop 98
    assert check.price == D("97.56")
    kept = guard_liquidation(LONG, D(100), D(98), D(2), 10, 2, config, spec)
    assert isinstance(kept, LiquidationCheck) and kept.leverage == 10


def test_guard_refuses_when_even_the_floor_is_unsafe() -> None:
    config = make_config(leverage={"maintenance_margin_pct": 0.5}).leverage
    spec = make_spec(tick="0.01")
    # stop 40 % away: L <= 100 / 48.5 = 2.06 -> 2, under a floor of 3
    skip = guard_liquidation(SHORT, D(100), D(140), D(40), 5, 3, config, spec)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.LIQUIDATION_BEFORE_STOP
