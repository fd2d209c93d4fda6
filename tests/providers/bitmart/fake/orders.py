"""Handlers of the private writes on normal orders, leverage and the dead man's switch."""

from __future__ import annotations

from typing import Any

from providers.port import NotFoundError
from providers.types import OpenType, OrderRequest

from . import checks, shapes
from .checks import Draft
from .params import Call, integer, text, unique_client_order_id
from .venue import Venue
from .wire import WireError

#: The shortest cancel-all-after timeout; 0 disarms.
MIN_TIMEOUT_S = 5


def submit_order(call: Call) -> dict[str, Any]:
    """Validate like Bitmart, then hand the order to the paper exchange."""
    spec = call.symbol()
    if not spec.is_trading:
        raise WireError(40014, f"{spec.symbol} is {spec.status}")
    draft = checks.draft(spec, call.body)
    venue = call.venue
    client_id = unique_client_order_id(venue, call.body.get("client_order_id"))
    leverage, open_type = _terms(venue, spec.symbol, draft)
    request = OrderRequest(
        symbol=spec.symbol,
        side=draft.side,
        type=draft.type,
        size=draft.size,
        price=draft.price,
        mode=draft.mode,
        client_order_id=client_id,
        leverage=leverage,
        open_type=open_type,
        preset_take_profit=draft.take_profit,
        preset_stop_loss=draft.stop_loss,
        preset_price_type=draft.preset_price_type,
    )
    order = venue.paper.submit_order(request)
    return {"order_id": shapes.wire_id(order.order_id), "price": draft.price_text}


def _terms(venue: Venue, symbol: str, draft: Draft) -> tuple[int | None, OpenType]:
    """Leverage and margin type, checked against the position the order opens or closes."""
    side = draft.side.position_side
    holding = next((p for p in venue.paper.positions(symbol) if p.side is side), None)
    if draft.side.is_close:
        if holding is None:
            raise WireError(40021, f"no open {side} position of {symbol} to close")
        pending = sum(
            o.size - o.filled_size for o in venue.paper.open_orders(symbol) if o.side is draft.side
        )
        if draft.size > holding.size - pending:
            raise WireError(
                40020,
                f"close size {draft.size} is above the {holding.size - pending} contracts of "
                f"the {side} position not yet in close orders",
            )
        return holding.leverage, holding.open_type
    setting = venue.leverage_setting(symbol)
    open_type = draft.open_type
    if open_type is None:
        open_type = holding.open_type if holding else setting[1] if setting else OpenType.ISOLATED
    if holding is not None and (
        (draft.leverage is not None and draft.leverage != holding.leverage)
        or open_type is not holding.open_type
    ):
        raise WireError(
            40040,
            f"the {side} position of {symbol} is {holding.open_type} at leverage "
            f"{holding.leverage}; an order adding to it must match",
        )
    if draft.leverage is None and holding is None and setting is None:
        raise WireError(40040, f"no leverage for {symbol}: send leverage or submit-leverage first")
    return draft.leverage, open_type


def cancel_order(call: Call) -> dict[str, Any]:
    """Cancel one open order by `order_id` or `client_order_id`; with neither, all of the
    symbol's. Unknown or finished orders are 40035."""
    spec = call.symbol()
    venue = call.venue
    raw_id = call.arg("order_id")
    client_id = text(call.arg("client_order_id"), "client_order_id")
    if raw_id in (None, "") and not client_id:
        venue.cancel_all(spec.symbol)
        return {}
    if raw_id not in (None, ""):
        paper = shapes.paper_id(raw_id)
        if paper is None:
            raise WireError(40037, f"order_id {raw_id!r}")
        target: dict[str, str] = {"order_id": paper}
    else:
        target = {"client_order_id": client_id or ""}
    try:
        venue.paper.cancel_order(spec.symbol, **target)
    except NotFoundError as exc:
        raise WireError(40035, str(exc)) from None
    return {}


def cancel_orders(call: Call) -> dict[str, Any]:
    spec = call.symbol()
    call.venue.cancel_all(spec.symbol)
    return {}


def submit_leverage(call: Call) -> dict[str, Any]:
    """Set leverage and margin type of the symbol's new orders; re-margins open positions."""
    spec = call.symbol()
    venue = call.venue
    open_type = checks.open_type_of(call.body.get("open_type"), required=True)
    assert open_type is not None
    leverage = checks.leverage(spec, call.body.get("leverage"))
    if leverage is None:
        setting = venue.leverage_setting(spec.symbol)
        held = venue.paper.positions(spec.symbol)
        leverage = setting[0] if setting else held[0].leverage if held else None
    if leverage is None:
        raise WireError(40040, f"no leverage set for {spec.symbol} yet: send leverage")
    venue.paper.set_leverage(spec.symbol, leverage, open_type)
    return {
        "symbol": spec.symbol,
        "leverage": str(leverage),
        "open_type": open_type.value,
        "max_value": str(spec.max_leverage),
    }


def cancel_all_after(call: Call) -> dict[str, Any]:
    """Arm, push out or (timeout 0) disarm the symbol's deadline; times in seconds."""
    spec = call.symbol()
    raw = call.body.get("timeout")
    if raw is None:
        raise WireError(40011, "timeout is required (seconds)")
    timeout = integer(raw, 40011, "timeout")
    venue = call.venue
    now_s = venue.now() // 1000
    if timeout == 0:
        venue.disarm(spec.symbol)
        return {"result": True, "set_time": now_s, "cancel_time": 0}
    if timeout < MIN_TIMEOUT_S:
        raise WireError(40011, f"timeout {timeout} s: at least {MIN_TIMEOUT_S} s, or 0 to disarm")
    deadline = venue.arm(spec.symbol, timeout)
    return {"result": True, "set_time": now_s, "cancel_time": deadline // 1000}


def set_position_mode(call: Call) -> dict[str, Any]:
    """Hedge mode only: one-way mode is refused (40059 with anything open, else 40011)."""
    mode = call.body.get("position_mode")
    if mode not in ("hedge_mode", "one_way_mode"):
        raise WireError(40011, f"position_mode {mode!r}; allowed: hedge_mode, one_way_mode")
    venue = call.venue
    if mode == "one_way_mode":
        if venue.paper.positions() or venue.paper.open_orders():
            raise WireError(40059, "positions or open orders exist")
        raise WireError(40011, "one_way_mode is not simulated: the fake trades in hedge mode")
    venue.position_mode = "hedge_mode"
    return {"position_mode": venue.position_mode}
