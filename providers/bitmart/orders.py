"""Sending an `OrderRequest` as Bitmart wants it, and the order as sent (while the exchange
does not list it yet)."""

from __future__ import annotations

from decimal import Decimal

from providers.bitmart.client import BitmartClient
from providers.bitmart.models import SubmittedOrder
from providers.port import InvalidOrderError
from providers.types import Order, OrderRequest, OrderStatus, OrderType

_STP_MODES = frozenset({"1", "2", "3"})


def place(client: BitmartClient, request: OrderRequest, client_order_id: str) -> SubmittedOrder:
    """submit-order for `request`. Leverage, margin type and preset TP/SL go with opening
    orders (sides 1 and 4) only: a closing order takes its position's."""
    opening = not request.side.is_close
    presets = opening and (
        request.preset_take_profit is not None or request.preset_stop_loss is not None
    )
    preset_type = int(request.preset_price_type) if presets else None
    return client.submit_order(
        request.symbol,
        side=int(request.side),
        size=request.size,
        order_type=request.type.value,
        price=request.price if request.type is OrderType.LIMIT else None,
        mode=int(request.mode),
        leverage=request.leverage if opening else None,
        open_type=request.open_type.value if opening else None,
        client_order_id=client_order_id,
        preset_take_profit=request.preset_take_profit if opening else None,
        preset_stop_loss=request.preset_stop_loss if opening else None,
        preset_take_profit_type=preset_type,
        preset_stop_loss_type=preset_type,
        stp_mode=stp_mode(request.extra),
    )


def stp_mode(extra: dict[str, str]) -> int | None:
    """`extra` may carry `stp_mode` (1 cancel maker, 2 cancel taker, 3 both); nothing else."""
    unknown = sorted(set(extra) - {"stp_mode"})
    if unknown:
        raise InvalidOrderError(f"unsupported OrderRequest.extra keys {unknown}; allowed: stp_mode")
    value = extra.get("stp_mode")
    if value is None:
        return None
    if value not in _STP_MODES:
        raise InvalidOrderError(f"stp_mode must be 1, 2 or 3, got {value!r}")
    return int(value)


def provisional_order(request: OrderRequest, order_id: str, cid: str, now_ms: int) -> Order:
    """The order as sent, PENDING: accepted by the exchange but not listed yet."""
    return Order(
        order_id=order_id,
        client_order_id=cid,
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        mode=request.mode,
        price=request.price if request.type is OrderType.LIMIT else None,
        size=request.size,
        filled_size=Decimal(0),
        avg_fill_price=None,
        status=OrderStatus.PENDING,
        reduce_only=request.side.is_close,
        leverage=request.leverage,
        open_type=request.open_type,
        preset_take_profit=request.preset_take_profit,
        preset_stop_loss=request.preset_stop_loss,
        fee=Decimal(0),
        created_ms=now_ms,
        updated_ms=now_ms,
    )
