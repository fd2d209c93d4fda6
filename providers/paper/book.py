"""The book of one symbol on a paper account and the transitions that change it (pure).

A `Book` holds the working orders, active triggers and positions of one symbol. Every
transition returns a new book; its `journal` keeps the newest state of each order or trigger
touched and its `fills` every execution, so the persistence shell writes exactly those.

Status rules follow `OrderStatus`: an order taken off the book is FILLED when all of it
filled, REJECTED when the exchange refused it, CANCELLED otherwise (even after a partial fill).
A fired trigger reads FILLED; the reduce-only order it placed carries the execution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from providers.paper import ledger
from providers.paper.ledger import PRICE, ZERO, Holding
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


@dataclass(frozen=True)
class Costs:
    """Fee rates (fractions of notional) and the slippage of market executions (bps)."""

    maker_fee: Decimal
    taker_fee: Decimal
    slippage_bps: Decimal

    def rate(self, *, maker: bool) -> Decimal:
        return self.maker_fee if maker else self.taker_fee


@dataclass(frozen=True)
class Working:
    """A normal order and the price type its preset take-profit/stop-loss will watch."""

    order: Order
    preset_price_type: PriceType = PriceType.LAST


@dataclass(frozen=True)
class Fill:
    """One execution: `realized_pnl` is the price PnL it closed, `fee` what it paid."""

    order_id: str
    symbol: str
    side: OrderSide
    price: Decimal
    size: Decimal
    fee: Decimal
    realized_pnl: Decimal
    maker: bool
    ms: int


@dataclass(frozen=True)
class Book:
    """Working orders, active triggers and positions of one symbol; ids come from `next_id`."""

    spec: ContractSpec
    orders: tuple[Working, ...] = ()
    triggers: tuple[TriggerOrder, ...] = ()
    holdings: tuple[Holding, ...] = ()
    next_id: int = 1
    journal: tuple[Working | TriggerOrder, ...] = ()
    fills: tuple[Fill, ...] = ()

    def holding(self, side: PositionSide) -> Holding | None:
        return next((h for h in self.holdings if h.side is side), None)

    def working(self, order_id: str) -> Working | None:
        return next((w for w in self.orders if w.order.order_id == order_id), None)

    def trigger(self, order_id: str) -> TriggerOrder | None:
        return next((t for t in self.triggers if t.order_id == order_id), None)

    def latest(self, order_id: str) -> Order:
        """The newest state of an order this book placed or touched."""
        for entry in reversed(self.journal):
            if isinstance(entry, Working) and entry.order.order_id == order_id:
                return entry.order
        raise KeyError(order_id)


def allocate(book: Book) -> tuple[Book, str]:
    """A fresh order id."""
    return replace(book, next_id=book.next_id + 1), str(book.next_id)


def place(book: Book, working: Working) -> Book:
    """Put a new open order on the book."""
    return replace(book, orders=(*book.orders, working), journal=(*book.journal, working))


def finish(book: Book, order_id: str, ms: int, *, rejected: bool = False) -> Book:
    """Take an open order off the book with its final status."""
    working = _require_order(book, order_id)
    order = working.order
    if order.filled_size == order.size:
        status = OrderStatus.FILLED
    elif rejected and order.filled_size == 0:
        status = OrderStatus.REJECTED
    else:
        status = OrderStatus.CANCELLED
    done = replace(working, order=replace(order, status=status, updated_ms=ms))
    return replace(
        book,
        orders=tuple(w for w in book.orders if w.order.order_id != order_id),
        journal=(*book.journal, done),
    )


def attach(book: Book, trigger: TriggerOrder) -> Book:
    """Add an active trigger."""
    return replace(book, triggers=(*book.triggers, trigger), journal=(*book.journal, trigger))


def detach(book: Book, order_id: str, status: OrderStatus) -> Book:
    """Take a trigger off the book as fired (FILLED) or CANCELLED."""
    trigger = book.trigger(order_id)
    if trigger is None:
        raise KeyError(f"no active trigger {order_id} on {book.spec.symbol}")
    return replace(
        book,
        triggers=tuple(t for t in book.triggers if t.order_id != order_id),
        journal=(*book.journal, replace(trigger, status=status)),
    )


def execute(
    book: Book, order_id: str, price: Decimal, *, maker: bool, ms: int, costs: Costs
) -> Book:
    """Fill what is left of a working order at `price` and update its position.

    A closing order fills at most the position's size; the rest is cancelled. A closing
    order without a position is cancelled. An opening fill arms the order's presets.
    """
    working = _require_order(book, order_id)
    order = working.order
    spec = book.spec
    side = order.side.position_side
    holding = book.holding(side)
    size = order.size - order.filled_size
    after: Holding | None
    if order.side.is_close:
        if holding is None:
            return finish(book, order_id, ms)
        size = min(size, holding.size)
        after, realized = ledger.decrease(holding, spec, size, price, ms=ms)
    else:
        after = ledger.increase(
            holding,
            spec,
            side,
            size,
            price,
            leverage=_leverage(order, holding),
            open_type=order.open_type or OpenType.ISOLATED,
            ms=ms,
        )
        realized = ZERO
    paid = ledger.fee(spec, size, price, costs.rate(maker=maker))
    filled = order.filled_size + size
    average = (
        price
        if order.avg_fill_price is None
        else ((order.avg_fill_price * order.filled_size + price * size) / filled).quantize(PRICE)
    )
    updated = replace(
        order,
        filled_size=filled,
        avg_fill_price=average,
        fee=order.fee + paid,
        status=OrderStatus.PARTIALLY_FILLED,
        updated_ms=ms,
    )
    fill = Fill(order_id, spec.symbol, order.side, price, size, paid, realized, maker, ms)
    book = replace(
        book,
        orders=tuple(
            replace(w, order=updated) if w.order.order_id == order_id else w for w in book.orders
        ),
        fills=(*book.fills, fill),
    )
    # Fully filled, or a close larger than the position: either way nothing is left to work.
    book = finish(book, order_id, ms)
    book = _settle(book, side, after, ms)
    if not order.side.is_close:
        book = _arm_presets(book, working, side, ms)
    return book


def fire(book: Book, trigger_id: str, price: Decimal, *, ms: int, costs: Costs) -> Book:
    """Fire a trigger: a reduce-only order closes its size (the whole position when None).

    Without an execution price the order is a market order filled at `price` as taker;
    with one it is a resting limit at that price.
    """
    trigger = book.trigger(trigger_id)
    if trigger is None:
        raise KeyError(f"no active trigger {trigger_id} on {book.spec.symbol}")
    holding = book.holding(trigger.side.position_side)
    if holding is None:
        return detach(book, trigger_id, OrderStatus.CANCELLED)
    book = detach(book, trigger_id, OrderStatus.FILLED)
    size = holding.size if trigger.size is None else min(trigger.size, holding.size)
    book, order_id = allocate(book)
    market = trigger.execution_price is None
    order = Order(
        order_id=order_id,
        client_order_id=None,
        symbol=book.spec.symbol,
        side=trigger.side,
        type=OrderType.MARKET if market else OrderType.LIMIT,
        mode=OrderMode.GTC,
        price=trigger.execution_price,
        size=size,
        filled_size=ZERO,
        avg_fill_price=None,
        status=OrderStatus.OPEN,
        reduce_only=True,
        leverage=holding.leverage,
        open_type=holding.open_type,
        preset_take_profit=None,
        preset_stop_loss=None,
        fee=ZERO,
        created_ms=ms,
        updated_ms=ms,
    )
    book = place(book, Working(order))
    if market:
        book = execute(book, order_id, price, maker=False, ms=ms, costs=costs)
    return book


def rehold(book: Book, holdings: tuple[Holding, ...]) -> Book:
    """The book with its positions replaced (a leverage change re-margins them)."""
    return replace(book, holdings=holdings)


def _settle(book: Book, side: PositionSide, after: Holding | None, ms: int) -> Book:
    """Store the position of `side`; a flat side loses its triggers and closing orders."""
    kept = tuple(h for h in book.holdings if h.side is not side)
    book = replace(book, holdings=kept if after is None else (*kept, after))
    if after is not None:
        return book
    for trigger in [t for t in book.triggers if t.side.position_side is side]:
        book = detach(book, trigger.order_id, OrderStatus.CANCELLED)
    closing = OrderSide.close(side)
    for working in [w for w in book.orders if w.order.side is closing]:
        book = finish(book, working.order.order_id, ms)
    return book


def _arm_presets(book: Book, working: Working, side: PositionSide, ms: int) -> Book:
    """Turn an opening order's preset TP/SL into whole-position triggers."""
    order = working.order
    presets = (
        (TriggerKind.TAKE_PROFIT, order.preset_take_profit),
        (TriggerKind.STOP_LOSS, order.preset_stop_loss),
    )
    for kind, price in presets:
        if price is None:
            continue
        book, trigger_id = allocate(book)
        trigger = TriggerOrder(
            order_id=trigger_id,
            client_order_id=None,
            symbol=book.spec.symbol,
            kind=kind,
            side=OrderSide.close(side),
            trigger_price=price,
            price_type=working.preset_price_type,
            execution_price=None,
            size=None,
            status=OrderStatus.OPEN,
            created_ms=ms,
        )
        book = attach(book, trigger)
    return book


def _leverage(order: Order, holding: Holding | None) -> int:
    # An add keeps the position's leverage: one position has one margin rate.
    if holding is not None:
        return holding.leverage
    if not order.leverage:
        raise ValueError(f"opening order {order.order_id} of {order.symbol} has no leverage")
    return order.leverage


def _require_order(book: Book, order_id: str) -> Working:
    working = book.working(order_id)
    if working is None:
        raise KeyError(f"no open order {order_id} on {book.spec.symbol}")
    return working
