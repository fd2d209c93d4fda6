"""The candle walk: which bars fill what, at which price, in which order."""

from __future__ import annotations

from decimal import Decimal

from providers.paper.fills import simulate, step
from providers.types import (
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PriceType,
    TriggerKind,
    TriggerOrder,
)

from .factory import COSTS, MINUTE, T0, D, bar, book, holding, order, statuses, trigger

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
TP, SL = TriggerKind.TAKE_PROFIT, TriggerKind.STOP_LOSS
BUY = OrderSide.BUY_OPEN_LONG
SELL_SHORT = OrderSide.SELL_OPEN_SHORT
CLOSE_LONG = OrderSide.SELL_CLOSE_LONG


def test_buy_limit_needs_a_trade_below_its_price() -> None:
    start = book(orders=(order("1", BUY, 5, "39900"),))

    touched = step(start, bar(0, "40000", "40050", "39900", "39950"), COSTS)
    assert touched == start

    through = step(touched, bar(1, "39950", "39960", "39899.9", "39920"), COSTS)
    [fill] = through.fills
    assert (fill.price, fill.size, fill.maker) == (D("39900"), D(5), True)
    assert fill.fee == Decimal("0.0399")  # 5 x 0.001 x 39900 x 0.0002
    assert fill.ms == T0 + 2 * MINUTE  # known when the bar closed
    assert statuses(through) == {"1": OrderStatus.FILLED}
    position = through.holding(LONG)
    assert position is not None
    assert (position.size, position.entry_price) == (D(5), D("39900"))
    assert through.orders == ()


def test_sell_limit_needs_a_trade_above_its_price() -> None:
    start = book(orders=(order("1", SELL_SHORT, 3, "40100"),))

    assert step(start, bar(0, "40000", "40100", "39950", "40050"), COSTS) == start
    through = step(start, bar(0, "40000", "40100.1", "39950", "40050"), COSTS)
    short = through.holding(SHORT)
    assert short is not None and short.entry_price == D("40100")


def test_order_placed_during_a_bar_ignores_that_bar() -> None:
    start = book(orders=(order("1", BUY, 5, "39900", created_ms=T0 + 5_000),))

    assert step(start, bar(0, "40000", "40000", "39000", "39100"), COSTS) == start
    later = step(start, bar(1, "39100", "40000", "39000", "39500"), COSTS)
    assert statuses(later)["1"] is OrderStatus.FILLED


def test_stop_fires_before_take_profit_in_the_same_bar_long() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),),
        triggers=(trigger("2", TP, LONG, "40500"), trigger("3", SL, LONG, "39500")),
    )

    after = step(start, bar(0, "40000", "40600", "39400", "40000"), COSTS)

    assert after.holdings == ()
    assert after.triggers == ()
    assert statuses(after) == {
        "3": OrderStatus.FILLED,
        "2": OrderStatus.CANCELLED,
        "100": OrderStatus.FILLED,
    }
    [fill] = after.fills
    assert fill.price == D("39460.5")  # 39500 less 10 bps
    assert fill.maker is False
    assert fill.realized_pnl == Decimal("-5.395")
    assert fill.fee == Decimal("0.23676300")
    closing = after.latest("100")
    assert (closing.type, closing.side, closing.reduce_only) == (
        OrderType.MARKET,
        CLOSE_LONG,
        True,
    )


def test_stop_fires_before_take_profit_in_the_same_bar_short() -> None:
    start = book(
        holdings=(holding(SHORT, 10, "40000"),),
        triggers=(trigger("2", TP, SHORT, "39500"), trigger("3", SL, SHORT, "40500")),
    )

    after = step(start, bar(0, "40000", "40600", "39400", "40000"), COSTS)

    [fill] = after.fills
    assert fill.side is OrderSide.BUY_CLOSE_SHORT
    assert fill.price == D("40540.5")  # 40500 plus 10 bps
    assert fill.realized_pnl == Decimal("-5.405")
    assert statuses(after)["2"] is OrderStatus.CANCELLED


