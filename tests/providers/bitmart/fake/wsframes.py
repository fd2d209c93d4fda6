"""The WebSocket frames of the fake (pure): acks, login answers, pongs, klines in the live
`items` form, book tickers, order and position pushes (reference §10)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from providers.paper.book import Working
from providers.types import Position, TopOfBook

from . import shapes
from .wire import num

PONG = json.dumps({"group": "System", "data": "pong"})
CHANNELS = {
    "futures/bookticker",
    "futures/ticker",
    "futures/trade",
    "futures/fundingRate",
    *(f"futures/klineBin{s}" for s in ("1m", "5m", "15m", "30m", "1H", "2H", "4H", "1D", "1W")),
}
PRIVATE = {"futures/order", "futures/position", "futures/asset"}
_STEPS = (("1m", 1), ("5m", 5), ("15m", 15), ("30m", 30), ("1H", 60), ("2H", 120), ("4H", 240))
KLINE_STEP_MS = {f"futures/klineBin{s}": m * 60_000 for s, m in (*_STEPS, ("1D", 1440))}


def dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def ack(action: str, topic: str, error: str | None = None) -> str:
    frame: dict[str, Any] = {
        "action": action,
        "group": topic,
        "success": error is None,
        "request": {"action": action, "args": [topic]},
    }
    if error is not None:
        frame["error"] = error
    return dump(frame)


def access(error: str | None = None) -> str:
    if error is None:
        return dump({"action": "access", "success": True})
    return dump({"action": "access", "success": False, "error": f"access failed: {error}"})


def kline(
    topic: str, symbol: str, bars: list[tuple[int, float, float, float, float, float]]
) -> str:
    """`bars` of (open ms, o, h, l, c, v); `ts` in seconds at the bar's open."""
    items = [
        {"o": _f(o), "h": _f(h), "l": _f(lo), "c": _f(c), "v": _f(v), "ts": t // 1000}
        for t, o, h, lo, c, v in bars
    ]
    return dump({"group": topic, "data": {"symbol": symbol, "items": items}})


def bookticker(book: TopOfBook, ms: int) -> str:
    data = {
        "symbol": book.symbol,
        "best_bid_price": num(book.bid),
        "best_bid_vol": num(book.bid_size),
        "best_ask_price": num(book.ask),
        "best_ask_vol": num(book.ask_size),
        "ms_t": ms,
    }
    return dump({"group": f"futures/bookticker:{book.symbol}", "data": data})


def order_push(items: list[tuple[int, Working, Decimal]]) -> str:
    """`futures/order` with (action, order, size filled by this event) items."""
    data = []
    for action, working, fill in items:
        row = shapes.order_row(working, detail=True)
        order = working.order
        row |= {
            "plan_order_id": "-",
            "last_trade": None
            if fill <= 0
            else {
                "lastTradeID": shapes.TRADE_ID_BASE + int(order.order_id),
                "fillQty": num(fill),
                "fillPrice": num(order.avg_fill_price or Decimal(0)),
                "fee": "0",
                "feeCcy": "USDT",
            },
            "trigger_price": "-",
            "trigger_price_type": "-",
            "execution_price": "-",
            "activation_price_type": "-",
            "activation_price": "-",
            "callback_rate": "-",
        }
        data.append({"action": action, "order": row})
    return dump({"group": "futures/order", "data": data})


def position_push(rows: list[tuple[str, int, Position | None, int]]) -> str:
    """`futures/position` with (symbol, position_type, position or None when flat, ms)."""
    data = []
    for symbol, kind, position, ms in rows:
        data.append(
            {
                "symbol": symbol,
                "hold_volume": num(position.size) if position else "0",
                "position_type": kind,
                "open_type": 1 if position is None or position.open_type.value == "isolated" else 2,
                "frozen_volume": "0",
                "close_volume": "0",
                "hold_avg_price": num(position.entry_price) if position else "0",
                "close_avg_price": "0",
                "open_avg_price": num(position.entry_price) if position else "0",
                "liquidate_price": "0",
                "create_time": position.opened_ms if position else ms,
                "update_time": ms,
                "position_mode": shapes.HEDGE,
            }
        )
    return dump({"group": "futures/position", "data": data})


def _f(value: float) -> str:
    return repr(float(value))
