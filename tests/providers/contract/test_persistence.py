"""State survives a restart of the adapter."""

from __future__ import annotations

from providers.port import Exchange
from providers.types import OrderSide, OrderStatus

from .market import Market
from .orders import at_market, limit


def test_restart_sees_the_same_state(market: Market, exchange: Exchange, btc: str) -> None:
    exchange.submit_order(
        at_market(OrderSide.BUY_OPEN_LONG, 10, take_profit="40500.0", stop_loss="39500.0")
    )
    resting = exchange.submit_order(
        limit(OrderSide.BUY_OPEN_LONG, 5, "39900.0", client_order_id="keep1")
    )
    market.play(btc, (40_000.0, 40_100.0, 39_950.0, 40_050.0))
    before = (
        exchange.balance(),
        exchange.positions(),
        exchange.open_orders(),
        exchange.trigger_orders(),
    )

    again = market.restart()

    after = (again.balance(), again.positions(), again.open_orders(), again.trigger_orders())
    assert after == before
    assert again.order(btc, client_order_id="keep1").order_id == resting.order_id

    market.play(btc, (40_050.0, 40_050.0, 39_800.0, 39_850.0))
    assert again.order(btc, order_id=resting.order_id).status is OrderStatus.FILLED
    [position] = again.positions(btc)
    assert position.size == 15
    assert exchange.positions(btc) == again.positions(btc)
