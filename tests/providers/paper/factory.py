"""Hand-made contracts, bars, orders, triggers and positions for the pure core."""

from __future__ import annotations

from decimal import Decimal

from providers.paper.book import Book, Costs, Working
from providers.paper.ledger import Holding, margin
from providers.paper.quotes import Bar
from providers.types import (
    ContractSpec,
    OpenType,
    Order,
    OrderMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PriceType,
    TriggerKind,
    TriggerOrder,
)

T0 = 1_704_067_200_000
MINUTE = 60_000

SPEC = ContractSpec(
    symbol="BTCUSDT",
    base_currency="BTC",
    quote_currency="USDT",
    tick_size=Decimal("0.1"),
    contract_size=Decimal("0.001"),
    volume_step=Decimal(1),
    min_volume=Decimal(1),
    max_volume=Decimal(1000),
    market_max_volume=Decimal(500),
    min_leverage=1,
    max_leverage=100,
)

COSTS = Costs(maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0006"), slippage_bps=Decimal(10))


def D(value: str | int) -> Decimal:
    return Decimal(value)


def bar(minute: int, o: str, h: str, lo: str, c: str, volume: str = "100") -> Bar:
    """The candle opening `minute` minutes after T0."""
    start = T0 + minute * MINUTE
    return Bar(start, start + MINUTE, D(o), D(h), D(lo), D(c), D(volume))


def order(
    order_id: str,
    side: OrderSide,
    size: str | int,
    price: str | None,
    *,
    created_ms: int = T0,
    leverage: int = 10,
    mode: OrderMode = OrderMode.GTC,
    take_profit: str | None = None,
    stop_loss: str | None = None,
    preset_price_type: PriceType = PriceType.LAST,
) -> Working:
    return Working(
        Order(
            order_id=order_id,
            client_order_id=None,
            symbol=SPEC.symbol,
            side=side,
            type=OrderType.MARKET if price is None else OrderType.LIMIT,
            mode=mode,
            price=None if price is None else D(price),
            size=D(size),
            filled_size=D(0),
            avg_fill_price=None,
            status=OrderStatus.OPEN,
            reduce_only=side.is_close,
            leverage=leverage,
            open_type=OpenType.ISOLATED,
            preset_take_profit=None if take_profit is None else D(take_profit),
            preset_stop_loss=None if stop_loss is None else D(stop_loss),
            fee=D(0),
            created_ms=created_ms,
            updated_ms=created_ms,
        ),
        preset_price_type,
    )


def trigger(
    order_id: str,
    kind: TriggerKind,
    side: PositionSide,
    price: str,
    *,
    created_ms: int = T0,
    size: str | None = None,
    execution_price: str | None = None,
) -> TriggerOrder:
    return TriggerOrder(
        order_id=order_id,
        client_order_id=None,
        symbol=SPEC.symbol,
        kind=kind,
        side=OrderSide.close(side),
        trigger_price=D(price),
        price_type=PriceType.LAST,
        execution_price=None if execution_price is None else D(execution_price),
        size=None if size is None else D(size),
        status=OrderStatus.OPEN,
        created_ms=created_ms,
    )


def holding(side: PositionSide, size: str | int, entry: str, *, leverage: int = 10) -> Holding:
    return Holding(
        symbol=SPEC.symbol,
        side=side,
        size=D(size),
        entry_price=D(entry),
        leverage=leverage,
        open_type=OpenType.ISOLATED,
        margin=margin(SPEC, D(size), D(entry), leverage),
        realized_pnl=D(0),
        opened_ms=T0,
        updated_ms=T0,
    )


def book(
    *,
    orders: tuple[Working, ...] = (),
    triggers: tuple[TriggerOrder, ...] = (),
    holdings: tuple[Holding, ...] = (),
    next_id: int = 100,
) -> Book:
    return Book(SPEC, orders=orders, triggers=triggers, holdings=holdings, next_id=next_id)


def statuses(result: Book) -> dict[str, OrderStatus]:
    """Final status of every order and trigger the book journalled."""
    out: dict[str, OrderStatus] = {}
    for entry in result.journal:
        if isinstance(entry, Working):
            out[entry.order.order_id] = entry.order.status
        else:
            out[entry.order_id] = entry.status
    return out
