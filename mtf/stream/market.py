"""The public stream: one-minute candles and book tickers of every universe symbol.

Frames go through the closer (`providers.bitmart.ws.closer`): only closed bars are written,
in one transaction per batch, followed at timeframe boundaries by the longer candles
aggregated from them (`providers.aggregate`, equal to Bitmart's own). A gap in a symbol's
series (a reconnection, a silence, a late start) is repaired through REST, paced by the shared
rate limiter, before the symbol counts as covered again. A symbol without frames for
`stream_stale_after_seconds` is stale: not counted as covered, so the cycle reads it by REST.
Topics are spread over connections of `stream_topics_per_connection`, subscribed in messages
within the documented limits; the universe is followed every `UNIVERSE_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from infra.settings import Settings
from mtf.stream.status import MARKET, StatusStore, StreamStatus
from providers.aggregate import SOURCE_OF, aggregate
from providers.bitmart.ws.closer import KlineCloser
from providers.bitmart.ws.connection import StreamConnection
from providers.bitmart.ws.messages import Bar, BookTicker, KlineUpdate, Message
from providers.bitmart.ws.requests import BOOKTICKER, KLINE_1M, topic_of
from providers.candles import Candles
from providers.klines import KlineStore
from providers.marketdata import has_holes
from providers.port import ExchangeError
from providers.quotes import Quote, QuoteStore
from providers.timeframes import Timeframe

log = logging.getLogger("mtf.stream")

M1 = Timeframe.M1
STEP = M1.ms
UNIVERSE_EVERY_S = 60.0
WRITE_EVERY_S = 0.05
QUOTES_EVERY_S = 0.25
STATUS_EVERY_S = 1.0

Clock = Callable[[], int]
Repair = Callable[[str, int, int], Candles]  # symbol, start ms, end ms -> closed 1m candles


def chain_of(timeframes: Iterable[Timeframe]) -> list[Timeframe]:
    """The longer timeframes to aggregate, shortest first, with every step between them."""
    longest = max((tf.ms for tf in timeframes), default=STEP)
    return [tf for tf in SOURCE_OF if tf.ms <= longest]


@dataclass
class SymbolState:
    stored: int | None = None  # newest 1m open time stored
    contiguous: int | None = None  # newest open time with no hole before it (known)
    subscribed_ms: int = 0
    repairing: bool = False


@dataclass
class MarketStream:
    klines: KlineStore
    quotes: QuoteStore
    settings: Settings
    url: str
    clock: Clock
    repair_rest: Repair
    universe: Callable[[], list[str]]
    timeframes: Sequence[Timeframe] = (M1,)
    history_bars: int = 500
    status: StatusStore | None = None
    holder: str = ""
    closer: KlineCloser = field(init=False)
    states: dict[str, SymbolState] = field(default_factory=dict)
    connections: list[StreamConnection] = field(default_factory=list)
    conn_of: dict[str, StreamConnection] = field(default_factory=dict)
    pending: list[tuple[str, Bar]] = field(default_factory=list)
    fresh_quotes: dict[str, Quote] = field(default_factory=dict)
    repairs: int = 0
    written: int = 0
    complete_ms: int = 0
    stale: list[str] = field(default_factory=list)
    _repair_queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.closer = KlineCloser(
            STEP,
            grace_ms=self.settings.stream_close_grace_ms,
            silent_ms=self.settings.stream_stale_after_seconds * 1000,
        )
        self.aggregated = chain_of(self.timeframes)

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled: follow the universe, keep the connections, write what closes."""
        newest = await asyncio.to_thread(self.klines.newest_by_symbol, M1)
        for symbol, opened in newest.items():
            self.states[symbol] = SymbolState(stored=opened, contiguous=None)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow_universe())
                group.create_task(self._write_loop())
                group.create_task(self._repair_loop())
        finally:
            for task in self._tasks:
                task.cancel()

    async def _follow_universe(self) -> None:
        while True:
            try:
                wanted = await asyncio.to_thread(self.universe)
                await self.follow(wanted)
            except Exception:
                log.exception("stream: universe not refreshed")
            await asyncio.sleep(UNIVERSE_EVERY_S)

    async def follow(self, symbols: Iterable[str]) -> None:
        """Subscribe the symbols that joined, unsubscribe those that left."""
        wanted = set(symbols)
        current = set(self.conn_of)
        for symbol in sorted(current - wanted):
            conn = self.conn_of.pop(symbol)
            await conn.remove(_topics(symbol))
            self.closer.drop({symbol})
            self.states.pop(symbol, None)
        added = sorted(wanted - current)
        capacity = max(1, self.settings.stream_topics_per_connection // 2)
        now = self.clock()
        for symbol in added:
            room = next((c for c in self.connections if _load(self, c) < capacity), None)
            conn = room if room is not None else self._connection()
            self.conn_of[symbol] = conn
            state = self.states.setdefault(symbol, SymbolState())
            state.subscribed_ms = now
            state.contiguous = None  # checked against the store before it counts
            self._repair_queue.put_nowait(symbol)
            await conn.add(_topics(symbol))
        if added or current - wanted:
            log.info(
                "stream: %d symbol(s) on %d connection(s) (+%d, -%d)",
                len(self.conn_of),
                len(self.connections),
                len(added),
                len(current - wanted),
            )

    def _connection(self) -> StreamConnection:
        conn = StreamConnection(
            self.url,
            name=f"public-{len(self.connections) + 1}",
            on_messages=self.on_messages,
            on_state=self._on_state,
        )
        self.connections.append(conn)
        task = asyncio.get_running_loop().create_task(conn.run())
        self._tasks.add(task)
        return conn

    # --- frames ---------------------------------------------------------------------------

    def on_messages(self, messages: list[Message]) -> None:
        now = self.clock()
        for message in messages:
            if isinstance(message, KlineUpdate) and message.step_minutes == 1:
                if message.symbol in self.conn_of:
                    for bar in self.closer.update(message.symbol, message.bars, now):
                        self.pending.append((message.symbol, bar))
            elif isinstance(message, BookTicker):
                self.fresh_quotes[message.symbol] = Quote(
                    message.symbol,
                    message.bid,
                    message.ask,
                    message.bid_size,
                    message.ask_size,
                    message.ts_ms,
                    now,
                )

    def _on_state(self, conn: StreamConnection, up: bool) -> None:
        symbols = {s for s, c in self.conn_of.items() if c is conn}
        if up:
            log.info("stream %s connected (%d symbols)", conn.name, len(symbols))
            return
        # Frames were missed: forming bars are not trusted; what closed meanwhile is repaired.
        self.closer.drop(symbols)
        log.warning("stream %s down: %d symbols wait for it", conn.name, len(symbols))

    # --- writing ----------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_quotes = last_status = 0.0
        while True:
            await asyncio.sleep(WRITE_EVERY_S)
            now = self.clock()
            self.pending.extend(self.closer.due(now))
            if self.pending:
                batch, self.pending = self.pending, []
                try:
                    gaps = await asyncio.to_thread(self.store_closed, batch)
                except Exception:
                    log.exception("stream: %d closed candle(s) not written", len(batch))
                    for symbol, _bar in batch:
                        self._repair_queue.put_nowait(symbol)
                    continue
                for symbol in gaps:
                    self._repair_queue.put_nowait(symbol)
                last_status = 0.0  # report the new coverage at once
            wall = loop.time()
            if self.fresh_quotes and wall - last_quotes >= QUOTES_EVERY_S:
                quotes, self.fresh_quotes = list(self.fresh_quotes.values()), {}
                try:
                    await asyncio.to_thread(self.quotes.put_many, quotes)
                except Exception:
                    log.exception("stream: quotes not written")
                last_quotes = wall
            if wall - last_status >= STATUS_EVERY_S:
                self.update_coverage(now)
                last_status = wall
                await self.on_status()

    async def on_status(self) -> None:
        """Report the coverage (`stream_status`, row `market`): what `candles_ready` reads."""
        if self.status is None:
            return
        report = StreamStatus(
            name=MARKET,
            leader=self.holder,
            heartbeat_ms=self.clock(),
            connected=self.connected,
            complete_ms=self.complete_ms,
            symbols=len(self.conn_of),
            stale=self.stale[:200],
            detail={
                "connections": len(self.connections),
                "written": self.written,
                "repairs": self.repairs,
                "late_frames": self.closer.late,
                "reconnects": sum(max(0, c.connects - 1) for c in self.connections),
            },
        )
        try:
            await asyncio.to_thread(self.status.put, report)
        except Exception:
            log.exception("stream: status not written")

    def store_closed(self, batch: list[tuple[str, Bar]]) -> list[str]:
        """Write closed bars and what they complete; the symbols whose series has a gap."""
        rows = [(s, b.open_ms, b.open, b.high, b.low, b.close, b.volume) for s, b in batch]
        self.klines.upsert_bars(M1, rows)
        self.written += len(rows)
        self._aggregate_live(batch)
        gaps = []
        for symbol, bar in sorted(batch, key=lambda item: item[1].open_ms):
            state = self.states.setdefault(symbol, SymbolState())
            if state.contiguous is not None and bar.open_ms == state.contiguous + STEP:
                state.contiguous = bar.open_ms
            elif state.contiguous is None or bar.open_ms > state.contiguous + STEP:
                gaps.append(symbol)
            state.stored = max(state.stored or 0, bar.open_ms)
        return gaps

    def _aggregate_live(self, batch: list[tuple[str, Bar]]) -> None:
        ends: dict[tuple[int, int], list[str]] = {}
        for symbol, bar in batch:
            end = bar.open_ms + STEP
            for tf in self.aggregated:
                if end % tf.ms == 0:
                    ends.setdefault((tf.ms, end), []).append(symbol)
        by_ms = {tf.ms: tf for tf in self.aggregated}
        for (tf_ms, end), symbols in sorted(ends.items()):
            tf = by_ms[tf_ms]
            source = SOURCE_OF[tf]
            blocks = self.klines.load_window(
                symbols, source, as_of_ms=end, limit=tf.ms // source.ms
            )
            self._store_aggregates(tf, blocks.values(), end - tf.ms)

    def _store_aggregates(self, tf: Timeframe, blocks: Iterable[Candles], first: int) -> None:
        rows: list[tuple[str, int, float, float, float, float, float]] = []
        for block in blocks:
            built = aggregate(block, tf)
            rows.extend((block.symbol, *r) for r in built.rows() if r[0] >= first)
        self.klines.upsert_bars(tf, rows)

    # --- repairs ----------------------------------------------------------------------------

    async def _repair_loop(self) -> None:
        while True:
            symbol = await self._repair_queue.get()
            state = self.states.get(symbol)
            if state is None or state.repairing or symbol not in self.conn_of:
                continue
            state.repairing = True
            try:
                await asyncio.to_thread(self.repair, symbol)
            except ExchangeError as exc:
                log.warning("stream: %s not repaired: %s", symbol, exc)
                await asyncio.sleep(1.0)
                self._repair_queue.put_nowait(symbol)
            except Exception:
                log.exception("stream: %s not repaired", symbol)
            finally:
                state.repairing = False

    def repair(self, symbol: str) -> None:
        """Fill the symbol's one-minute series up to the last closed minute through REST
        (and the longer candles over the repaired span); the series is then contiguous."""
        state = self.states[symbol]
        last_closed = M1.last_closed_open_ms(self.clock())
        first = last_closed - (self.history_bars - 1) * STEP
        window = self.klines.load_range(symbol, M1, first, last_closed + STEP)
        start = first
        if state.contiguous is not None and state.contiguous >= first:
            start = state.contiguous + STEP
        elif len(window) and window.open_time[0] == first and not has_holes(window):
            start = int(window.open_time[-1]) + STEP
        if start <= last_closed:
            fetched = self.repair_rest(symbol, start, last_closed + STEP)
            self.repairs += 1
            if len(fetched):
                self.klines.upsert(fetched)
            self._aggregate_span(symbol, start, last_closed + STEP)
            window = self.klines.load_range(symbol, M1, first, last_closed + STEP)
        state.stored = window.last_open_ms
        # The span is now as complete as the exchange has it; a hole it cannot fill shows up
        # in the cycle as `candle_gap`, not as an endless repair.
        state.contiguous = window.last_open_ms

    def _aggregate_span(self, symbol: str, start: int, end: int) -> None:
        for tf in self.aggregated:
            source = SOURCE_OF[tf]
            first = start - start % tf.ms
            block = self.klines.load_range(symbol, source, first, end)
            self._store_aggregates(tf, [block], first)

    # --- coverage ---------------------------------------------------------------------------

    def update_coverage(self, now: int) -> None:
        """Which symbols are stale, and up to which minute every other one is stored."""
        stale_ms = self.settings.stream_stale_after_seconds * 1000
        stale, ends = [], []
        for symbol, conn in self.conn_of.items():
            state = self.states.get(symbol) or SymbolState()
            topic = topic_of(KLINE_1M, symbol)
            waiting = now - state.subscribed_ms > stale_ms
            if topic in conn.refused or (waiting and self.closer.is_silent(symbol, now)):
                stale.append(symbol)
                continue
            ends.append(state.contiguous + STEP if state.contiguous is not None else 0)
        if len(stale) != len(self.stale):
            log.warning("stream: %d stale symbol(s): %s", len(stale), ", ".join(stale[:20]))
        self.stale = sorted(stale)
        self.complete_ms = min(ends) if ends else 0

    @property
    def connected(self) -> bool:
        return bool(self.connections) and all(c.connected for c in self.connections)


def _topics(symbol: str) -> list[str]:
    return [topic_of(KLINE_1M, symbol), topic_of(BOOKTICKER, symbol)]


def _load(stream: MarketStream, conn: StreamConnection) -> int:
    return sum(1 for c in stream.conn_of.values() if c is conn)