def test_take_profit_fills_at_its_trigger() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),), triggers=(trigger("2", TP, LONG, "40500"),)
    )

    [fill] = step(start, bar(0, "40000", "40600", "39900", "40550"), COSTS).fills

    assert fill.price == D("40500")
    assert fill.realized_pnl == Decimal(5)


def test_stop_gapped_through_fills_at_the_open() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),), triggers=(trigger("3", SL, LONG, "39500"),)
    )

    [fill] = step(start, bar(0, "39300", "39350", "39200", "39250"), COSTS).fills

    assert fill.price == D("39260.7")  # the open, 39300, less 10 bps


def test_stop_armed_by_a_fill_fires_in_the_same_bar() -> None:
    entry = order("1", BUY, 10, "39900", take_profit="40200", stop_loss="39600")

    after = step(book(orders=(entry,)), bar(0, "40000", "40300", "39500", "40100"), COSTS)

    assert after.holdings == ()
    opened, stopped = after.fills
    assert opened.price == D("39900")
    assert stopped.price == D("39560.4")  # the stop less slippage: no gap for a fresh stop
    kinds = {e.kind: e.status for e in after.journal if isinstance(e, TriggerOrder)}
    assert kinds == {TP: OrderStatus.CANCELLED, SL: OrderStatus.FILLED}


def test_take_profit_armed_by_a_fill_waits_for_the_next_bar() -> None:
    entry = order("1", BUY, 10, "39900", take_profit="40200", stop_loss="39600")

    first = step(book(orders=(entry,)), bar(0, "40000", "40300", "39700", "40100"), COSTS)
    assert first.holding(LONG) is not None
    assert {t.kind for t in first.triggers} == {TP, SL}

    second = step(first, bar(1, "40100", "40250", "40050", "40200"), COSTS)
    assert second.holdings == ()
    assert second.fills[-1].price == D("40200")


def test_preset_triggers_watch_the_price_type_of_the_order() -> None:
    entry = order("1", BUY, 1, "39900", stop_loss="39000", preset_price_type=PriceType.MARK)
    after = step(book(orders=(entry,)), bar(0, "40000", "40000", "39800", "39900"), COSTS)
    [stop] = after.triggers
    assert stop.price_type is PriceType.MARK
    assert stop.size is None
    assert stop.created_ms == T0 + MINUTE


def test_add_fills_before_the_stop_below_it() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),),
        orders=(order("1", BUY, 5, "39800"),),
        triggers=(trigger("3", SL, LONG, "39500"),),
    )

    after = step(start, bar(0, "40000", "40000", "39400", "39450"), COSTS)

    assert after.holdings == ()
    added, stopped = after.fills
    assert (added.order_id, added.size) == ("1", D(5))
    assert stopped.size == D(15)


def test_short_side_walks_up_first() -> None:
    start = book(
        holdings=(holding(SHORT, 10, "40000"),),
        orders=(order("1", SELL_SHORT, 5, "40200"),),
        triggers=(trigger("3", SL, SHORT, "40500"), trigger("4", TP, SHORT, "39000")),
    )

    after = step(start, bar(0, "40000", "40600", "38900", "39000"), COSTS)

    assert after.holdings == ()
    assert [f.size for f in after.fills] == [D(5), D(15)]
    assert statuses(after)["4"] is OrderStatus.CANCELLED


def test_stop_beats_a_closing_limit_in_the_same_bar() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),),
        orders=(order("1", CLOSE_LONG, 10, "40300"),),
        triggers=(trigger("3", SL, LONG, "39500"),),
    )

    after = step(start, bar(0, "40000", "40400", "39400", "40000"), COSTS)

    [fill] = after.fills
    assert fill.order_id == "100"
    assert statuses(after)["1"] is OrderStatus.CANCELLED
    assert after.latest("1").filled_size == 0


