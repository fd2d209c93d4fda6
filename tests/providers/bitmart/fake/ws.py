"""The fake's WebSocket endpoint (reference §10), on the same market clock as its REST side.

`FakeBitmartWs(fake).serve()` yields `ws://127.0.0.1:<port>`; public data on `/api`, private
channels on `/user` after an `access` login checked against the fake's keys (signature of
`timestamp#memo#bitmart.WebSocket`, timestamp within 60 s of the wall clock). Per-topic acks;
unknown channels, symbols and steps, private topics without login and args over 4096 bytes are
refused like Bitmart does. Pings (text or protocol) are answered; a connection that says
nothing for `idle_s`, or does not subscribe within `subscribe_within_s`, is closed.

Klines: every `kline_every_s` the forming bar of each subscribed topic is pushed, in the live
`items` form, growing towards the stored candle of that minute (the candle the REST side will
serve once it closes); when the clock enters a new bucket, the finished bar is pushed in full
first. Book tickers: the paper quote, on subscribe and when it changes. Private: order pushes
(action 2 submit, 1 fill with `last_trade`, 3 cancel) and position pushes (on change and every
`position_every_s`), from the venue's state.

Faults for tests: `drop()` cuts every connection, `silence(symbols)` stops pushes for some
symbols (or all), `refuse_logins`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from providers.bitmart.signing import ws_login_signature
from providers.port import NotFoundError
from providers.timeframes import Timeframe
from providers.types import PositionSide, TopOfBook

from . import wsframes as frames
from .server import FakeBitmart

MAX_ARGS_BYTES = 4096
Row = tuple[int, float, float, float, float, float]


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    private: bool
    opened: float
    last_heard: float
    logged_in: bool = False
    topics: set[str] = field(default_factory=set)
    pushed_bucket: dict[str, int] = field(default_factory=dict)
    pushed_at: dict[str, float] = field(default_factory=dict)
    books: dict[str, TopOfBook] = field(default_factory=dict)


class FakeBitmartWs:
    def __init__(
        self,
        fake: FakeBitmart,
        *,
        kline_every_s: float = 1.0,
        tick_s: float = 0.05,
        idle_s: float = 20.0,
        subscribe_within_s: float = 5.0,
        position_every_s: float = 10.0,
    ) -> None:
        self.fake = fake
        self.kline_every_s = kline_every_s
        self.tick_s = tick_s
        self.idle_s = idle_s
        self.subscribe_within_s = subscribe_within_s
        self.position_every_s = position_every_s
        self.refuse_logins = False
        self.silenced: set[str] | None = set()  # None: every symbol
        self.connections = 0
        self.logins = 0
        self.subscribe_sizes: list[tuple[int, int]] = []  # (topics, args bytes) per message
        self.pushed = 0
        self._conns: set[_Conn] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._truth: dict[tuple[int, str], list[Row]] = {}
        self._looked: dict[tuple[int, int], float] = {}
        self._orders: dict[str, tuple[str, Decimal]] = {}
        self._positions: dict[tuple[str, int], Decimal] = {}
        self._positions_sent = 0.0

    # --- controls (from the test's thread) -----------------------------------------------------

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        ready = threading.Event()
        stop: list[asyncio.Event] = []
        url: list[str] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            stopping = asyncio.Event()
            stop.append(stopping)
            async with serve(self._handle, "127.0.0.1", 0, ping_interval=None) as server:
                port = next(iter(server.sockets)).getsockname()[1]
                url.append(f"ws://127.0.0.1:{port}")
                pusher = asyncio.create_task(self._push_loop())
                ready.set()
                await stopping.wait()
                pusher.cancel()
                for conn in list(self._conns):
                    conn.ws.transport.abort()

        thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True, name="fake-ws")
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake WebSocket server did not start")
        try:
            yield url[0]
        finally:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(stop[0].set)
            thread.join(timeout=10)

    def drop(self, *, private: bool | None = None) -> int:
        """Cut connections (all, or only private/public ones) without a close frame."""
        return self._call(self._drop(private))

    def silence(self, symbols: set[str] | None) -> None:
        """Stop pushing klines and book tickers for `symbols` (None: every symbol)."""
        self.silenced = None if symbols is None else set(symbols)

    def unsilence(self) -> None:
        self.silenced = set()

    def topics(self) -> set[str]:
        return {t for c in list(self._conns) for t in c.topics}

    def open_connections(self, private: bool | None = None) -> int:
        return sum(1 for c in list(self._conns) if private is None or c.private == private)

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _drop(self, private: bool | None) -> int:
        doomed = [c for c in self._conns if private is None or c.private == private]
        for conn in doomed:
            conn.ws.transport.abort()
        return len(doomed)

    # --- one connection -------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        path = ws.request.path if ws.request is not None else "/api"
        conn = _Conn(ws, path.startswith("/user"), loop.time(), loop.time())
        self._conns.add(conn)
        self.connections += 1
        try:
            async for raw in ws:
                conn.last_heard = loop.time()
                await self._on_message(conn, raw)
        except Exception:  # a dropped client is the normal end of a connection
            pass
        finally:
            self._conns.discard(conn)

    async def _on_message(self, conn: _Conn, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            action, args = message.get("action"), message.get("args", [])
        except (ValueError, AttributeError):
            await conn.ws.send(frames.dump({"success": False, "error": "invalid message"}))
            return
        if action == "ping":
            await conn.ws.send(frames.PONG)
        elif action == "access":
            await self._login(conn, args)
        elif action in ("subscribe", "unsubscribe"):
            await self._subscribe(conn, action, args)
        else:
            await conn.ws.send(frames.dump({"success": False, "error": f"unknown action {action}"}))

    async def _login(self, conn: _Conn, args: Any) -> None:
        error = self._login_error(args)
        await conn.ws.send(frames.access(error))
        if error is not None:
            await conn.ws.close()
            return
        conn.logged_in = True
        self.logins += 1

    def _login_error(self, args: Any) -> str | None:
        if self.refuse_logins:
            return "login refused by the test"
        if not (
            isinstance(args, list) and len(args) == 4 and all(isinstance(a, str) for a in args)
        ):
            return "args must be [api_key, timestamp, sign, device] strings"
        key, stamp, sign, _device = args
        creds = self.fake.keys.get(key)
        if creds is None:
            return "unknown api key"
        if not stamp.isdigit() or abs(int(stamp) - self.fake.wall.now()) > 60_000:
            return "timestamp expired"
        if sign != ws_login_signature(creds.secret, stamp, creds.memo):
            return "signature mismatch"
        return None

    async def _subscribe(self, conn: _Conn, action: str, args: Any) -> None:
        topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
        size = len(json.dumps(topics, separators=(",", ":")).encode())
        self.subscribe_sizes.append((len(topics), size))
        if size > MAX_ARGS_BYTES:
            for topic in topics:
                await conn.ws.send(frames.ack(action, topic, f"args over {MAX_ARGS_BYTES} bytes"))
            return
        for topic in topics:
            error = self._topic_error(conn, topic) if action == "subscribe" else None
            if error is None:
                if action == "subscribe":
                    conn.topics.add(topic)
                else:
                    conn.topics.discard(topic)
            await conn.ws.send(frames.ack(action, topic, error))
            if error is None and action == "subscribe":
                await self._push_topic(conn, topic, initial=True)

    def _topic_error(self, conn: _Conn, topic: str) -> str | None:
        channel, _, symbol = topic.partition(":")
        if channel in frames.PRIVATE:
            if not (conn.private and conn.logged_in):
                return f"{channel} need authenication"
            return None
        if channel not in frames.CHANNELS:
            if channel.startswith("futures/klineBin"):
                return f"Invalid channel: not found {topic}"
            return f"group [{topic}] not exist"
        with self.fake._lock:
            known = self.fake.venue.contracts.find(symbol.split("@")[0]) is not None
        return None if known else f"group [{topic}] not exist"

    # --- pushes ---------------------------------------------------------------------------------

    async def _push_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick_s)
            now = loop.time()
            for conn in list(self._conns):
                quiet = now - conn.last_heard
                if quiet > self.idle_s or (
                    not conn.topics and now - conn.opened > self.subscribe_within_s
                ):
                    conn.ws.transport.abort()
                    continue
                for topic in list(conn.topics):
                    with contextlib.suppress(Exception):
                        await self._push_topic(conn, topic)
            if any(c.private and c.topics for c in self._conns):
                with contextlib.suppress(Exception):
                    await self._push_private(now)

    def _muted(self, symbol: str) -> bool:
        return self.silenced is None or symbol in self.silenced

    async def _push_topic(self, conn: _Conn, topic: str, *, initial: bool = False) -> None:
        channel, _, symbol = topic.partition(":")
        symbol = symbol.split("@")[0]
        if channel in frames.PRIVATE or self._muted(symbol):
            return
        now_ms = self.fake.now()
        if channel == "futures/bookticker":
            book = self._book(symbol)
            if book is not None and (initial or conn.books.get(symbol) != book):
                conn.books[symbol] = book
                await self._send(conn, frames.bookticker(book, now_ms))
            return
        step = frames.KLINE_STEP_MS.get(channel)
        if step is None:
            return
        bucket = now_ms - now_ms % step
        previous = conn.pushed_bucket.get(topic)
        wall = asyncio.get_running_loop().time()
        bars = []
        if previous is not None and previous < bucket:
            full = self._bar(symbol, previous, step, previous + step)
            if full is not None:
                bars.append(full)
        elif not initial and wall - conn.pushed_at.get(topic, 0.0) < self.kline_every_s:
            return
        current = self._bar(symbol, bucket, step, now_ms)
        if current is not None:
            bars.append(current)
        conn.pushed_bucket[topic] = bucket
        conn.pushed_at[topic] = wall
        if bars:
            await self._send(conn, frames.kline(topic, symbol, bars))

    async def _send(self, conn: _Conn, text: str) -> None:
        self.pushed += 1
        await conn.ws.send(text)

    def _bar(self, symbol: str, bucket: int, step: int, now_ms: int) -> Row | None:
        """The bar of `bucket` as it stands at `now_ms`: the stored candles of the bucket,
        the last one grown linearly from its open by the elapsed fraction of its minute."""
        truth = self._minutes(symbol, bucket, step)
        if not truth:
            return None
        done = [m for m in truth if m[0] + 60_000 <= now_ms]
        forming = [m for m in truth if m[0] <= now_ms < m[0] + 60_000]
        parts = list(done)
        for t, o, h, lo, c, v in forming:
            f = (now_ms - t) / 60_000
            parts.append((t, o, o + (h - o) * f, o + (lo - o) * f, o + (c - o) * f, v * f))
        if not parts:
            last = truth[0]
            return (bucket, last[1], last[1], last[1], last[1], 0.0)
        return (
            bucket,
            parts[0][1],
            max(p[2] for p in parts),
            min(p[3] for p in parts),
            parts[-1][4],
            sum(p[5] for p in parts),
        )

    def _minutes(self, symbol: str, bucket: int, step: int) -> list[Row]:
        key = (bucket, f"{symbol}:{step}")
        if key not in self._truth:
            now = time.monotonic()
            if now - self._looked.get((bucket, step), -1.0) >= 0.5:  # misses: not every tick
                self._looked[(bucket, step)] = now
                self._prefetch(bucket, step)
        return self._truth.get(key, [])

    def _prefetch(self, bucket: int, step: int) -> None:
        """The stored minutes of `bucket` for every subscribed symbol, in one read (at a
        boundary every topic needs its new bucket at once)."""
        symbols = sorted(
            {t.partition(":")[2].split("@")[0] for c in list(self._conns) for t in c.topics}
        )
        with self.fake._lock:
            found = self.fake.venue.klines.load_window(
                symbols, Timeframe.M1, as_of_ms=bucket + step, limit=step // 60_000
            )
        if len(self._truth) > 50_000:
            self._truth.clear()
            self._looked.clear()
        for symbol, candles in found.items():
            if len(candles):  # an empty bucket is not cached: a test may store it later
                self._truth[(bucket, f"{symbol}:{step}")] = candles.rows()

    def _book(self, symbol: str) -> TopOfBook | None:
        with self.fake._lock:
            try:
                return self.fake.venue.paper.top_of_book(symbol)
            except NotFoundError:
                return None

    async def _push_private(self, now: float) -> None:
        with self.fake._lock:
            venue = self.fake.venue
            venue.sync()
            orders = venue.orders()
            positions = venue.paper.positions()
        events = []
        for working in orders:
            order = working.order
            seen = self._orders.get(order.order_id)
            state = (order.status.value, order.filled_size)
            if seen == state:
                continue
            self._orders[order.order_id] = state
            filled_before = seen[1] if seen else Decimal(0)
            if seen is None:
                events.append((2, working, Decimal(0)))
            if order.filled_size > filled_before:
                events.append((1, working, order.filled_size - filled_before))
            elif not order.status.is_open and order.filled_size < order.size:
                events.append((3, working, Decimal(0)))
        held = {(p.symbol, 1 if p.side is PositionSide.LONG else 2): p for p in positions}
        keys = set(held) | set(self._positions)
        changed = [
            k
            for k in keys
            if self._positions.get(k, Decimal(0)) != (held[k].size if k in held else Decimal(0))
        ]
        periodic = now - self._positions_sent >= self.position_every_s
        rows = [
            (s, k, held.get((s, k)), self.fake.now())
            for s, k in sorted(keys if periodic else changed)
        ]
        self._positions = {k: p.size for k, p in held.items()}
        if periodic:
            self._positions_sent = now
        for conn in list(self._conns):
            if not (conn.private and conn.logged_in):
                continue
            if events and "futures/order" in conn.topics:
                await self._send(conn, frames.order_push(events))
            if rows and "futures/position" in conn.topics:
                await self._send(conn, frames.position_push(rows))
