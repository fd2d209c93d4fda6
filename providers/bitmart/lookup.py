"""Finding orders the exchange cannot look up directly, and matching repeated client ids.

The order-detail endpoint takes only the exchange id, so an order named by its client id is
searched among the open orders first and then in order-history filtered by that client id
(which covers the last 7 days).
"""

from __future__ import annotations

from decimal import Decimal

from providers.bitmart import mapping
from providers.bitmart.client import BitmartClient
from providers.port import DuplicateOrderError, NotFoundError
from providers.types import (
    Order,
    OrderRequest,
    OrderSide,
    OrderType,
    PositionSide,
    TriggerKind,
    TriggerOrder,
)


def order_by_client_id(client: BitmartClient, symbol: str, client_order_id: str) -> Order:
    """The order of `symbol` with that client id; `NotFoundError` when neither the open
    orders nor the last 7 days of history hold it."""
    for row in client.open_orders(symbol):
        if row.client_order_id == client_order_id:
            return mapping.order(row)
    # The filter is applied again here: a server that ignored it must not yield a stranger.
    found = [
        row
        for row in client.order_history(symbol, client_order_id=client_order_id)
        if row.client_order_id == client_order_id
    ]
    if not found:
        raise NotFoundError(
            f"no order of {symbol} has client_order_id {client_order_id} "
            "(searched open orders and the last 7 days of order history)"
        )
    return mapping.order(max(found, key=lambda row: (row.update_time, row.create_time)))


def existing_order(
    client: BitmartClient, request: OrderRequest, refusal: DuplicateOrderError
) -> Order:
    """The order holding `request.client_order_id`, after the exchange refused it as a
    duplicate: returned when it is that order, `DuplicateOrderError` otherwise."""
    if request.client_order_id is None:
        raise ValueError("existing_order needs a request with a client_order_id")
    try:
        existing = order_by_client_id(client, request.symbol, request.client_order_id)
    except NotFoundError:
        raise DuplicateOrderError(
            f"client_order_id {request.client_order_id} is already used on {request.symbol} "
            f"but the order cannot be found: {refusal}",
            code=refusal.code,
        ) from refusal
    return repeated_order(existing, request)


def trigger_by_id(
    client: BitmartClient,
    symbol: str,
    *,
    order_id: str | None = None,
    client_order_id: str | None = None,
) -> TriggerOrder | None:
    """The active plan/TP-SL order of `symbol` with that id or client id, if listed."""
    for row in client.plan_orders(symbol):
        if (order_id and row.order_id == order_id) or (
            client_order_id and row.client_order_id == client_order_id
        ):
            return mapping.trigger_order(row)
    return None


def repeated_order(existing: Order, request: OrderRequest) -> Order:
    """`existing` when it is the order `request` describes; `DuplicateOrderError` when the
    client id names a different order."""
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
    existing: TriggerOrder, kind: TriggerKind, position_side: PositionSide, trigger: Decimal
) -> TriggerOrder:
    """`existing` when it is the trigger asked for again; `DuplicateOrderError` otherwise."""
    asked = (kind, OrderSide.close(position_side), trigger)
    if asked != (existing.kind, existing.side, existing.trigger_price):
        raise DuplicateOrderError(
            f"client_order_id {existing.client_order_id} is used by trigger order "
            f"{existing.order_id} ({existing.symbol} {existing.kind} at "
            f"{existing.trigger_price:f}), not by this request"
        )
    return existing
