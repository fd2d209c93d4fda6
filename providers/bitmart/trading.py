"""The signed write calls of `BitmartClient` (orders, TP/SL and plan orders, settings).

Bodies follow the wire rules: decimals as strings, sizes and enums as integers, optional
fields omitted. Calls that could act twice when resent after an ambiguous failure say so
(`idempotent`); see `providers.bitmart.retry`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from providers.bitmart import endpoints as ep
from providers.bitmart.models import (
    CancelAllAfter,
    LeverageSet,
    OrderRef,
    PositionMode,
    SubmittedOrder,
)
from providers.bitmart.parsing import parse
from providers.bitmart.payloads import compact, contracts, decimal_text
from providers.bitmart.session import Params

OpenTypeText = Literal["cross", "isolated"]
PositionModeText = Literal["hedge_mode", "one_way_mode"]


class TradingCalls:
    """Write endpoints; the concrete client supplies `_call`."""

    def _call(
        self,
        endpoint: ep.Endpoint,
        *,
        params: Params | None = None,
        body: dict[str, object] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        raise NotImplementedError

    def submit_leverage(
        self, symbol: str, open_type: OpenTypeText, leverage: int | None = None
    ) -> LeverageSet:
        body = compact(
            symbol=symbol,
            leverage=None if leverage is None else str(leverage),
            open_type=open_type,
        )
        data = self._call(ep.SUBMIT_LEVERAGE, body=body)
        return parse(LeverageSet, data, ep.SUBMIT_LEVERAGE)

    def submit_order(
        self,
        symbol: str,
        *,
        side: int,
        size: Decimal | int,
        order_type: Literal["limit", "market"] = "limit",
        price: Decimal | None = None,
        mode: int | None = None,
        leverage: int | None = None,
        open_type: OpenTypeText | None = None,
        client_order_id: str | None = None,
        preset_take_profit: Decimal | None = None,
        preset_stop_loss: Decimal | None = None,
        preset_take_profit_type: int | None = None,
        preset_stop_loss_type: int | None = None,
        stp_mode: int | None = None,
    ) -> SubmittedOrder:
        """Place a limit or market order; resent after ambiguous failures only when it
        carries a `client_order_id` (a copy is then refused with 40050)."""
        if side not in (1, 2, 3, 4):
            raise ValueError(f"side must be 1-4, got {side}")
        if (order_type == "limit") != (price is not None):
            raise ValueError("a limit order needs a price and a market order takes none")
        body = compact(
            symbol=symbol,
            client_order_id=client_order_id,
            side=side,
            mode=mode,
            type=order_type,
            leverage=None if leverage is None else str(leverage),
            open_type=open_type,
            size=contracts(size),
            price=_text(price),
            preset_take_profit_price=_text(preset_take_profit),
            preset_stop_loss_price=_text(preset_stop_loss),
            preset_take_profit_price_type=(
                preset_take_profit_type if preset_take_profit is not None else None
            ),
            preset_stop_loss_price_type=(
                preset_stop_loss_type if preset_stop_loss is not None else None
            ),
            stp_mode=stp_mode,
        )
        data = self._call(ep.SUBMIT_ORDER, body=body, idempotent=client_order_id is not None)
        return parse(SubmittedOrder, data, ep.SUBMIT_ORDER)

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel one order (accepted asynchronously). One id is required: without any, the
        exchange would cancel every open order of the symbol (use `cancel_orders`)."""
        _one_id(order_id, client_order_id, "cancel_order")
        body = compact(symbol=symbol, order_id=order_id, client_order_id=client_order_id)
        self._call(ep.CANCEL_ORDER, body=body)

    def cancel_orders(self, symbol: str) -> None:
        """Cancel every open order of `symbol`."""
        self._call(ep.CANCEL_ORDERS, body={"symbol": symbol})

    def submit_tp_sl_order(
        self,
        symbol: str,
        *,
        kind: Literal["take_profit", "stop_loss"],
        side: Literal[2, 3],
        trigger_price: Decimal,
        price_type: int,
        executive_price: Decimal,
        size: Decimal | int | None = None,
        plan_category: Literal[1, 2] | None = None,
        category: Literal["limit", "market"] | None = None,
        client_order_id: str | None = None,
    ) -> OrderRef:
        """A take-profit or stop-loss on an existing position; `side` is the CLOSING code
        (3 closes a long, 2 closes a short)."""
        if side not in (2, 3):
            raise ValueError(f"a TP/SL order closes a position: side 2 or 3, got {side}")
        body = compact(
            symbol=symbol,
            type=kind,
            side=side,
            trigger_price=decimal_text(trigger_price),
            executive_price=decimal_text(executive_price),
            price_type=price_type,
            size=None if size is None else contracts(size),
            plan_category=plan_category,
            category=category,
            client_order_id=client_order_id,
        )
        data = self._call(ep.SUBMIT_TP_SL, body=body, idempotent=client_order_id is not None)
        return parse(OrderRef, data, ep.SUBMIT_TP_SL)

    def modify_tp_sl_order(
        self,
        symbol: str,
        *,
        trigger_price: Decimal,
        price_type: int,
        order_id: str | None = None,
        client_order_id: str | None = None,
        executive_price: Decimal | None = None,
        plan_category: Literal[1, 2] | None = None,
        category: Literal["limit", "market"] | None = None,
    ) -> OrderRef:
        """Move the trigger (and execution price) of a TP/SL order."""
        _one_id(order_id, client_order_id, "modify_tp_sl_order")
        body = compact(
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            trigger_price=decimal_text(trigger_price),
            executive_price=_text(executive_price),
            price_type=price_type,
            plan_category=plan_category,
            category=category,
        )
        return parse(OrderRef, self._call(ep.MODIFY_TP_SL, body=body), ep.MODIFY_TP_SL)

    def submit_plan_order(
        self,
        symbol: str,
        *,
        side: int,
        size: Decimal | int,
        trigger_price: Decimal,
        price_way: Literal[1, 2],
        price_type: int,
        leverage: int,
        open_type: OpenTypeText,
        order_type: Literal["limit", "market", "take_profit", "stop_loss"] = "market",
        executive_price: Decimal | None = None,
        mode: int | None = None,
        plan_category: Literal[1, 2] | None = None,
    ) -> OrderRef:
        """A conditional order; never resent after an ambiguous failure (no client id)."""
        if side not in (1, 2, 3, 4):
            raise ValueError(f"side must be 1-4, got {side}")
        if order_type == "limit" and executive_price is None:
            raise ValueError("a limit plan order needs an executive_price")
        body = compact(
            symbol=symbol,
            side=side,
            type=order_type,
            leverage=str(leverage),
            open_type=open_type,
            mode=mode,
            size=contracts(size),
            trigger_price=decimal_text(trigger_price),
            executive_price=_text(executive_price),
            price_way=price_way,
            price_type=price_type,
            plan_category=plan_category,
        )
        return parse(OrderRef, self._call(ep.SUBMIT_PLAN, body=body), ep.SUBMIT_PLAN)

    def cancel_plan_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel one plan or TP/SL order. One id is required: without any, the exchange
        would cancel every plan order of the symbol."""
        _one_id(order_id, client_order_id, "cancel_plan_order")
        body = compact(symbol=symbol, order_id=order_id, client_order_id=client_order_id)
        self._call(ep.CANCEL_PLAN, body=body)

    def cancel_all_after(self, symbol: str, timeout_s: int) -> CancelAllAfter:
        """Arm (or push out) the dead man's switch of `symbol`; 0 disarms it."""
        if timeout_s != 0 and timeout_s < 5:
            raise ValueError(f"cancel-all-after timeout must be 0 or at least 5 s, got {timeout_s}")
        data = self._call(ep.CANCEL_ALL_AFTER, body={"symbol": symbol, "timeout": timeout_s})
        return parse(CancelAllAfter, data, ep.CANCEL_ALL_AFTER)

    def set_position_mode(self, mode: PositionModeText) -> PositionMode:
        """Switch the account between hedge and one-way mode (no position or order open)."""
        data = self._call(ep.SET_POSITION_MODE, body={"position_mode": mode})
        return parse(PositionMode, data, ep.SET_POSITION_MODE)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def _one_id(order_id: str | None, client_order_id: str | None, what: str) -> None:
    if not order_id and not client_order_id:
        raise ValueError(f"{what} needs an order_id or a client_order_id")
