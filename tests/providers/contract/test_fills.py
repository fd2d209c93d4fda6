"""Fills as the market moves: resting limits, stops and take-profits, and the money they move."""

from __future__ import annotations

from decimal import Decimal

from providers.port import Exchange
from providers.types import OrderSide, OrderStatus

from .market import Market
from .orders import at_market, limit

BUY = OrderSide.BUY_OPEN_LONG
SELL_SHORT = OrderSide.SELL_OPEN_SHORT
CONTRACT = Decimal("0.001")


def fee(market: Market, size: int, price: str, *, maker: bool = False) -> Decimal:
    rate = market.maker_fee if maker else market.taker_fee
    return size * CONTRACT * Decimal(price) * rate


def test_balance_after_a_fill(market: Market, exchange: Exchange, btc: str) -> None:
    order = exchange.submit_order(at_market(BUY, 10))
    entry = order.avg_fill_price
    assert entry is not None

    balance = exchange.balance()
    wallet = market.initial_balance - order.fee
    assert order.fee == fee(market, 10, str(entry))
    [position] = exchange.positions(btc)
    assert balance.unrealized_pnl == position.unrealized_pnl
    assert balance.equity == wallet + position.unrealized_pnl
    assert balance.position_margin == position.margin == 10 * CONTRACT * entry / 10
    assert balance.order_margin == 0
    assert balance.available == balance.equity - balance.position_margin

    market.play(btc, (40_000.0, 40_150.0, 39_950.0, 40_100.0))
    [position] = exchange.positions(btc)
    assert position.mark_price == Decimal("40100")
    assert position.unrealized_pnl == (Decimal("40100") - entry) * 10 * CONTRACT
    assert exchange.balance().equity == wallet + position.unrealized_pnl


def test_limit_fills_when_the_price_trades_through_later(
    market: Market, exchange: Exchange, btc: str
) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900.0"))

    market.play(btc, (40_000.0, 40_050.0, 39_950.0, 40_000.0))
    assert exchange.order(btc, order_id=order.order_id).status is OrderStatus.OPEN
    assert exchange.positions(btc) == []

    market.play(btc, (40_000.0, 40_000.0, 39_850.0, 39_900.0))
    filled = exchange.order(btc, order_id=order.order_id)
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_size == filled.size == 5
    assert filled.avg_fill_price == Decimal("39900")
    assert filled.fee == fee(market, 5, "39900", maker=True)
    assert exchange.open_orders(btc) == []
    [position] = exchange.positions(btc)
    assert (position.size, position.entry_price) == (5, Decimal("39900"))


def test_resting_limit_with_presets_arms_them_when_it_fills(
    market: Market, exchange: Exchange, btc: str
) -> None:
    exchange.submit_order(limit(BUY, 5, "39900.0", take_profit="40400.0", stop_loss="39400.0"))
    assert exchange.trigger_orders(btc) == []

    market.play(btc, (40_000.0, 40_000.0, 39_850.0, 39_900.0))
    kinds = sorted(t.kind.value for t in exchange.trigger_orders(btc))
    assert kinds == ["stop_loss", "take_profit"]


def test_stop_loss_closes_the_position(market: Market, exchange: Exchange, btc: str) -> None:
    entry = exchange.submit_order(at_market(BUY, 10, take_profit="40500.0", stop_loss="39500.0"))
    assert entry.avg_fill_price == Decimal("40000")

    market.play(btc, (40_000.0, 40_100.0, 39_400.0, 39_450.0))

    assert exchange.positions(btc) == []
    assert exchange.trigger_orders(btc) == []
    pnl = (Decimal("39500") - Decimal("40000")) * 10 * CONTRACT
    fees = fee(market, 10, "40000") + fee(market, 10, "39500")
    balance = exchange.balance()
    assert balance.equity == market.initial_balance + pnl - fees
    assert balance.available == balance.equity
    assert balance.position_margin == balance.unrealized_pnl == 0


def test_take_profit_closes_the_position(market: Market, exchange: Exchange, btc: str) -> None:
    exchange.submit_order(at_market(BUY, 10, take_profit="40500.0", stop_loss="39500.0"))

    market.play(btc, (40_000.0, 40_600.0, 39_900.0, 40_550.0))

    assert exchange.positions(btc) == []
    assert exchange.trigger_orders(btc) == []
    pnl = (Decimal("40500") - Decimal("40000")) * 10 * CONTRACT
    fees = fee(market, 10, "40000") + fee(market, 10, "40500")
    assert exchange.balance().equity == market.initial_balance + pnl - fees


def test_short_stop_loss_loses_money(market: Market, exchange: Exchange, btc: str) -> None:
    exchange.submit_order(at_market(SELL_SHORT, 10, take_profit="39500.0", stop_loss="40500.0"))

    market.play(btc, (40_000.0, 40_600.0, 39_950.0, 40_550.0))

    assert exchange.positions(btc) == []
    pnl = (Decimal("40000") - Decimal("40500")) * 10 * CONTRACT
    fees = fee(market, 10, "40000") + fee(market, 10, "40500")
    assert exchange.balance().equity == market.initial_balance + pnl - fees


def test_nothing_fills_before_the_price_gets_there(
    market: Market, exchange: Exchange, btc: str
) -> None:
    exchange.submit_order(at_market(BUY, 10, take_profit="40500.0", stop_loss="39500.0"))
    market.play(btc, *[(40_000.0, 40_200.0, 39_800.0, 40_000.0)] * 5)

    [position] = exchange.positions(btc)
    assert position.size == 10
    assert len(exchange.trigger_orders(btc)) == 2


def test_fills_list_the_entry_and_the_stop_that_closed_it(
    market: Market, exchange: Exchange, btc: str
) -> None:
    since = market.now()
    entry = exchange.submit_order(at_market(BUY, 10, take_profit="40500.0", stop_loss="39500.0"))
    market.advance(60_000)
    market.play(btc, (40_000.0, 40_100.0, 39_400.0, 39_450.0))
    assert exchange.positions(btc) == []

    opened, closed = exchange.fills(btc, since_ms=since)
    assert opened.order_id == entry.order_id and opened.side is BUY
    assert (opened.price, opened.size, opened.fee) == (Decimal("40000"), 10, entry.fee)
    assert closed.side is OrderSide.SELL_CLOSE_LONG and closed.size == 10
    assert closed.price == Decimal("39500") and closed.fee == fee(market, 10, "39500")
    assert opened.time_ms <= closed.time_ms
    assert exchange.fills(btc, since_ms=closed.time_ms + 1) == []
    assert [f.order_id for f in exchange.fills()] == [opened.order_id, closed.order_id]
