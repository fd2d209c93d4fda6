"""Frames the server sends, as typed messages (pure).

`parse_frame` never raises: a frame it cannot read comes back as `Unknown` with the reason,
so one bad frame costs that frame only. Accepted forms (reference §10):

* acks, one per topic: `{"action":"subscribe","group":T,"success":true|false,"error":...}`;
* login: `{"action":"access","success":...}`;
* pongs in all three observed forms: the text `pong`, `{"group":"System","data":"pong..."}`,
  `{"action":"pong"}`;
* data: `{"group":"<channel>:<SYMBOL>[@speed]","data":...}`: klines (the live `items` list or
  the documented flat object; the bar opens at `ts - ts % step`, `ts` in seconds), book
  tickers, order and position pushes;
* binary frames, raw-deflated (zlib, negative window bits).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from providers.bitmart.fields import EpochMs, OptionalDecimal, WireDecimal, WireInt
from providers.bitmart.models import OrderDetail
from providers.bitmart.ws.requests import STEP_OF_SUFFIX


@dataclass(frozen=True)
class Bar:
    """One kline item: the bucket's open time (ms) and its values so far."""

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class KlineUpdate:
    symbol: str
    step_minutes: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BookTicker:
    symbol: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    ts_ms: int


@dataclass(frozen=True)
class Ack:
    action: str
    topic: str
    success: bool
    error: str = ""


@dataclass(frozen=True)
class LoginAck:
    success: bool
    error: str = ""


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class OrderUpdate:
    """One `{action, order}` item of a futures/order push (action 1 fill, 2 submit, 3 cancel,
    4-9 liquidation and ADL cases); `order` has the REST order fields."""

    action: int
    order: OrderDetail


class WsPosition(BaseModel):
    """A futures/position row; `open_type` is an int here (1 isolated, 2 cross)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    symbol: str
    hold_volume: WireDecimal
    position_type: WireInt
    open_type: WireInt | None = None
    hold_avg_price: OptionalDecimal = None
    liquidate_price: OptionalDecimal = None
    position_mode: str | None = None
    update_time: EpochMs = 0


@dataclass(frozen=True)
class PositionUpdate:
    positions: tuple[WsPosition, ...]


@dataclass(frozen=True)
class Unknown:
    reason: str
    text: str


Message = Ack | LoginAck | Pong | KlineUpdate | BookTicker | OrderUpdate | PositionUpdate | Unknown


def decode(frame: str | bytes) -> str:
    """The text of a frame; binary frames are raw deflate (or plain UTF-8)."""
    if isinstance(frame, str):
        return frame
    try:
        return zlib.decompress(frame, -zlib.MAX_WBITS).decode()
    except zlib.error:
        return frame.decode("utf-8", errors="replace")


def parse_frame(frame: str | bytes) -> list[Message]:
    """The messages of one frame (an order push may carry several)."""
    text = decode(frame)
    stripped = text.strip()
    if stripped.lower().startswith("pong"):
        return [Pong()]
    try:
        raw = json.loads(stripped)
    except ValueError:
        return [Unknown("not JSON", text[:200])]
    if not isinstance(raw, dict):
        return [Unknown("not a JSON object", text[:200])]
    try:
        return _parse(raw, text)
    except (ValidationError, ValueError, TypeError, KeyError, ArithmeticError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [Unknown(f"malformed {raw.get('group') or raw.get('action')}: {first}", text[:200])]


def _parse(raw: dict[str, Any], text: str) -> list[Message]:
    action = raw.get("action")
    group = str(raw.get("group") or "")
    if action == "pong" or (group == "System" and str(raw.get("data", "")).startswith("pong")):
        return [Pong()]
    if action == "access":
        return [LoginAck(bool(raw.get("success")), str(raw.get("error") or ""))]
    if action in ("subscribe", "unsubscribe", "request") and "success" in raw:
        return [Ack(str(action), group, bool(raw["success"]), str(raw.get("error") or ""))]
    if not group or "data" not in raw:
        return [Unknown("no group or data", text[:200])]
    channel = group.split("@", 1)[0].split(":", 1)[0]
    data = raw["data"]
    if channel.startswith("futures/klineBin"):
        step = STEP_OF_SUFFIX.get(channel.removeprefix("futures/klineBin"))
        if step is None:
            return [Unknown(f"unknown kline channel {channel}", text[:200])]
        return [_kline(data, step)]
    if channel == "futures/bookticker":
        return [_book(data)]
    if channel == "futures/order":
        items = data if isinstance(data, list) else [data]
        return [
            OrderUpdate(int(i["action"]), OrderDetail.model_validate(i["order"])) for i in items
        ]
    if channel == "futures/position":
        rows = data if isinstance(data, list) else [data]
        return [PositionUpdate(tuple(WsPosition.model_validate(r) for r in rows))]
    return [Unknown(f"unhandled channel {channel}", text[:200])]


def _kline(data: dict[str, Any], step: int) -> KlineUpdate:
    items = data.get("items")
    rows = items if isinstance(items, list) else [data]
    step_s = step * 60
    bars = []
    for row in rows:
        ts = int(row["ts"])
        ts_s = ts // 1000 if ts >= 10**11 else ts  # seconds on the wire; tolerate ms
        values = [float(Decimal(str(row[k]))) for k in ("o", "h", "l", "c", "v")]
        bars.append(Bar((ts_s - ts_s % step_s) * 1000, *values))
    bars.sort(key=lambda b: b.open_ms)
    return KlineUpdate(str(data["symbol"]), step, tuple(bars))


def _book(data: dict[str, Any]) -> BookTicker:
    def dec(name: str) -> Decimal:
        value = Decimal(str(data[name]))
        if not value.is_finite():
            raise ValueError(f"{name} is not finite")
        return value

    ts = int(data.get("ms_t") or 0)
    return BookTicker(
        symbol=str(data["symbol"]),
        bid=dec("best_bid_price"),
        bid_size=dec("best_bid_vol"),
        ask=dec("best_ask_price"),
        ask_size=dec("best_ask_vol"),
        ts_ms=ts * 1000 if 0 < ts < 10**11 else ts,
    )
