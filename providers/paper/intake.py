"""New orders and triggers from what a caller asked, and repeated client ids (pure)."""

from __future__ import annotations

from decimal import Decimal

from providers import order_rules as rules
from providers.paper.book import Book
from providers.paper.ledger import ZERO
from providers.port import DuplicateOrderError, InvalidOrderError
from providers.types import (
    OpenType,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PriceType,
    TriggerKind,
    TriggerOrder,
)


def terms(
    book: Book, request: OrderRequest, setting: tuple[int, OpenType] | None
) -> tuple[int, OpenType]:
    """Leverage and margin type of a new order.

    A closing order takes its position's and may not close more than is not yet in other
    close orders. An opening order takes the request's leverage, else the position's, else
    the one `set_leverage` stored, and the request's margin type; adding to a position needs
    the position's leverage and margin type, as on Bitmart.
    """
    side = request.side.position_side
    holding = book.holding(side)
    if request.side.is_close:
        if holding is None:
            raise InvalidOrderError(
                f"side {int(request.side)} closes a {side} position, and {request.symbol} "
                f"has no open {side} position"
            )
        pending = sum(
            (
                w.order.size - w.order.filled_size
                for w in book.orders
                if w.order.side is request.side
            ),
            ZERO,
        )
        free = holding.size - pending
        if request.size > free:
            raise InvalidOrderError(
                f"close size {request.size:f} of {request.symbol} is above the {free:f} "
                f"contracts of the {side} position not yet in close orders "
                f"(position {holding.size:f}, pending {pending:f})"
            )
        return holding.leverage, holding.open_type
    leverage = request.leverage
    if leverage is None and holding is not None:
        leverage = holding.leverage
    if leverage is None and setting is not None:
        leverage = setting[0]
    if leverage is None:
        raise InvalidOrderError(
            f"no leverage for {request.symbol}: give OrderRequest.leverage or call "
            "set_leverage first"
        )
    rules.check_leverage(book.spec, leverage)
    if holding is not None and (
        holding.leverage != leverage or holding.open_type is not request.open_type
    ):
        raise InvalidOrderError(
            f"an order adding to the {side} {request.symbol} position must use its "
            f"leverage {holding.leverage} and margin type {holding.open_type}, "
            f"got {leverage} {request.open_type}"
        )
    return leverage, request.open_type


def new_order(
    order_id: str, request: OrderRequest, leverage: int, open_type: OpenType, now: int
) -> Order:
    """The OPEN order a request becomes before it meets the book."""
    return Order(
        order_id=order_id,
        client_order_id=request.client_order_id,
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        mode=request.mode,
        price=request.price if request.type is OrderType.LIMIT else None,
        size=request.size,
        filled_size=ZERO,
        avg_fill_price=None,
        status=OrderStatus.OPEN,
        reduce_only=request.side.is_close,
        leverage=leverage,
        open_type=open_type,
        preset_take_profit=request.preset_take_profit,
        preset_stop_loss=request.preset_stop_loss,
        fee=ZERO,
        created_ms=now,
        updated_ms=now,
    )


def new_trigger(
    order_id: str,
    symbol: str,
    *,
    kind: TriggerKind,
    position_side: PositionSide,
    trigger_price: Decimal,
    size: Decimal | None,
    execution_price: Decimal | None,
    price_type: PriceType,
    client_order_id: str | None,
    now: int,
) -> TriggerOrder:
    """An active trigger closing (part of) the position of `position_side`."""
    return TriggerOrder(
        order_id=order_id,
        client_order_id=client_order_id,
        symbol=symbol,
        kind=kind,
        side=OrderSide.close(position_side),
        trigger_price=trigger_price,
        price_type=price_type,
        execution_price=execution_price,
        size=size,
        status=OrderStatus.OPEN,
        created_ms=now,
    )


def repeated_order(existing: Order | TriggerOrder, request: OrderRequest) -> Order:
    """The order a reused `client_order_id` names, when the request is that same order.

    Reusing the id for anything else raises `DuplicateOrderError`.
    """
    if isinstance(existing, TriggerOrder):
        raise DuplicateOrderError(
            f"client_order_id {request.client_order_id} is used by trigger order "
            f"{existing.order_id}"
        )
    price = request.price if request.type is OrderType.LIMIT else None
    asked = (request.symbol, request.side, request.type, request.size, price)
    held = (existing.symbol, existing.side, existing.type, existing.size, existing.price)
    if asked != held:
        raise DuplicateOrderError(
            f"client_order_id {request.client_order_id} is used by order {existing.order_id} "
            f"({existing.symbol} side {int(existing.side)} {existing.type} {existing.size:f} "
            f"at {existing.price}), not by this request",
            existing=existing,
        )
    return existing


def repeated_trigger(
    existing: Order | TriggerOrder,
    symbol: str,
    kind: TriggerKind,
    position_side: PositionSide,
    trigger_price: Decimal,
) -> TriggerOrder:
    """The trigger a reused `client_order_id` names, when the request is that same trigger."""
    if isinstance(existing, Order):
        raise DuplicateOrderError(
            f"client_order_id {existing.client_order_id} is used by order {existing.order_id}",
            existing=existing,
        )
    asked = (symbol, kind, OrderSide.close(position_side), trigger_price)
    held = (existing.symbol, existing.kind, existing.side, existing.trigger_price)
    if asked != held:
        raise DuplicateOrderError(
            f"client_order_id {existing.client_order_id} is used by trigger order "
            f"{existing.order_id} ({existing.symbol} {existing.kind} at "
            f"{existing.trigger_price:f}), not by this request"
        )
    return existing
