"""Take-profit and stop-loss orders attached to an open position."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.port import Exchange, InvalidOrderError, NotFoundError
from providers.types import OrderSide, PositionSide, TriggerKind

from .orders import at_market

TP = TriggerKind.TAKE_PROFIT
SL = TriggerKind.STOP_LOSS
LONG = PositionSide.LONG
SHORT = PositionSide.SHORT


@pytest.fixture
def long_btc(exchange: Exchange, btc: str) -> str:
    exchange.submit_order(at_market(OrderSide.BUY_OPEN_LONG, 10))
    return btc


def test_trigger_needs_an_open_position(exchange: Exchange, btc: str) -> None:
    with pytest.raises(NotFoundError, match="position"):
        exchange.submit_trigger_order(
            btc, kind=SL, position_side=LONG, trigger_price=Decimal("39000")
        )


def test_stop_and_take_profit_on_a_long(exchange: Exchange, long_btc: str) -> None:
    stop = exchange.submit_trigger_order(
        long_btc, kind=SL, position_side=LONG, trigger_price=Decimal("39000")
    )
    take = exchange.submit_trigger_order(
        long_btc, kind=TP, position_side=LONG, trigger_price=Decimal("41000"), client_order_id="tp1"
    )

    assert stop.side is take.side is OrderSide.SELL_CLOSE_LONG
    assert stop.status.is_open and take.status.is_open
    assert take.client_order_id == "tp1"
    listed = {t.order_id: t for t in exchange.trigger_orders(long_btc)}
    assert set(listed) == {stop.order_id, take.order_id}
    assert listed[stop.order_id].kind is SL
    assert listed[stop.order_id].trigger_price == Decimal("39000")
    assert exchange.open_orders(long_btc) == []


@pytest.mark.parametrize(
    ("kind", "price", "rule"),
    [
        (SL, "40100", "below"),
        (TP, "39900", "above"),
        (SL, "39000.05", "tick"),
    ],
    ids=["stop-above-price", "take-profit-below-price", "off-tick"],
)
def test_trigger_on_the_wrong_side_or_off_grid_is_invalid(
    exchange: Exchange, long_btc: str, kind: TriggerKind, price: str, rule: str
) -> None:
    with pytest.raises(InvalidOrderError, match=rule):
        exchange.submit_trigger_order(
            long_btc, kind=kind, position_side=LONG, trigger_price=Decimal(price)
        )
    assert exchange.trigger_orders(long_btc) == []


def test_short_triggers_are_mirrored(exchange: Exchange, btc: str) -> None:
    exchange.submit_order(at_market(OrderSide.SELL_OPEN_SHORT, 10))
    stop = exchange.submit_trigger_order(
        btc, kind=SL, position_side=SHORT, trigger_price=Decimal("40500")
    )
    assert stop.side is OrderSide.BUY_CLOSE_SHORT
    with pytest.raises(InvalidOrderError):
        exchange.submit_trigger_order(
            btc, kind=SL, position_side=SHORT, trigger_price=Decimal("39500")
        )


def test_cancel_trigger_order(exchange: Exchange, long_btc: str) -> None:
    stop = exchange.submit_trigger_order(
        long_btc, kind=SL, position_side=LONG, trigger_price=Decimal("39000")
    )

    exchange.cancel_trigger_order(long_btc, stop.order_id)

    assert exchange.trigger_orders(long_btc) == []
    with pytest.raises(NotFoundError):
        exchange.cancel_trigger_order(long_btc, stop.order_id)
    with pytest.raises(NotFoundError):
        exchange.cancel_trigger_order(long_btc, "987654321")
