"""Handlers of take-profit/stop-loss and plan orders.

Only TP/SL kinds are simulated. A plain plan order (submit-plan-order of type limit or market:
a conditional entry) is refused with 40011 "not simulated" after its side and type are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from providers.port import NotFoundError
from providers.types import ContractSpec, PriceType, TriggerKind, TriggerOrder

from . import checks, shapes
from .params import (
    Call,
    decimal,
    integer,
    on_tick,
    optional_decimal,
    optional_integer,
    text,
    unique_client_order_id,
)
from .wire import WireError

_TPSL = ("take_profit", "stop_loss")


def submit_tp_sl_order(call: Call) -> dict[str, Any]:
    """A TP or SL on the position closed by `side` (2 closes a short, 3 a long)."""
    raw_type = call.body.get("type")
    if raw_type not in _TPSL:
        raise WireError(40042, f"type {raw_type!r}; allowed: take_profit, stop_loss")
    trigger = _submit(call, TriggerKind(raw_type))
    return {
        "order_id": str(shapes.wire_id(trigger.order_id)),
        "client_order_id": trigger.client_order_id or "",
    }


def submit_plan_order(call: Call) -> dict[str, Any]:
    """TP/SL kinds as submit-tp-sl-order; the order id comes back as a number here."""
    call.symbol()
    raw_type = call.body.get("type", "limit")
    if raw_type not in ("limit", "market", *_TPSL):
        raise WireError(40042, f"type {raw_type!r}; allowed: limit, market, take_profit, stop_loss")
    if raw_type not in _TPSL:
        checks.order_side(call.body.get("side"), allowed=(1, 2, 3, 4))
        raise WireError(40011, f"plan orders of type {raw_type} are not simulated")
    trigger = _submit(call, TriggerKind(raw_type))
    return {"order_id": shapes.wire_id(trigger.order_id)}


def modify_tp_sl_order(call: Call) -> dict[str, Any]:
    """Move an active TP/SL's trigger (and execution price) in place."""
    spec = call.symbol()
    found = _find(call, spec)
    trigger_price = _trigger_price(spec, call.body)
    execution = _execution(spec, call.body)
    try:
        moved = call.venue.modify_trigger(
            spec.symbol,
            found.order_id,
            trigger_price=trigger_price,
            price_type=_price_type(call.body),
            execution_price=execution,
        )
    except NotFoundError as exc:
        raise WireError(40035, str(exc)) from None
    return {"order_id": str(shapes.wire_id(moved.order_id))}


def cancel_plan_order(call: Call) -> dict[str, Any]:
    """Cancel one active TP/SL by id or client id; with neither, all of the symbol's."""
    spec = call.symbol()
    paper = call.venue.paper
    if call.body.get("order_id") in (None, "") and not call.body.get("client_order_id"):
        for trigger in paper.trigger_orders(spec.symbol):
            paper.cancel_trigger_order(spec.symbol, trigger.order_id)
        return {}
    found = _find(call, spec)
    try:
        paper.cancel_trigger_order(spec.symbol, found.order_id)
    except NotFoundError as exc:
        raise WireError(40035, str(exc)) from None
    return {}


def _submit(call: Call, kind: TriggerKind) -> TriggerOrder:
    spec = call.symbol()
    body = call.body
    side = checks.order_side(body.get("side"), allowed=(2, 3))
    trigger_price = _trigger_price(spec, body)
    price_type = _price_type(body)
    execution = _execution(spec, body)
    category = optional_integer(body.get("plan_category"), 40011, "plan_category") or 2
    if category not in (1, 2):
        raise WireError(40011, f"plan_category {category}; allowed: 1 TP/SL, 2 position TP/SL")
    size: Decimal | None = None
    if category == 1 and body.get("size") not in (None, ""):
        size = Decimal(integer(body.get("size"), 40007, "size"))
        if size <= 0:
            raise WireError(40044, f"size {size} must be positive")
    venue = call.venue
    client_id = unique_client_order_id(venue, body.get("client_order_id"))
    position_side = side.position_side
    if not any(p.side is position_side for p in venue.paper.positions(spec.symbol)):
        raise WireError(40021, f"no open {position_side} position of {spec.symbol}")
    return venue.paper.submit_trigger_order(
        spec.symbol,
        kind=kind,
        position_side=position_side,
        trigger_price=trigger_price,
        size=size,
        execution_price=execution,
        price_type=price_type,
        client_order_id=client_id,
    )


def _trigger_price(spec: ContractSpec, body: Mapping[str, Any]) -> Decimal:
    raw = body.get("trigger_price")
    if raw is None or raw == "":
        raise WireError(40011, "trigger_price is required")
    return on_tick(spec, decimal(raw, 40007, "trigger_price"), "trigger_price")


def _price_type(body: Mapping[str, Any]) -> PriceType:
    raw = body.get("price_type")
    if raw is None or raw == "":
        raise WireError(40011, "price_type is required: 1 last price, 2 fair price")
    value = integer(raw, 40011, "price_type")
    if value not in (1, 2):
        raise WireError(40011, f"price_type {value}; allowed: 1 last price, 2 fair price")
    return PriceType(value)


def _execution(spec: ContractSpec, body: Mapping[str, Any]) -> Decimal | None:
    """The limit execution price, or None to execute at market (category "market", or an
    executive_price of "0" or absent)."""
    category = text(body.get("category"), "category")
    if category not in (None, "", "limit", "market"):
        raise WireError(40011, f"category {category!r}; allowed: limit, market")
    value = optional_decimal(body.get("executive_price"), 40007, "executive_price")
    if category == "market" or value is None or value == 0:
        if category == "limit":
            raise WireError(40011, "a limit TP/SL needs an executive_price")
        return None
    return on_tick(spec, value, "executive_price")


def _find(call: Call, spec: ContractSpec) -> TriggerOrder:
    """The trigger named by `order_id` or `client_order_id` (40035 when there is none)."""
    venue = call.venue
    raw_id = call.body.get("order_id")
    if raw_id not in (None, ""):
        paper = shapes.paper_id(raw_id)
        if paper is None:
            raise WireError(40037, f"order_id {raw_id!r}")
        found = next(
            (t for t in venue.paper.trigger_orders(spec.symbol) if t.order_id == paper), None
        )
    else:
        client = text(call.body.get("client_order_id"), "client_order_id") or ""
        known = venue.by_client(client)
        found = known if isinstance(known, TriggerOrder) and known.symbol == spec.symbol else None
    if found is None or not found.status.is_open:
        raise WireError(40035, f"no active TP/SL {raw_id or ''} of {spec.symbol}")
    return found