def test_trigger_with_an_execution_price_places_a_limit() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),),
        triggers=(trigger("3", SL, LONG, "39500", execution_price="39450"),),
    )

    fired = step(start, bar(0, "40000", "40000", "39480", "39490"), COSTS)
    assert fired.fills == ()
    [working] = fired.orders
    placed = working.order
    assert (placed.type, placed.side, placed.price, placed.size) == (
        OrderType.LIMIT,
        CLOSE_LONG,
        D("39450"),
        D(10),
    )
    assert placed.reduce_only and placed.created_ms == T0 + MINUTE

    closed = step(fired, bar(1, "39490", "39500", "39400", "39420"), COSTS)
    [fill] = closed.fills
    assert (fill.price, fill.maker) == (D("39450"), True)
    assert closed.holdings == ()


def test_sized_take_profit_closes_part_of_the_position() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),),
        triggers=(trigger("2", TP, LONG, "40500", size="4"), trigger("3", SL, LONG, "39500")),
    )

    after = step(start, bar(0, "40000", "40600", "39900", "40550"), COSTS)

    position = after.holding(LONG)
    assert position is not None and position.size == 6
    assert position.realized_pnl == Decimal(2)
    assert [t.order_id for t in after.triggers] == ["3"]


def test_higher_long_stop_fires_first() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"),),
        triggers=(
            trigger("2", SL, LONG, "39500", size="3"),
            trigger("3", SL, LONG, "39700", size="3"),
        ),
    )

    shallow = step(start, bar(0, "40000", "40000", "39600", "39650"), COSTS)
    assert [t.order_id for t in shallow.triggers] == ["2"]
    deep = step(start, bar(0, "40000", "40000", "39400", "39450"), COSTS)
    assert [f.price for f in deep.fills] == [D("39660.3"), D("39460.5")]
    position = deep.holding(LONG)
    assert position is not None and position.size == 4


def test_close_order_larger_than_the_position_fills_what_there_is() -> None:
    start = book(
        holdings=(holding(LONG, 5, "40000"),), orders=(order("1", CLOSE_LONG, 10, "40100"),)
    )

    after = step(start, bar(0, "40000", "40200", "39950", "40150"), COSTS)

    closed = after.latest("1")
    assert (closed.status, closed.filled_size) == (OrderStatus.CANCELLED, D(5))
    assert after.holdings == ()


def test_close_order_without_a_position_is_cancelled() -> None:
    start = book(orders=(order("1", CLOSE_LONG, 10, "40100"),))

    after = step(start, bar(0, "40000", "40200", "39950", "40150"), COSTS)

    assert statuses(after) == {"1": OrderStatus.CANCELLED}
    assert after.fills == ()


def test_closing_a_position_cancels_its_orders_but_not_the_other_side() -> None:
    start = book(
        holdings=(holding(LONG, 10, "40000"), holding(SHORT, 2, "40000")),
        orders=(
            order("1", CLOSE_LONG, 10, "41000"),
            order("2", OrderSide.BUY_CLOSE_SHORT, 2, "38000"),
        ),
        triggers=(trigger("3", SL, LONG, "39500"), trigger("4", SL, SHORT, "42000")),
    )

    after = step(start, bar(0, "40000", "40000", "39400", "39450"), COSTS)

    assert [h.side for h in after.holdings] == [SHORT]
    assert [w.order.order_id for w in after.orders] == ["2"]
    assert [t.order_id for t in after.triggers] == ["4"]


def test_simulate_walks_bars_in_order() -> None:
    start = book(orders=(order("1", BUY, 5, "39900", take_profit="40200"),))
    bars = [
        bar(0, "40000", "40000", "39800", "39900"),
        bar(1, "39900", "40300", "39900", "40250"),
    ]

    walked = simulate(start, bars, COSTS)

    assert walked == step(step(start, bars[0], COSTS), bars[1], COSTS)
    assert walked.holdings == ()
    assert sum(f.realized_pnl for f in walked.fills) == Decimal("1.5")
