"""Stops: per policy, widened to the minimum, rounded away from the entry, fallback when too far."""

from __future__ import annotations

from decimal import Decimal as D

from providers.types import PositionSide
from tests.tradeentry.planner.builders import make_config, make_pivots, make_spec
from tradeentry.model import Skip, SkipReason
from tradeentry.planner.stops import StopChoice, choose_stop

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
SPEC = make_spec(tick="0.01")
PIVOTS = make_pivots(p="100.5", s1="99", s2="98", s3="97", r1="101", r2="102", r3="103")


def stop_of(result: object) -> StopChoice:
    assert isinstance(result, StopChoice), f"expected a stop, got {result}"
    return result


def test_atr_stop() -> None:
    config = make_config(stop={"atr_k": 1.5}).stop
    long = stop_of(choose_stop(LONG, D(100), D("0.5"), None, config, SPEC))
    short = stop_of(choose_stop(SHORT, D(100), D("0.5"), None, config, SPEC))
    # 100 ∓ 1.5 x 0.5
    assert (long.price, long.source, long.distance) == (D("99.25"), "atr", D("0.75"))
    assert (short.price, short.distance) == (D("100.75"), D("0.75"))
    assert long.distance_pct == D("0.75")


def test_stop_is_rounded_away_from_the_entry() -> None:
    config = make_config(stop={"atr_k": 1}).stop
    # 100 - 0.745 = 99.255 -> 99.25 (down); 100 + 0.745 = 100.745 -> 100.75 (up)
    assert stop_of(choose_stop(LONG, D(100), D("0.745"), None, config, SPEC)).price == D("99.25")
    assert stop_of(choose_stop(SHORT, D(100), D("0.745"), None, config, SPEC)).price == D("100.75")


def test_a_near_stop_is_widened_to_the_minimum_distance() -> None:
    config = make_config(stop={"min_distance_pct": 0.15}).stop
    long = stop_of(choose_stop(LONG, D(100), D("0.01"), None, config, SPEC))
    assert (long.price, long.source) == (D("99.85"), "atr+min_distance")


def test_pivot_stop_uses_the_nearest_support_beyond_its_buffer() -> None:
    config = make_config(stop={"policy": "pivot", "pivot_buffer_pct": 0.1}).stop
    long = stop_of(choose_stop(LONG, D(100), None, PIVOTS, config, SPEC))
    # P 100.5 is above a long's entry; S1 99 is the nearest support: 99 x 0.999 = 98.901 -> 98.90
    assert (long.price, long.source) == (D("98.90"), "pivot:S1")
    short = stop_of(choose_stop(SHORT, D(100), None, PIVOTS, config, SPEC))
    # P 100.5 is the nearest resistance: 100.5 x 1.001 = 100.6005 -> 100.61
    assert (short.price, short.source) == (D("100.61"), "pivot:P")


def test_too_far_falls_back_to_the_fallback_policy() -> None:
    config = make_config(stop={"atr_k": 10, "fallback": "risk", "risk_distance_pct": 0.6}).stop
    stop = stop_of(choose_stop(LONG, D(100), D(1), None, config, SPEC))
    assert (stop.price, stop.source) == (D("99.40"), "risk")
    assert [c.policy for c in stop.candidates] == ["atr", "risk"]
    assert stop.candidates[0].too_far


def test_every_stop_too_far_is_refused() -> None:
    config = make_config(stop={"atr_k": 10, "fallback": "pivot"}).stop
    far = make_pivots(p="150", s1="90", s2="80", s3="70")
    skip = choose_stop(LONG, D(100), D(1), far, config, SPEC)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.STOP_TOO_FAR
    assert "atr=90.00" in skip.detail and "pivot:S1" in skip.detail


def test_no_policy_able_to_place_a_stop() -> None:
    config = make_config(stop={"policy": "pivot", "fallback": "atr"}).stop
    skip = choose_stop(LONG, D(100), None, None, config, SPEC)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.NO_STOP
    none = make_config(stop={"policy": "pivot", "fallback": "none"}).stop
    below_none = make_pivots(p="101", s1="102", s2="103", s3="104")
    skip = choose_stop(LONG, D(100), D(1), below_none, none, SPEC)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.NO_STOP
