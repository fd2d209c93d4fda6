"""Domain values as Bitmart's JSON rows (pure). Field names and types follow the samples.

Order ids on the wire are the paper exchange's ids shifted into Bitmart's 15-digit range, so
the mapping needs no table and survives a restart. Decimals are strings, enums integers,
times milliseconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.paper.book import Working
from providers.types import (
    Balance,
    ContractSpec,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    TriggerKind,
    TriggerOrder,
)

from .wire import num, price_text

ID_BASE = 220_000_000_000_000
TRADE_ID_BASE = 1_100_000_000
HEDGE = "hedge_mode"
ACCOUNT = "futures"
ZERO = Decimal(0)


def wire_id(paper_id: str) -> int:
    """The Bitmart order id of a paper order id."""
    return ID_BASE + int(paper_id)


def paper_id(raw: object) -> str | None:
    """The paper id behind a wire order id (JSON number or digit string); None if it is not one."""
    if isinstance(raw, bool):
        return None
    text = str(raw) if isinstance(raw, int) else raw if isinstance(raw, str) else ""
    if not (text.isascii() and text.isdigit()) or int(text) <= ID_BASE:
        return None
    return str(int(text) - ID_BASE)


def state(status: OrderStatus) -> int:
    """Bitmart order state: 1 approval, 2 open (also partially filled), 4 finished."""
    if status is OrderStatus.PENDING:
        return 1
    return 2 if status.is_open else 4


def order_row(working: Working, *, detail: bool = False, history: bool = False) -> dict[str, Any]:
    """An order of get-open-orders; `detail` adds `account`, `history` the plan-order fields."""
    order = working.order
    tp, sl = order.preset_take_profit, order.preset_stop_loss
    preset_type = int(working.preset_price_type)
    row: dict[str, Any] = {
        "order_id": str(wire_id(order.order_id)),
        "client_order_id": order.client_order_id or "",
        "price": price_text(order.price),
        "size": num(order.size),
        "symbol": order.symbol,
        "state": state(order.status),
        "side": int(order.side),
        "type": order.type.value,
        "position_mode": HEDGE,
        "leverage": str(order.leverage or 0),
        "open_type": order.open_type.value if order.open_type else "isolated",
        "deal_avg_price": price_text(order.avg_fill_price),
        "deal_size": num(order.filled_size),
        "preset_take_profit_price_type": preset_type if tp is not None else 0,
        "preset_stop_loss_price_type": preset_type if sl is not None else 0,
        "preset_take_profit_price": "" if tp is None else num(tp),
        "preset_stop_loss_price": "" if sl is None else num(sl),
        "create_time": order.created_ms,
        "update_time": order.updated_ms,
    }
    if detail or history:
        row["account"] = ACCOUNT
    if history:
        row |= {
            "trigger_price": "0",
            "execution_price": "0",
            "activation_price_type": 1,
            "activation_price": "0",
            "callback_rate": "0",
        }
    return row


def trade_row(working: Working) -> dict[str, Any]:
    """The fill of an order as a row of trades; orders fill all at once on the paper exchange.

    An order filled after it was placed rested on the book (maker); one filled as it arrived
    took liquidity (taker). Realised profit per fill is not tracked and reads "0".
    """
    order = working.order
    maker = order.type is OrderType.LIMIT and order.updated_ms > order.created_ms
    return {
        "order_id": str(wire_id(order.order_id)),
        "trade_id": str(TRADE_ID_BASE + int(order.order_id)),
        "symbol": order.symbol,
        "side": int(order.side),
        "price": price_text(order.avg_fill_price),
        "vol": num(order.filled_size),
        "exec_type": "Maker" if maker else "Taker",
        "profit": False,
        "realised_profit": "0",
        "paid_fees": num(order.fee),
        "account": ACCOUNT,
        "create_time": order.updated_ms,
    }


def price_way(trigger: TriggerOrder) -> int:
    """1 when the trigger waits for the price to rise, 2 when it waits for a fall."""
    long = trigger.side.position_side is PositionSide.LONG
    rises = (trigger.kind is TriggerKind.TAKE_PROFIT) == long
    return 1 if rises else 2


def plan_row(trigger: TriggerOrder, position: Position | None) -> dict[str, Any]:
    """A TP/SL of current-plan-order. A whole-position trigger (plan_category 2) shows the
    position's size; an execution at market shows executive_price "0"."""
    if trigger.size is not None:
        size, category = trigger.size, 1
    else:
        size, category = (position.size if position else ZERO), 2
    return {
        "order_id": str(wire_id(trigger.order_id)),
        "client_order_id": trigger.client_order_id or "",
        "executive_price": price_text(trigger.execution_price),
        "trigger_price": num(trigger.trigger_price),
        "size": num(size),
        "symbol": trigger.symbol,
        "state": 2 if trigger.status.is_open else 4,
        "side": int(trigger.side),
        "mode": 1,
        "position_mode": HEDGE,
        "price_way": price_way(trigger),
        "price_type": int(trigger.price_type),
        "plan_category": category,
        "type": trigger.kind.value,
        "leverage": str(position.leverage) if position else "0",
        "open_type": position.open_type.value if position else "isolated",
        "create_time": trigger.created_ms,
        "update_time": trigger.created_ms,
    }


def position_row(
    spec: ContractSpec,
    side: PositionSide,
    position: Position | None,
    *,
    mark: Decimal | None,
    leverage: int,
    open_type: str,
    now_ms: int,
) -> dict[str, Any]:
    """A hedge-mode row of position-v2; a flat side has its numbers at "0"."""
    size = position.size if position else ZERO
    entry = position.entry_price if position else ZERO
    mark_price = position.mark_price if position else (mark or ZERO)
    value = size * spec.contract_size * mark_price
    return {
        "symbol": spec.symbol,
        "leverage": str(position.leverage if position else leverage),
        "timestamp": now_ms,
        "current_fee": "0",
        "open_timestamp": position.opened_ms if position else 0,
        "current_value": num(value),
        "mark_price": num(mark_price),
        "position_value": num(size * spec.contract_size * entry),
        "position_cross": num(position.margin if position else ZERO),
        "maintenance_margin": "0",
        "close_vol": "0",
        "close_avg_price": "0",
        "open_avg_price": num(entry),
        "entry_price": num(entry),
        "current_amount": num(size),
        "position_amount": num(size),
        "realized_value": num(position.realized_pnl if position else ZERO),
        "mark_value": num(value),
        "account": ACCOUNT,
        "open_type": position.open_type.value if position else open_type,
        "position_side": side.value,
        "unrealized_pnl": num(position.unrealized_pnl if position else ZERO),
        # The paper exchange does not liquidate: no liquidation price.
        "liquidation_price": "0",
        "max_notional_value": num(spec.max_volume * spec.contract_size * mark_price),
        "initial_margin": num(position.margin if position else ZERO),
    }


def asset_rows(balance: Balance) -> list[dict[str, Any]]:
    """assets-detail: the USDT wallet, then the empty coin-margined wallets Bitmart also lists."""
    usdt = {
        "currency": balance.currency,
        "position_deposit": num(balance.position_margin),
        "frozen_balance": num(balance.order_margin),
        "available_balance": num(balance.available),
        "equity": num(balance.equity),
        "unrealized": num(balance.unrealized_pnl),
    }
    empty = {
        "available_balance": "0",
        "frozen_balance": "0",
        "unrealized": "0",
        "equity": "0",
        "position_deposit": "0",
    }
    return [usdt, *({"currency": coin, **empty} for coin in ("BTC", "ETH"))]
