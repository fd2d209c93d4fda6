"""Paper table rows to domain values and back.

Decimals come back from the database normalised (4.05E+4); they are returned in plain
notation so that what a caller prints looks like what it sent.
"""

from __future__ import annotations

from decimal import Decimal

from infra.models import PaperOrderRow, PaperPositionRow
from providers.paper.book import Working
from providers.paper.ledger import Holding
from providers.types import (
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

NORMAL = "normal"
_UNIT = Decimal(1)


def plain(value: Decimal) -> Decimal:
    """The value without an exponent above zero (4.05E+4 reads back as 40500)."""
    exponent = value.as_tuple().exponent
    return value.quantize(_UNIT) if isinstance(exponent, int) and exponent > 0 else value


def maybe_plain(value: Decimal | None) -> Decimal | None:
    return None if value is None else plain(value)


def age(order: Order) -> tuple[int, int, str]:
    return (order.created_ms, len(order.order_id), order.order_id)


def working(row: PaperOrderRow) -> Working:
    if row.size is None:
        raise ValueError(f"paper order {row.order_id} has no size")
    order = Order(
        order_id=row.order_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        type=OrderType(row.order_type),
        mode=OrderMode(row.mode),
        price=maybe_plain(row.price),
        size=plain(row.size),
        filled_size=plain(row.filled_size),
        avg_fill_price=maybe_plain(row.avg_fill_price),
        status=OrderStatus(row.status),
        reduce_only=row.reduce_only,
        leverage=row.leverage,
        open_type=OpenType(row.open_type) if row.open_type else None,
        preset_take_profit=maybe_plain(row.preset_take_profit),
        preset_stop_loss=maybe_plain(row.preset_stop_loss),
        fee=plain(row.fee),
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
    )
    return Working(order, PriceType(row.preset_price_type or PriceType.LAST))


def trigger(row: PaperOrderRow) -> TriggerOrder:
    if row.trigger_price is None:
        raise ValueError(f"paper trigger order {row.order_id} has no trigger price")
    return TriggerOrder(
        order_id=row.order_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        kind=TriggerKind(row.kind),
        side=OrderSide(row.side),
        trigger_price=plain(row.trigger_price),
        price_type=PriceType(row.price_type or PriceType.LAST),
        execution_price=maybe_plain(row.price),
        size=maybe_plain(row.size),
        status=OrderStatus(row.status),
        created_ms=row.created_ms,
    )


def holding(row: PaperPositionRow) -> Holding:
    return Holding(
        symbol=row.symbol,
        side=PositionSide(row.side),
        size=plain(row.size),
        entry_price=plain(row.entry_price),
        leverage=row.leverage,
        open_type=OpenType(row.open_type),
        margin=plain(row.margin),
        realized_pnl=plain(row.realized_pnl),
        opened_ms=row.opened_ms,
        updated_ms=row.updated_ms,
    )


def write_order(row: PaperOrderRow, working: Working) -> None:
    order = working.order
    row.client_order_id = order.client_order_id
    row.symbol = order.symbol
    row.kind = NORMAL
    row.side = int(order.side)
    row.order_type = order.type.value
    row.mode = int(order.mode)
    row.price = order.price
    row.trigger_price = None
    row.price_type = None
    row.size = order.size
    row.filled_size = order.filled_size
    row.avg_fill_price = order.avg_fill_price
    row.fee = order.fee
    row.status = order.status.value
    row.is_open = order.status.is_open
    row.reduce_only = order.reduce_only
    row.leverage = order.leverage
    row.open_type = order.open_type.value if order.open_type else None
    row.preset_take_profit = order.preset_take_profit
    row.preset_stop_loss = order.preset_stop_loss
    has_presets = order.preset_take_profit is not None or order.preset_stop_loss is not None
    row.preset_price_type = int(working.preset_price_type) if has_presets else None
    row.created_ms = order.created_ms
    row.updated_ms = order.updated_ms


def write_trigger(row: PaperOrderRow, trigger: TriggerOrder, now_ms: int) -> None:
    row.client_order_id = trigger.client_order_id
    row.symbol = trigger.symbol
    row.kind = trigger.kind.value
    row.side = int(trigger.side)
    row.order_type = (
        OrderType.MARKET.value if trigger.execution_price is None else OrderType.LIMIT.value
    )
    row.mode = int(OrderMode.GTC)
    row.price = trigger.execution_price
    row.trigger_price = trigger.trigger_price
    row.price_type = int(trigger.price_type)
    row.size = trigger.size
    row.status = trigger.status.value
    row.is_open = trigger.status.is_open
    row.reduce_only = True
    row.created_ms = trigger.created_ms
    row.updated_ms = max(now_ms, trigger.created_ms)
