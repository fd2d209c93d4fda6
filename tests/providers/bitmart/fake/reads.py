"""Handlers of the private reads (auth KEYED, GET)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from providers.paper.book import Working
from providers.types import OrderType, Position, PositionSide

from . import shapes
from .params import Call, client_order_id, integer, optional_integer, text
from .wire import WireError, num

WEEK_MS = 7 * 86_400_000
MAX_SPAN_MS = 90 * 86_400_000
HISTORY_ROWS = 200
LIST_ROWS = 100


def assets_detail(call: Call) -> list[dict[str, Any]]:
    return shapes.asset_rows(call.venue.paper.balance())


def trade_fee_rate(call: Call) -> dict[str, Any]:
    spec = call.symbol()
    terms = call.venue.terms
    return {
        "symbol": spec.symbol,
        "taker_fee_rate": num(terms.taker_fee),
        "maker_fee_rate": num(terms.maker_fee),
    }


def get_position_mode(call: Call) -> dict[str, Any]:
    return {"position_mode": call.venue.position_mode}


def position_v2(call: Call) -> list[dict[str, Any]]:
    """Hedge-mode rows: open positions only, or both sides of one symbol even when flat."""
    venue = call.venue
    now = venue.now()
    spec = call.spec(required=False)
    if spec is None:
        return [
            shapes.position_row(
                venue.spec(p.symbol),
                p.side,
                p,
                mark=p.mark_price,
                leverage=p.leverage,
                open_type=p.open_type.value,
                now_ms=now,
            )
            for p in venue.paper.positions()
        ]
    held = {p.side: p for p in venue.paper.positions(spec.symbol)}
    setting = venue.leverage_setting(spec.symbol)
    mark = venue.mark(spec.symbol)
    return [
        shapes.position_row(
            spec,
            side,
            held.get(side),
            mark=mark,
            leverage=setting[0] if setting else 0,
            open_type=setting[1].value if setting else "isolated",
            now_ms=now,
        )
        for side in PositionSide
    ]


def open_orders(call: Call) -> list[dict[str, Any]]:
    """Open normal orders, newest first."""
    spec = call.spec(required=False)
    kind = text(call.arg("type"), "type")
    if kind not in (None, "", "limit", "market", "trailing"):
        raise WireError(40042, f"type {kind!r}")
    state = text(call.arg("order_state"), "order_state") or "all"
    if state not in ("all", "partially_filled"):
        raise WireError(40011, f"order_state {state!r}")
    limit = _limit(call, LIST_ROWS)
    found = call.venue.orders(spec.symbol if spec else None, open_only=True)
    kept = [
        w
        for w in found
        if (not kind or w.order.type.value == kind)
        and (state == "all" or 0 < w.order.filled_size < w.order.size)
    ]
    return [shapes.order_row(w) for w in reversed(kept)][:limit]


def order(call: Call) -> dict[str, Any]:
    """One normal order by `order_id` (40037 when it cannot be an id, 40035 when unknown)."""
    spec = call.symbol()
    raw = call.arg("order_id")
    if raw is None or raw == "":
        raise WireError(40011, "order_id is required")
    paper = shapes.paper_id(raw)
    if paper is None:
        raise WireError(40037, f"order_id {raw!r}")
    found = call.venue.working(spec.symbol, paper)
    if found is None:
        raise WireError(40035, f"order {raw} of {spec.symbol}")
    return shapes.order_row(found, detail=True)


def order_history(call: Call) -> list[dict[str, Any]]:
    """Finished orders created in the time range, newest first (open ones too when the venue
    is told to list them)."""
    spec = call.symbol()
    start, end = _range(call)
    wanted = _wanted(call)
    venue = call.venue
    rows = [
        shapes.order_row(w, history=True)
        for w in reversed(venue.orders(spec.symbol))
        if start <= w.order.created_ms <= end
        and wanted(w)
        and (venue.history_includes_open or not w.order.status.is_open)
    ]
    return rows[:HISTORY_ROWS]


def trades(call: Call) -> list[dict[str, Any]]:
    """Own fills in the time range, newest first: one per filled order."""
    spec = call.spec(required=False)
    start, end = _range(call)
    wanted = _wanted(call)
    filled = [
        w
        for w in call.venue.orders(spec.symbol if spec else None)
        if w.order.filled_size > 0 and start <= w.order.updated_ms <= end and wanted(w)
    ]
    filled.sort(key=lambda w: w.order.updated_ms, reverse=True)
    return [shapes.trade_row(w) for w in filled[:HISTORY_ROWS]]


def current_plan_order(call: Call) -> list[dict[str, Any]]:
    """Active TP/SL triggers, newest first; there are no plain plan orders to list."""
    spec = call.spec(required=False)
    kind = text(call.arg("type"), "type")
    if kind not in (None, "", "limit", "market"):
        raise WireError(40042, f"type {kind!r}")
    plan_type = text(call.arg("plan_type"), "plan_type")
    if plan_type not in (None, "", "plan", "profit_loss"):
        raise WireError(40011, f"plan_type {plan_type!r}")
    limit = _limit(call, LIST_ROWS)
    if plan_type == "plan":
        return []
    venue = call.venue
    symbol = spec.symbol if spec else None
    held: dict[tuple[str, PositionSide], Position] = {
        (p.symbol, p.side): p for p in venue.paper.positions(symbol)
    }
    rows = [
        shapes.plan_row(t, held.get((t.symbol, t.side.position_side)))
        for t in reversed(venue.paper.trigger_orders(symbol))
        if not kind or (kind == OrderType.MARKET.value) == (t.execution_price is None)
    ]
    return rows[:limit]


def _limit(call: Call, most: int) -> int:
    value = optional_integer(call.arg("limit"), 40011, "limit")
    if value is None:
        return most
    if not 1 <= value <= most:
        raise WireError(40011, f"limit {value} is outside 1..{most}")
    return value


def _range(call: Call) -> tuple[int, int]:
    """[start, end] in ms from `start_time`/`end_time` in seconds; the last 7 days by default."""
    now = call.venue.now()
    start_s = optional_integer(call.arg("start_time"), 40039, "start_time")
    end_s = optional_integer(call.arg("end_time"), 40039, "end_time")
    end = now if end_s is None else end_s * 1000 + 999
    start = end - WEEK_MS if start_s is None else start_s * 1000
    if start > end or end - start > MAX_SPAN_MS:
        raise WireError(40039, "the time range must be ordered and at most 90 days long")
    return start, end


def _wanted(call: Call) -> Callable[[Working], bool]:
    """A filter on `order_id` and `client_order_id`."""
    raw_id = call.arg("order_id")
    paper = None
    if raw_id is not None and raw_id != "":
        integer(raw_id, 40037, "order_id")
        paper = shapes.paper_id(raw_id) or "none"
    client = client_order_id(call.arg("client_order_id"))

    def wanted(working: Working) -> bool:
        order = working.order
        return (paper is None or order.order_id == paper) and (
            client is None or order.client_order_id == client
        )

    return wanted
