"""Protection planning: the stop and targets a position needs, given the triggers it has."""

from __future__ import annotations

from decimal import Decimal

from providers.types import (
    OpenType,
    OrderSide,
    OrderStatus,
    Position,
    PositionSide,
    PriceType,
    TriggerKind,
    TriggerOrder,
)
from tests.tradeentry.planner.builders import make_spec
from tradeentry.protection import (
    ActionKind,
    FallbackProtection,
    Intent,
    fallback_intent,
    intent_from_plan,
    plan_protection,
)

D = Decimal
SPEC = make_spec(tick="0.01", contract_size="0.1", step="1", min_volume="1")
LONG_INTENT = Intent("k:BTC:1", D("95.00"), (D("105.00"), D("110.00")), D("0.5"), D(10))


def position(side: PositionSide = PositionSide.LONG, size: str = "10") -> Position:
    return Position(
        symbol="TESTUSDT",
        side=side,
        size=D(size),
        entry_price=D(100),
        mark_price=D(100),
        leverage=5,
        open_type=OpenType.ISOLATED,
        margin=D(20),
        unrealized_pnl=D(0),
        realized_pnl=D(0),
        liquidation_price=D(81),
        opened_ms=1,
    )


def trigger(
    kind: TriggerKind,
    price: str,
    size: str | None = None,
    *,
    oid: str = "t1",
    side: PositionSide = PositionSide.LONG,
) -> TriggerOrder:
    return TriggerOrder(
        order_id=oid,
        client_order_id=None,
        symbol="TESTUSDT",
        kind=kind,
        side=OrderSide.close(side),
        trigger_price=D(price),
        price_type=PriceType.LAST,
        execution_price=None,
        size=None if size is None else D(size),
        status=OrderStatus.OPEN,
        created_ms=1,
    )


def places(plan):  # type: ignore[no-untyped-def]
    return [a for a in plan.actions if a.kind is ActionKind.PLACE]


def test_bare_position_gets_a_whole_stop_a_whole_final_target_and_a_partial_first_target():
    plan = plan_protection(position(), [], LONG_INTENT, SPEC, D(100))
    assert not plan.had_stop
    got = {(a.role, a.trigger_kind, a.price, a.size) for a in places(plan)}
    assert got == {
        ("stop", TriggerKind.STOP_LOSS, D("95.00"), None),
        ("tp", TriggerKind.TAKE_PROFIT, D("110.00"), None),
        ("tp1", TriggerKind.TAKE_PROFIT, D("105.00"), D(5)),
    }
    # Protective orders are triggers (placed through submit_trigger_order), never plain limits.
    assert all(a.trigger_kind is not None for a in places(plan))


def test_fully_protected_position_needs_nothing_and_a_second_sweep_places_nothing():
    have = [
        trigger(TriggerKind.STOP_LOSS, "95.00", oid="s"),
        trigger(TriggerKind.TAKE_PROFIT, "110.00", oid="t2"),
        trigger(TriggerKind.TAKE_PROFIT, "105.00", "5", oid="t1"),
    ]
    plan = plan_protection(position(), have, LONG_INTENT, SPEC, D(100))
    assert plan.actions == ()
    assert plan.had_stop


def test_client_ids_are_deterministic_so_a_repeated_sweep_asks_for_the_same_triggers():
    first = plan_protection(position(), [], LONG_INTENT, SPEC, D(100))
    again = plan_protection(position(), [], LONG_INTENT, SPEC, D("100.5"))
    assert [a.client_order_id for a in places(first)] == [a.client_order_id for a in places(again)]
    assert len({a.client_order_id for a in places(first)}) == 3


def test_after_the_first_target_filled_it_is_not_placed_again():
    remaining = position(size="5")  # TP1 (5 of 10) has been taken
    have = [trigger(TriggerKind.STOP_LOSS, "95.00"), trigger(TriggerKind.TAKE_PROFIT, "110.00")]
    plan = plan_protection(remaining, have, LONG_INTENT, SPEC, D(106))
    assert plan.actions == ()


def test_partial_entry_fill_splits_what_was_filled():
    intent = Intent("k", D(95), (D(105), D(110)), D("0.5"), D(6))  # 6 of 10 filled
    plan = plan_protection(position(size="6"), [], intent, SPEC, D(100))
    tp1 = next(a for a in places(plan) if a.role == "tp1")
    assert tp1.size == D(3)


def test_a_split_below_the_volume_step_falls_back_to_one_whole_target():
    intent = Intent("k", D(95), (D(105), D(110)), D("0.5"), D(1))
    plan = plan_protection(position(size="1"), [], intent, SPEC, D(100))
    assert {a.role for a in places(plan)} == {"stop", "tp"}


