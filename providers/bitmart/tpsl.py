"""Take-profit and stop-loss orders on an open position: checked, sent with the closing side
code (3 closes a long, 2 closes a short), and read back from the plan-order list."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from providers import order_rules as rules
from providers.bitmart import lookup
from providers.bitmart.client import BitmartClient
from providers.bitmart.models import OrderRef
from providers.port import DuplicateOrderError, InvalidOrderError, NotFoundError, TransientError
from providers.types import (
    ContractSpec,
    OrderSide,
    OrderStatus,
    Position,
    PositionSide,
    PriceType,
    TriggerKind,
    TriggerOrder,
)

#: The position is gone or closed: the TP/SL has nothing to attach to.
NO_POSITION_CODES = frozenset({40018, 40021})


@dataclass(frozen=True)
class TpSl:
    """A TP/SL as asked: size None covers the whole position, no execution price is market."""

    symbol: str
    kind: TriggerKind
    position_side: PositionSide
    trigger_price: Decimal
    size: Decimal | None
    execution_price: Decimal | None
    price_type: PriceType
    client_order_id: str

    @property
    def side(self) -> OrderSide:
        """The code that closes the position: 3 for a long, 2 for a short."""
        return OrderSide.close(self.position_side)


def check(spec: ContractSpec, positions: list[Position], ask: TpSl) -> None:
    """An open position of the side (`NotFoundError`), a trigger on the tick grid on the right
    side of the price it watches, and a size within the position (`InvalidOrderError`)."""
    if ask.kind not in (TriggerKind.TAKE_PROFIT, TriggerKind.STOP_LOSS):
        raise InvalidOrderError(
            f"trigger kind {ask.kind} cannot be attached to a position; allowed: take_profit, "
            "stop_loss (plan orders: BitmartClient.submit_plan_order)"
        )
    rules.check_client_order_id(ask.client_order_id)
    held = [p for p in positions if p.symbol == spec.symbol and p.side is ask.position_side]
    if not held:
        raise NotFoundError(
            f"no open {ask.position_side} position of {spec.symbol} to attach a {ask.kind}"
        )
    reference = spec.index_price if ask.price_type is PriceType.MARK else spec.last_price
    if reference is None:
        raise TransientError(
            f"contract details of {spec.symbol} carry no {ask.price_type.name} price"
        )
    rules.check_trigger(
        spec,
        kind=ask.kind,
        position_side=ask.position_side,
        trigger_price=ask.trigger_price,
        last_price=reference,
        size=ask.size,
        position_size=held[0].size,
        execution_price=ask.execution_price,
    )


def place(client: BitmartClient, ask: TpSl) -> TriggerOrder | OrderRef:
    """submit-tp-sl-order: plan_category 2 for the whole position, 1 for a size; category
    market without an execution price. A repeated client id yields the listed trigger."""
    try:
        return client.submit_tp_sl_order(
            ask.symbol,
            kind="take_profit" if ask.kind is TriggerKind.TAKE_PROFIT else "stop_loss",
            side=3 if ask.side is OrderSide.SELL_CLOSE_LONG else 2,
            trigger_price=ask.trigger_price,
            price_type=int(ask.price_type),
            # Required even for market execution, where the exchange does not use it.
            executive_price=ask.execution_price or ask.trigger_price,
            size=ask.size,
            plan_category=2 if ask.size is None else 1,
            category="market" if ask.execution_price is None else "limit",
            client_order_id=ask.client_order_id,
        )
    except DuplicateOrderError:
        existing = lookup.trigger_by_id(client, ask.symbol, client_order_id=ask.client_order_id)
        if existing is None:
            raise
        return lookup.repeated_trigger(existing, ask.kind, ask.position_side, ask.trigger_price)
    except InvalidOrderError as exc:
        if exc.code in NO_POSITION_CODES:
            raise NotFoundError(
                f"no open {ask.position_side} position of {ask.symbol}: {exc}", code=exc.code
            ) from exc
        raise


def provisional(ref: OrderRef, ask: TpSl, now_ms: int) -> TriggerOrder:
    """The TP/SL as sent, PENDING: accepted but not in the plan-order list yet."""
    return TriggerOrder(
        order_id=ref.order_id,
        client_order_id=ref.client_order_id or ask.client_order_id,
        symbol=ask.symbol,
        kind=ask.kind,
        side=ask.side,
        trigger_price=ask.trigger_price,
        price_type=ask.price_type,
        execution_price=ask.execution_price,
        size=ask.size,
        status=OrderStatus.PENDING,
        created_ms=now_ms,
    )
