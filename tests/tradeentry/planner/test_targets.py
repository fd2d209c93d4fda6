"""Take profits: R multiple or the nearest pivot within [min_r, max_r], rounded toward the
entry; two targets with sizes on the volume step."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from providers.types import PositionSide
from tests.tradeentry.planner.builders import make_config, make_pivots, make_spec
from tradeentry.model import Target
from tradeentry.planner.targets import build_targets

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
SPEC = make_spec(tick="0.01")


def targets(
    side: PositionSide, stop: str, size: str = "10", pivots: Any = None, **tp: Any
) -> tuple[Target, ...]:
    config = make_config(take_profit=tp).take_profit
    found, _ = build_targets(side, D(100), D(stop), D(size), pivots, config, SPEC)
    return found


def test_r_multiple_target_rounds_toward_the_entry() -> None:
    # R = 0.75; 100 + 1.5 x 0.75 = 101.125 -> 101.12; short 98.875 -> 98.88
    assert targets(LONG, "99.25") == (Target(D("101.12"), D(10), D("1.4933"), "r_multiple"),)
    assert targets(SHORT, "100.75")[0].price == D("98.88")


def test_pivot_target_inside_the_r_band() -> None:
    pivots = make_pivots(p="99.5", r1="101.6", r2="103", r3="104", s1="98", s2="97", s3="96")
    (tp,) = targets(LONG, "99.25", pivots=pivots, policy="pivot_conservative")
    # R1 101.6 x (1 - 0.1 %) = 101.4984 -> 101.49; (101.49 - 100) / 0.75 = 1.9867 R
    assert tp == Target(D("101.49"), D(10), D("1.9867"), "pivot:R1")
    # for a short, P 99.5 is the nearest level below: 0.53 R is under min_r, so the R multiple
    (short,) = targets(SHORT, "100.75", pivots=pivots, policy="pivot_conservative")
    assert (short.price, short.source) == (D("98.88"), "r_multiple")
    above = make_pivots(p="102", r1="103", r2="104", r3="105", s1="98", s2="97", s3="96")
    (short,) = targets(SHORT, "100.75", pivots=above, policy="pivot_conservative")
    # S1 98 x 1.001 = 98.098 -> 98.10 (up, toward the entry): 2.5333 R
    assert (short.price, short.r, short.source) == (D("98.10"), D("2.5333"), "pivot:S1")


def test_pivot_outside_the_r_band_falls_back_to_the_r_multiple() -> None:
    near = make_pivots(p="99", r1="100.3", r2="103", r3="104", s1="98", s2="97", s3="96")
    far = make_pivots(p="99", r1="105", r2="106", r3="107", s1="98", s2="97", s3="96")
    for pivots in (near, far, None):
        (tp,) = targets(LONG, "99.25", pivots=pivots, policy="pivot_conservative")
        assert (tp.price, tp.source) == (D("101.12"), "r_multiple")


def test_two_targets_split_the_size() -> None:
    tp1, tp2 = targets(LONG, "99.25", size="11", two_targets={"enabled": True, "split": 0.5})
    # TP1 at 1 R = 100.75 for floor(11 x 0.5) = 5; TP2 the policy's 1.5 R for the other 6
    assert (tp1.price, tp1.size, tp1.source) == (D("100.75"), D(5), "tp1_r")
    assert (tp2.price, tp2.size) == (D("101.12"), D(6))


def test_two_targets_collapse_when_a_part_is_under_the_minimum() -> None:
    config = make_config(take_profit={"two_targets": {"enabled": True, "split": 0.3}})
    spec = make_spec(tick="0.01", min_volume="2")
    found, notes = build_targets(LONG, D(100), D("99.25"), D(5), None, config.take_profit, spec)
    # floor(5 x 0.3) = 1 contract is under min_volume 2: one target for all 5
    assert [t.size for t in found] == [D(5)]
    assert notes["tp1"].startswith("off")


def test_a_target_is_at_least_one_tick_beyond_the_entry() -> None:
    spec = make_spec(tick="1")
    config = make_config(take_profit={"r_multiple": 0.5}).take_profit
    (tp,), _ = build_targets(LONG, D(100), D(99), D(1), None, config, spec)
    assert tp.price == D(101)
