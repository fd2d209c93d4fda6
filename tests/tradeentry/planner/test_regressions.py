"""One test per failure of the replaced system (trade-entry.md [bug]/[dead]), so none returns."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from tests.tradeentry.planner.builders import (
    NOW_MS,
    make_book,
    make_config,
    make_pivots,
    make_signal,
    make_snapshot,
    make_spec,
    plan_of,
)
from tradeentry.model import Skip, SkipReason, TradePlan
from tradeentry.planner import plan_trade

# tick 0.01, 1 contract = 0.001 units
SPEC = make_spec(tick="0.01", contract_size="0.001", max_leverage=125)


def plan(
    *, atr: str = "0.5", spec: Any = SPEC, pivots: Any = None, **sections: Any
) -> TradePlan | Skip:
    """A long from a book of 100.00 / 100.01 with the zone around a VWAP of 100."""
    book = make_book("100.00", "100.01", "100.005")
    snap = make_snapshot(spec, book, atr=atr, anchor="100", pivots=pivots, available="10000")
    return plan_trade(make_signal(), snap, make_config(**sections))


def test_risk_pct_is_a_percent_not_a_fraction() -> None:
    """risk_pct 0.5 was read as 50 % by the leverage service."""
    result = plan_of(
        plan(
            risk={"risk_pct": 0.5, "budget_usdt": 100},
            stop={"policy": "risk", "risk_distance_pct": 0.5, "fallback": "none"},
        )
    )
    assert result.risk_usdt == D("0.5")  # 0.5 % of 100, not 50
    assert result.loss_at_stop_usdt <= D("0.5")
    # 0.5 % at risk over a 0.5 % stop: a notional of one budget, leverage 1 (-> floor 2), not 100
    assert D(result.steps["leverage_dynamic"]) == 1
    assert result.leverage == 2


def test_timeframe_risk_multiplier_applies_once() -> None:
    base = plan_of(plan(risk={"risk_pct": 0.5}))
    tripled = plan_of(plan(risk={"risk_pct": 0.5, "timeframe_risk_multipliers": {"1m": 3}}))
    assert tripled.risk_usdt == 3 * base.risk_usdt == D("1.5")
    assert tripled.steps["risk_pct_effective"] == "1.5000%"
    # the leverage reads the effective risk, without multiplying it again
    assert D(tripled.steps["leverage_dynamic"]) == 3 * D(base.steps["leverage_dynamic"])


def test_leverage_multiplier_applies_once_and_never_past_the_exchange_cap() -> None:
    """The timeframe factor was applied a second time after the caps, exceeding exchange_cap."""
    # risk 2 % over a 0.75 % stop: dynamic 2.67; x3 -> 8; x6 -> 16 capped at 10
    risk = {"risk_pct": 2}
    once = plan_of(
        plan(risk=risk, leverage={"timeframe_multipliers": {"1m": 3}, "exchange_cap": 10})
    )
    assert once.leverage == 8  # floor(2.67 x 3), not floor(2.67 x 9)
    capped = plan_of(
        plan(risk=risk, leverage={"timeframe_multipliers": {"1m": 6}, "exchange_cap": 10})
    )
    assert capped.leverage == 10
    assert capped.margin_usdt <= capped.budget_usdt


def test_each_cap_applies_once() -> None:
    leverage = {"exchange_cap": 40, "per_symbol_caps": {"test*": 9, "*": 30}}
    result = plan_of(plan(risk={"risk_pct": 5}, leverage=leverage))  # dynamic 6.67 x 1
    assert result.steps["leverage_caps"] == (
        "exchange_cap=40, symbol_cap[test*]=9, contract_max=125 -> 9"
    )
    tight = plan_of(
        plan(risk={"risk_pct": 10}, leverage=leverage, spec=make_spec(tick="0.01", max_leverage=7))
    )
    assert tight.leverage == 7


def test_no_target_margin_override() -> None:
    """The final leverage was replaced by round(notional / budget), posting the whole budget."""
    # dynamic 0.67 x multiplier 6 = 4 -> leverage 4: only a quarter of the notional's budget
    result = plan_of(plan(risk={"risk_pct": 0.5}, leverage={"timeframe_multipliers": {"1m": 6}}))
    assert result.leverage == 4
    override = round(result.notional_usdt / result.budget_usdt)
    assert override != result.leverage
    assert result.margin_usdt < result.budget_usdt / 2


def test_liquidation_guard_lowers_the_leverage() -> None:
    """The guard only checked entry != stop."""
    # stop 2 % away (atr 4 x 0.5 = 2); risk 5 % -> dynamic 2.5 x 40 = 100 -> cap 100
    result = plan_of(
        plan(
            atr="0.5",
            risk={"risk_pct": 5},
            stop={"atr_k": 4},
            leverage={"exchange_cap": 100, "timeframe_multipliers": {"1m": 40}},
        )
    )
    # 1/L - 0.5 % >= 1.2 x 2 %  ->  L <= 100 / 2.9 = 34
    assert result.steps["leverage_capped"] == "100"
    assert result.leverage == 34
    assert result.liquidation_price is not None and result.liquidation_price < result.stop_loss


def test_liquidation_guard_refuses_when_the_floor_is_unsafe() -> None:
    result = plan(
        stop={"atr_k": 4},
        leverage={"floor": 40, "exchange_cap": 100, "maintenance_margin_pct": 0.5},
    )
    assert isinstance(result, Skip) and result.reason is SkipReason.LIQUIDATION_BEFORE_STOP


def test_minimum_stop_distance_is_the_configured_one() -> None:
    """A hard-coded 0.5 % floor moved every tighter stop."""
    result = plan_of(plan(atr="0.1", stop={"atr_k": 2, "min_distance_pct": 0.15}))
    assert result.stop_loss == D("99.80")  # 0.2 % away, kept
    widened = plan_of(plan(atr="0.05", stop={"atr_k": 2, "min_distance_pct": 0.15}))
    assert (widened.stop_loss, widened.stop_source) == (D("99.85"), "atr+min_distance")


def test_pivot_stop_rules() -> None:
    """Pivot stops too far were silently dropped; the buffer direction and fallback were ad hoc."""
    pivots = make_pivots(p="101", s1="97", s2="96", s3="95", r1="102", r2="103", r3="104")
    config = {"policy": "pivot", "fallback": "atr", "max_distance_pct": 2.5}
    result = plan_of(plan(pivots=pivots, stop=config))
    # S1 97 x 0.999 = 96.903 is 3.1 % away: too far, the configured fallback (ATR) is used
    assert (result.stop_loss, result.stop_source) == (D("99.25"), "atr")
    assert "pivot:S1=96.90" in result.steps["stop_candidates"]
    near = make_pivots(p="101", s1="99.98", s2="96", s3="95", r1="102", r2="103", r3="104")
    result = plan_of(plan(pivots=near, stop=config))
    # 99.98 x 0.999 = 99.88 is nearer than 0.15 %: widened to 99.85
    assert (result.stop_loss, result.stop_source) == (D("99.85"), "pivot:S1+min_distance")


def test_a_long_rests_in_the_zone_when_the_market_is_above_it() -> None:
    """The replaced zone gate only allowed entries with the bid already inside the zone."""
    snap = make_snapshot(SPEC, make_book("100.40", "100.41"), atr="0.5", anchor="100")
    result = plan_of(plan_trade(make_signal(), snap, make_config()))
    # zone half = 0.35 x 0.5 = 0.175 -> [99.82, 100.18]: wait at its high for the pullback
    assert (result.zone and result.zone.high) == D("100.18")
    assert result.entry_price == D("100.18")


def test_the_zone_carries_its_expiry_for_the_end_of_zone_fallback() -> None:
    """The end-of-zone fallback was evaluated once, at creation, so it could never trigger."""
    result = plan_of(plan(entry_zone={"ttl_seconds": 240}))
    assert result.zone is not None and result.zone.expires_ms == NOW_MS + 240_000


def test_tp1_r_is_used() -> None:
    """tp1_r was read by nothing."""
    result = plan_of(
        plan(risk={"risk_pct": 2}, take_profit={"two_targets": {"enabled": True, "tp1_r": 0.5}})
    )
    tp1, tp2 = result.targets
    # R = 0.75: TP1 at 100 + 0.375 -> 100.37, TP2 at 100 + 1.125 -> 101.12
    assert (tp1.price, tp2.price) == (D("100.37"), D("101.12"))
    assert tp1.size + tp2.size == result.size


def test_liquidation_guard_refuses_when_its_leverage_cannot_margin_the_minimum() -> None:
    # risk 10 % of 10 USDT over a 2 % stop: 1 / 0.002 = 500 contracts (notional 50);
    # liquidation 10 stop distances away allows 100 / (10 x 2 + 0.5) -> 4x, which margins
    # 10 x 4 / 0.1 = 400 contracts, under the minimum of 450 that 100x would have allowed
    spec = make_spec(tick="0.01", contract_size="0.001", min_volume="450", max_leverage=125)
    result = plan(
        spec=spec,
        risk={"risk_pct": 10, "budget_usdt": 10},
        stop={"atr_k": 4},
        leverage={
            "exchange_cap": 100,
            "timeframe_multipliers": {"1m": 100},
            "min_liquidation_ratio": 10,
        },
    )
    assert isinstance(result, Skip) and result.reason is SkipReason.LIQUIDATION_BEFORE_STOP
