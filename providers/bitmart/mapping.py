"""Wire models → domain types (pure). Each function states the rule it applies.

Anything the domain cannot represent faithfully (an unknown side, state or trigger kind)
raises `TransientError` naming the value, rather than being guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np

from providers.bitmart.models import (
    Asset,
    ContractDetail,
    Depth,
    Kline,
    OrderDetail,
    PlanOrder,
    PositionV2,
    Trade,
)
from providers.candles import Candles
from providers.port import NotFoundError, TransientError
from providers.timeframes import Timeframe
from providers.types import (
    Balance,
    ContractSpec,
    Fill,
    OpenType,
    Order,
    OrderMode,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    PriceType,
    TopOfBook,
    TriggerKind,
    TriggerOrder,
)

ZERO = Decimal(0)
_TRIGGER_KINDS = {
    "take_profit": TriggerKind.TAKE_PROFIT,
    "stop_loss": TriggerKind.STOP_LOSS,
    "plan": TriggerKind.PLAN,
}


def contract_spec(row: ContractDetail) -> ContractSpec:
    """`price_precision` is the tick size and `vol_precision` the size step (both steps, not
    digit counts); a missing `market_max_volume` falls back to `max_volume`."""
    return ContractSpec(
        symbol=row.symbol,
        base_currency=row.base_currency,
        quote_currency=row.quote_currency,
        tick_size=row.price_precision,
        contract_size=row.contract_size,
        volume_step=row.vol_precision,
        min_volume=row.min_volume,
        max_volume=row.max_volume,
        market_max_volume=(
            row.max_volume if row.market_max_volume is None else row.market_max_volume
        ),
        min_leverage=row.min_leverage,
        max_leverage=row.max_leverage,
        status=row.status,
        open_timestamp_ms=row.open_timestamp or None,
        expire_timestamp_ms=row.expire_timestamp or None,
        last_price=row.last_price,
        index_price=row.index_price,
        turnover_24h=row.turnover_24h,
        volume_24h=row.volume_24h,
        funding_rate=row.funding_rate,
    )


def order_status(state: int, size: Decimal, filled: Decimal, order_id: str = "") -> OrderStatus:
    """1 approval → PENDING; 2 → OPEN, or PARTIALLY_FILLED once something filled;
    4 finished → FILLED when everything filled, else CANCELLED (maybe after partial fills)."""
    if state == 1:
        return OrderStatus.PENDING
    if state == 2:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if state == 4:
        return OrderStatus.FILLED if size > 0 and filled == size else OrderStatus.CANCELLED
    raise TransientError(f"order {order_id} has unknown state {state}; known: 1, 2, 4")


def order_side(code: int, order_id: str = "") -> OrderSide:
    try:
        return OrderSide(code)
    except ValueError:
        raise TransientError(f"order {order_id} has unknown side code {code}; known: 1-4") from None


def order(row: OrderDetail) -> Order:
    """Type `limit` is LIMIT and every other type (market, liquidate, adl, planorder...) is
    MARKET. The API reports no time-in-force for these rows: `mode` reads GTC unless sent.
    Fees are not in order rows (see `trades`), so `fee` is 0."""
    side = order_side(row.side, row.order_id)
    kind = OrderType.LIMIT if row.type == "limit" else OrderType.MARKET
    return Order(
        order_id=row.order_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        side=side,
        type=kind,
        mode=OrderMode(row.mode) if row.mode in (1, 2, 3, 4) else OrderMode.GTC,
        price=row.price if kind is OrderType.LIMIT and row.price else None,
        size=row.size,
        filled_size=row.deal_size,
        avg_fill_price=row.deal_avg_price or None,
        status=order_status(row.state, row.size, row.deal_size, row.order_id),
        reduce_only=side.is_close,
        leverage=int(row.leverage) if row.leverage else None,
        open_type=_open_type(row.open_type),
        preset_take_profit=row.preset_take_profit_price or None,
        preset_stop_loss=row.preset_stop_loss_price or None,
        fee=ZERO,
        created_ms=row.create_time,
        updated_ms=row.update_time or row.create_time,
    )


def trigger_order(row: PlanOrder) -> TriggerOrder:
    """A position TP/SL (`plan_category` 2) covers the whole position (size None). The
    execution is `category` when the row has one; otherwise a position TP/SL executes at
    market and another order at a positive `executive_price`.
    State 1 → PENDING, 2 → OPEN; 4 (finished: fired or cancelled, the list does not say
    which) → CANCELLED, as it no longer waits."""
    kind = _TRIGGER_KINDS.get(row.type)
    if kind is None:
        raise TransientError(f"plan order {row.order_id} has unknown type {row.type!r}")
    try:
        price_type = PriceType(row.price_type)
    except ValueError:
        raise TransientError(
            f"plan order {row.order_id} has unknown price_type {row.price_type}"
        ) from None
    whole = row.plan_category == 2
    status = {1: OrderStatus.PENDING, 2: OrderStatus.OPEN, 4: OrderStatus.CANCELLED}.get(row.state)
    if status is None:
        raise TransientError(f"plan order {row.order_id} has unknown state {row.state}")
    if row.category in ("limit", "market"):
        execution = row.executive_price if row.category == "limit" else None
    else:
        execution = None if whole or not row.executive_price else row.executive_price
    return TriggerOrder(
        order_id=row.order_id,
        client_order_id=row.client_order_id,
        symbol=row.symbol,
        kind=kind,
        side=order_side(row.side, row.order_id),
        trigger_price=row.trigger_price,
        price_type=price_type,
        execution_price=execution,
        size=None if whole else row.size,
        status=status,
        created_ms=row.create_time,
    )


def position(row: PositionV2) -> Position | None:
    """None for a flat row (`current_amount` 0). The side is `position_side` in hedge mode
    and the sign of `position_amount` in one-way mode (`both`)."""
    if row.current_amount <= 0:
        return None
    if row.position_side == "both":
        amount = row.position_amount or ZERO
        if amount == 0:
            raise TransientError(
                f"one-way position of {row.symbol} holds {row.current_amount} contracts but no "
                "signed position_amount tells its side"
            )
        side = PositionSide.LONG if amount > 0 else PositionSide.SHORT
    else:
        side = PositionSide(row.position_side)
    entry = row.entry_price or row.open_avg_price or ZERO
    return Position(
        symbol=row.symbol,
        side=side,
        size=row.current_amount,
        entry_price=entry,
        mark_price=row.mark_price or entry,
        leverage=int(row.leverage),
        open_type=OpenType(row.open_type),
        margin=row.initial_margin if row.initial_margin is not None else row.position_cross or ZERO,
        unrealized_pnl=row.unrealized_pnl or ZERO,
        realized_pnl=row.realized_value or ZERO,
        liquidation_price=row.liquidation_price or None,
        opened_ms=row.open_timestamp or row.timestamp,
    )


def balance(rows: Iterable[Asset], currency: str = "USDT") -> Balance:
    """The wallet row of `currency`: frozen balance is order margin, position deposit is
    position margin."""
    for row in rows:
        if row.currency == currency:
            return Balance(
                currency=currency,
                equity=row.equity,
                available=row.available_balance,
                position_margin=row.position_deposit,
                order_margin=row.frozen_balance,
                unrealized_pnl=row.unrealized,
            )
    raise NotFoundError(f"the futures wallet has no {currency} row")


def top_of_book(depth: Depth, mark: Decimal) -> TopOfBook:
    """Best bid and ask of a depth snapshot; an empty side cannot make a quote."""
    if not depth.bids or not depth.asks:
        empty = "bids" if not depth.bids else "asks"
        raise TransientError(f"order book of {depth.symbol} has no {empty}")
    bid, ask = depth.bids[0], depth.asks[0]
    return TopOfBook(
        symbol=depth.symbol,
        bid=bid.price,
        ask=ask.price,
        bid_size=bid.size,
        ask_size=ask.size,
        mark=mark,
        ts_ms=depth.timestamp,
    )


def candles(symbol: str, timeframe: Timeframe, rows: Iterable[Kline]) -> Candles:
    """Kline rows (oldest first) as `Candles`; volume in contracts."""
    table = [
        (
            row.timestamp,
            float(row.open_price),
            float(row.high_price),
            float(row.low_price),
            float(row.close_price),
            float(row.volume),
        )
        for row in rows
    ]
    if not table:
        return Candles.empty(symbol, timeframe)
    return Candles.from_rows(symbol, timeframe, np.asarray(table, dtype=np.float64))


def _open_type(text: str | None) -> OpenType | None:
    return OpenType(text) if text in ("cross", "isolated") else None


def fill(row: Trade) -> Fill:
    """A trades row: side codes as for orders; `paid_fees` is the fee, `realised_profit` the
    exchange's own realized P&L of a closing fill."""
    return Fill(
        order_id=str(row.order_id),
        symbol=row.symbol,
        side=OrderSide(row.side),
        price=row.price,
        size=row.vol,
        fee=abs(row.paid_fees or Decimal(0)),  # its sign is not documented: a fee is a cost
        time_ms=row.create_time,
        realized_pnl=row.realised_profit,
    )
