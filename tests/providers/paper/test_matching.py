"""A new order meets the book: fill, rest, reject or cancel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.paper.matching import Action, admit, cost, decide
from providers.paper.quotes import top_of_book
from providers.types import OrderMode, OrderSide, OrderStatus

from .factory import COSTS, SPEC, T0, D, bar, book, order

LAST = D("40000")
QUOTE = top_of_book(SPEC, bar(-1, "40000", "40000", "40000", "40000"), D(2))
BUY = OrderSide.BUY_OPEN_LONG
SELL = OrderSide.SELL_OPEN_SHORT


def test_quote_is_what_the_cases_below_assume() -> None:
    assert (QUOTE.bid, QUOTE.ask) == (D("39996"), D("40004"))


@pytest.mark.parametrize(
    ("side", "expected"), [(BUY, "40040.0"), (SELL, "39960.0")], ids=["buy", "sell"]
)
def test_market_orders_fill_at_the_last_price_with_slippage(side: OrderSide, expected: str) -> None:
    outcome = decide(SPEC, order("1", side, 1, None).order, QUOTE, LAST, COSTS)
    assert (outcome.action, outcome.price, outcome.maker) == (Action.FILL, D(expected), False)


@pytest.mark.parametrize(
    ("side", "price", "mode", "action", "at"),
    [
        (BUY, "40010", OrderMode.GTC, Action.FILL, "40004"),
        (BUY, "40004", OrderMode.FOK, Action.FILL, "40004"),
        (SELL, "39996", OrderMode.IOC, Action.FILL, "39996"),
        (BUY, "40004", OrderMode.MAKER_ONLY, Action.REJECT, "40004"),
        (SELL, "39990", OrderMode.MAKER_ONLY, Action.REJECT, "39990"),
        (BUY, "40003.9", OrderMode.MAKER_ONLY, Action.REST, "40003.9"),
        (BUY, "39990", OrderMode.GTC, Action.REST, "39990"),
        (BUY, "39990", OrderMode.IOC, Action.CANCEL, "39990"),
        (SELL, "40010", OrderMode.FOK, Action.CANCEL, "40010"),
    ],
)
def test_limit_orders(
    side: OrderSide, price: str, mode: OrderMode, action: Action, at: str
) -> None:
    outcome = decide(SPEC, order("1", side, 1, price, mode=mode).order, QUOTE, LAST, COSTS)
    assert (outcome.action, outcome.price) == (action, D(at))
    assert outcome.maker is (action is not Action.FILL)


def test_cost_is_margin_plus_fee() -> None:
    new = order("1", BUY, 10, "39990", leverage=20).order
    outcome = decide(SPEC, new, QUOTE, LAST, COSTS)
    # 10 x 0.001 x 39990 = 399.9 notional: 19.995 margin at 20x, 0.07998 maker fee.
    assert cost(SPEC, new, outcome, COSTS) == Decimal("20.07498")


def test_closing_and_unplaced_orders_cost_nothing() -> None:
    close = order("1", OrderSide.SELL_CLOSE_LONG, 10, None).order
    assert cost(SPEC, close, decide(SPEC, close, QUOTE, LAST, COSTS), COSTS) == 0
    rejected = order("2", BUY, 10, "40010", mode=OrderMode.MAKER_ONLY).order
    assert cost(SPEC, rejected, decide(SPEC, rejected, QUOTE, LAST, COSTS), COSTS) == 0


@pytest.mark.parametrize(
    ("mode", "price", "status", "on_book"),
    [
        (OrderMode.MAKER_ONLY, "40010", OrderStatus.REJECTED, False),
        (OrderMode.IOC, "39990", OrderStatus.CANCELLED, False),
        (OrderMode.GTC, "39990", OrderStatus.OPEN, True),
        (OrderMode.GTC, "40010", OrderStatus.FILLED, False),
    ],
)
def test_admit_records_the_outcome(
    mode: OrderMode, price: str, status: OrderStatus, on_book: bool
) -> None:
    new = order("1", BUY, 2, price, mode=mode)
    outcome = decide(SPEC, new.order, QUOTE, LAST, COSTS)

    after = admit(book(), new, outcome, ms=T0, costs=COSTS)

    assert after.latest("1").status is status
    assert bool(after.orders) is on_book
    assert bool(after.holdings) is (status is OrderStatus.FILLED)
