"""A local fake of Bitmart's USDT-M futures REST API (v2), for tests only.

`FakeBitmart` answers one request at a time, `handle(method, path, query, headers, body)`,
in the documented wire format (`/work/shared/reference/bitmart-futures-api.md`): the
envelope with a fresh trace, HTTP statuses by code, ids typed per endpoint, Bitmart's auth
(KEYED GETs, SIGNED POSTs checked against the wall clock), per-endpoint rate limits with
their headers, and programmable faults. Trading is simulated by the project's paper
exchange on the fake's own database, driven by the market clock (separate from the wall
clock). Reach it in-process with `transport()` or over HTTP with `serve()`.

Simulated: contract details, klines (with the forming candle), mark-price klines, depth,
funding rate, /system/time (the wall clock); assets, fee rate, position-v2 (hedge mode),
open orders, order detail, order history, trades (one per filled order), current TP/SL
orders; submit/cancel orders, cancel-orders, submit-leverage, cancel-all-after,
TP/SL submit/modify/cancel (also through submit-plan-order), position mode (hedge only).
The WebSocket API is served by `ws.FakeBitmartWs` on the same market clock (per-topic acks,
`access` login, pings, `items` klines, book tickers, order and position pushes, forced
disconnects and silences).
Not simulated: plain plan and trailing orders, one-way mode, liquidation, funding payments,
transfers, position/position-risk/transaction-history.
"""

from .clocks import MarketClock, WallClock
from .credentials import (
    TEST_API_KEY,
    TEST_CREDENTIALS,
    TEST_MEMO,
    TEST_SECRET,
    Credentials,
    sign,
    signed_headers,
)
from .csvload import Loaded
from .faults import Fault, FaultKind, FaultQueue
from .server import FakeBitmart, Seen
from .venue import Expiry, Terms
from .wire import Reply, WireError

__all__ = [
    "TEST_API_KEY",
    "TEST_CREDENTIALS",
    "TEST_MEMO",
    "TEST_SECRET",
    "Credentials",
    "Expiry",
    "FakeBitmart",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "Loaded",
    "MarketClock",
    "Reply",
    "Seen",
    "Terms",
    "WallClock",
    "WireError",
    "sign",
    "signed_headers",
]