def test_a_partial_stop_is_replaced_by_a_whole_one_placed_before_the_cancel():
    have = [trigger(TriggerKind.STOP_LOSS, "95.00", "4", oid="partial")]
    plan = plan_protection(position(), have, LONG_INTENT, SPEC, D(100))
    kinds = [(a.kind, a.role) for a in plan.actions]
    assert kinds.index((ActionKind.PLACE, "stop")) < kinds.index((ActionKind.CANCEL, "stop"))
    cancel = next(a for a in plan.actions if a.kind is ActionKind.CANCEL)
    assert cancel.order_id == "partial"


def test_an_existing_covering_stop_at_another_price_is_kept_and_noted():
    have = [
        trigger(TriggerKind.STOP_LOSS, "97.00"),
        trigger(TriggerKind.TAKE_PROFIT, "110.00"),
        trigger(TriggerKind.TAKE_PROFIT, "105.00", "5", oid="t1"),
    ]
    plan = plan_protection(position(), have, LONG_INTENT, SPEC, D(100))
    assert plan.actions == ()
    assert any("97.00" in n for n in plan.notes)


def test_a_wrong_size_first_target_is_replaced():
    have = [
        trigger(TriggerKind.STOP_LOSS, "95.00"),
        trigger(TriggerKind.TAKE_PROFIT, "110.00"),
        trigger(TriggerKind.TAKE_PROFIT, "105.00", "7", oid="old"),
    ]
    plan = plan_protection(position(), have, LONG_INTENT, SPEC, D(100))
    assert [(a.kind, a.size) for a in plan.actions] == [
        (ActionKind.PLACE, D(5)),
        (ActionKind.CANCEL, D(7)),
    ]


def test_unprotected_position_past_its_stop_is_closed_at_market():
    plan = plan_protection(position(), [], LONG_INTENT, SPEC, D("94.50"))
    assert [(a.kind, a.size) for a in plan.actions] == [(ActionKind.CLOSE, D(10))]


def test_a_crossed_target_is_not_placed_but_the_stop_is():
    plan = plan_protection(position(), [], LONG_INTENT, SPEC, D("107"))
    assert {a.role for a in places(plan)} == {"stop", "tp"}
    assert any("105.00" in n and "crossed" in n for n in plan.notes)


def test_short_positions_mirror_the_sides():
    intent = Intent("k", D(105), (D(95), D(90)), D("0.5"), D(10))
    have = [trigger(TriggerKind.STOP_LOSS, "105", side=PositionSide.LONG)]  # the other side's
    plan = plan_protection(position(PositionSide.SHORT), have, intent, SPEC, D(100))
    assert not plan.had_stop
    assert {(a.role, a.price) for a in places(plan)} == {
        ("stop", D(105)),
        ("tp", D(90)),
        ("tp1", D(95)),
    }
    assert (
        plan_protection(position(PositionSide.SHORT), [], intent, SPEC, D(106)).actions[0].kind
        is ActionKind.CLOSE
    )


def test_intent_from_a_recorded_plan():
    plan = {
        "stop_loss": "95.00",
        "size": "10",
        "targets": [{"price": "105.00", "size": "4"}, {"price": "110.00", "size": "6"}],
    }
    intent = intent_from_plan("key", plan, D(8), SPEC)
    assert intent is not None
    assert (intent.stop, intent.targets, intent.tp1_share, intent.entry_filled) == (
        D("95.00"),
        (D("105.00"), D("110.00")),
        D("0.4"),
        D(8),
    )
    assert intent_from_plan("key", {"skipped": "no_atr"}, None, SPEC) is None


def test_fallback_protection_risks_the_budget_within_the_distance_range():
    rule = FallbackProtection(D(1), D("0.2"), D(3), D("1.5"))
    intent = fallback_intent(position(size="10"), SPEC, rule)
    # 1 USDT over 10 x 0.1 = 1 unit of price: stop 1 below, target 1.5 above.
    assert (intent.stop, intent.targets) == (D("99.00"), (D("101.50"),))
    tiny = fallback_intent(position(size="1000"), SPEC, rule)  # 0.01: widened to 0.2 %
    assert tiny.stop == D("99.80")
    huge = fallback_intent(position(size="1"), SPEC, FallbackProtection(D(50), D(0), D(3), D(1)))
    assert huge.stop == D("97.00")  # clamped to 3 %


def test_a_sweep_verdict_counts_stops_placed_not_stops_cancelled():
    from tradeentry.guard import PROTECTED, UNPROTECTED
    from tradeentry.sweep import PositionReport

    def report(*actions: dict[str, object]) -> PositionReport:
        return PositionReport("X", "long", "10", had_stop=False, intent={}, actions=list(actions))

    cancelled = {"action": "cancel", "role": "stop", "why": "partial", "done": True}
    placed = {"action": "place", "role": "stop", "why": "bare", "done": True}
    closed = {"action": "close", "role": "close", "why": "crossed", "done": True}
    assert report(cancelled).status == UNPROTECTED
    assert report(placed, cancelled).status == PROTECTED
    assert report(closed).status == PROTECTED
