"""Placing, validating, deduplicating and cancelling orders."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from providers.port import (
    Exchange,
    InsufficientBalanceError,
    InvalidOrderError,
    NotFoundError,
)
from providers.types import (
    OpenType,
    OrderMode,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)

from .market import Market, btc_spec
from .orders import at_market, limit

BUY = OrderSide.BUY_OPEN_LONG
SELL_SHORT = OrderSide.SELL_OPEN_SHORT
CLOSE_LONG = OrderSide.SELL_CLOSE_LONG


def test_limit_order_rests_open_and_is_listed(exchange: Exchange, btc: str) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900.0", client_order_id="rest1"))

    assert order.status is OrderStatus.OPEN
    assert order.type is OrderType.LIMIT
    assert (order.size, order.filled_size, order.price) == (5, 0, Decimal("39900"))
    assert order.client_order_id == "rest1"
    assert [o.order_id for o in exchange.open_orders(btc)] == [order.order_id]
    assert exchange.open_orders("ETHUSDT") == []
    assert exchange.order(btc, order_id=order.order_id).order_id == order.order_id
    assert exchange.order(btc, client_order_id="rest1").order_id == order.order_id
    assert exchange.positions() == []


def test_resting_order_reserves_margin(exchange: Exchange, btc: str) -> None:
    exchange.submit_order(limit(BUY, 5, "39900.0"))

    balance = exchange.balance()
    # 5 contracts x 0.001 BTC x 39900 at leverage 10.
    assert balance.order_margin == Decimal("19.95")
    assert balance.available == balance.equity - balance.order_margin


def test_client_order_id_is_idempotent(exchange: Exchange, btc: str) -> None:
    first = exchange.submit_order(limit(BUY, 5, "39900.0", client_order_id="abc123"))
    again = exchange.submit_order(limit(BUY, 5, "39900.0", client_order_id="abc123"))

    assert again.order_id == first.order_id
    assert len(exchange.open_orders(btc)) == 1


def test_repeated_market_order_fills_once(exchange: Exchange, btc: str) -> None:
    exchange.submit_order(at_market(BUY, 10, client_order_id="entry7"))
    exchange.submit_order(at_market(BUY, 10, client_order_id="entry7"))

    [position] = exchange.positions(btc)
    assert position.size == 10


@pytest.mark.parametrize(
    ("request_", "rule"),
    [
        (limit(BUY, 5, "39900.05"), "tick"),
        (limit(BUY, "1.5", "39900.0"), "step"),
        (limit(BUY, 1001, "39900.0"), "max_volume"),
        (at_market(BUY, 501), "market_max_volume"),
        (limit(BUY, 5, "39900.0", leverage=101), "leverage"),
    ],
    ids=["off-tick", "off-step", "above-max", "market-above-max", "leverage"],
)
def test_order_breaking_a_rule_is_invalid(
    exchange: Exchange, btc: str, request_: OrderRequest, rule: str
) -> None:
    with pytest.raises(InvalidOrderError, match=rule):
        exchange.submit_order(request_)
    assert exchange.open_orders(btc) == []


def test_size_below_minimum_is_invalid(market: Market, exchange: Exchange, btc: str) -> None:
    market.list(btc_spec(min_volume=Decimal(2)))
    with pytest.raises(InvalidOrderError, match="min_volume"):
        exchange.submit_order(limit(BUY, 1, "39900.0"))


def test_maker_only_order_that_would_take_is_not_placed(exchange: Exchange, btc: str) -> None:
    order = exchange.submit_order(limit(BUY, 5, "40100.0", mode=OrderMode.MAKER_ONLY))

    assert order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
    assert not order.status.is_open
    assert order.filled_size == 0
    assert exchange.open_orders(btc) == []
    assert exchange.positions(btc) == []


def test_maker_only_order_that_would_rest_is_open(exchange: Exchange, btc: str) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900.0", mode=OrderMode.MAKER_ONLY))
    assert order.status is OrderStatus.OPEN


def test_market_order_opens_position_with_preset_triggers(exchange: Exchange, btc: str) -> None:
    order = exchange.submit_order(at_market(BUY, 10, take_profit="40500.0", stop_loss="39500.0"))

    assert order.status is OrderStatus.FILLED
    assert order.filled_size == order.size == 10
    [position] = exchange.positions(btc)
    assert position.side == "long"
    assert position.size == 10
    assert position.entry_price == order.avg_fill_price
    assert position.leverage == 10
    assert position.open_type is OpenType.ISOLATED
    triggers = {t.kind.value: t for t in exchange.trigger_orders(btc)}
    assert set(triggers) == {"take_profit", "stop_loss"}
    assert triggers["take_profit"].trigger_price == Decimal("40500")
    assert triggers["stop_loss"].trigger_price == Decimal("39500")
    assert all(t.side is CLOSE_LONG and t.status.is_open for t in triggers.values())
    assert exchange.open_orders(btc) == []


def test_closing_without_a_position_is_invalid(exchange: Exchange, btc: str) -> None:
    with pytest.raises(InvalidOrderError, match="position"):
        exchange.submit_order(at_market(CLOSE_LONG, 1))


def test_close_order_reduces_the_position(exchange: Exchange, btc: str) -> None:
    exchange.submit_order(at_market(BUY, 10))
    exchange.submit_order(at_market(CLOSE_LONG, 4))

    [position] = exchange.positions(btc)
    assert position.size == 6


def test_cancel_open_order(exchange: Exchange, btc: str) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900.0"))

    exchange.cancel_order(btc, order_id=order.order_id)

    assert exchange.open_orders(btc) == []
    cancelled = exchange.order(btc, order_id=order.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.filled_size == 0
    assert exchange.balance().order_margin == 0
    with pytest.raises(NotFoundError):
        exchange.cancel_order(btc, order_id=order.order_id)


def test_cancel_by_client_order_id(exchange: Exchange, btc: str) -> None:
    exchange.submit_order(limit(BUY, 5, "39900.0", client_order_id="c1"))
    exchange.cancel_order(btc, client_order_id="c1")
    assert exchange.order(btc, client_order_id="c1").status is OrderStatus.CANCELLED


def test_unknown_orders_are_not_found(exchange: Exchange, btc: str) -> None:
    with pytest.raises(NotFoundError):
        exchange.cancel_order(btc, order_id="987654321")
    with pytest.raises(NotFoundError):
        exchange.order(btc, order_id="987654321")
    with pytest.raises(NotFoundError):
        exchange.order(btc, client_order_id="neverused")


def test_leverage_bounds(exchange: Exchange, btc: str) -> None:
    assert exchange.set_leverage(btc, 20, OpenType.ISOLATED) == 20
    assert exchange.set_leverage(btc, 100, OpenType.ISOLATED) == 100
    with pytest.raises(InvalidOrderError, match="leverage"):
        exchange.set_leverage(btc, 0, OpenType.ISOLATED)
    with pytest.raises(InvalidOrderError, match="leverage"):
        exchange.set_leverage(btc, 101, OpenType.ISOLATED)


def test_new_orders_use_the_leverage_set(exchange: Exchange, btc: str) -> None:
    exchange.set_leverage(btc, 20, OpenType.ISOLATED)
    exchange.submit_order(at_market(BUY, 10))

    [position] = exchange.positions(btc)
    assert position.leverage == 20
    assert position.margin == position.size * Decimal("0.001") * position.entry_price / 20


def test_insufficient_balance(exchange: Exchange, btc: str) -> None:
    exchange.set_leverage(btc, 1, OpenType.ISOLATED)
    with pytest.raises(InsufficientBalanceError):
        exchange.submit_order(at_market(BUY, 100))  # 4000 USDT of margin on a 1000 USDT account
    with pytest.raises(InsufficientBalanceError):
        exchange.submit_order(limit(BUY, 100, "39900.0"))
    assert exchange.positions(btc) == []
    assert exchange.open_orders(btc) == []


def test_short_position(exchange: Exchange, btc: str) -> None:
    exchange.submit_order(at_market(SELL_SHORT, 3, take_profit="39000.0", stop_loss="41000.0"))

    [position] = exchange.positions(btc)
    assert position.side == "short"
    assert position.size == 3
    assert {t.side for t in exchange.trigger_orders(btc)} == {OrderSide.BUY_CLOSE_SHORT}


def test_concurrent_retries_place_one_order(market: Market, exchange: Exchange, btc: str) -> None:
    clients = [market.restart() for _ in range(4)]
    errors: list[BaseException] = []

    def submit(client: Exchange) -> None:
        try:
            client.submit_order(at_market(BUY, 10, client_order_id="race7"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    [position] = exchange.positions(btc)
    assert position.size == 10
