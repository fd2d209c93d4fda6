"""The private stream: order and position pushes turned into the engine's next steps.

* An order push for an entry the ledger follows triggers the watcher's next look at once
  (`mtf.watch_order`, without scheduling a follow-up: the regular chain goes on, slower, since
  pushes are live), so fills, cancellations and the fallback are acted on within a moment.
* A position whose size changed (a fill, a stop or target that fired, a liquidation) triggers
  the TP/SL sweep of its symbol (`mtf.recalc_tpsl`).
* REST reconciliation stays the safety net: a full sweep (resting entries and every position)
  after each login and every `stream_reconcile_seconds`, besides beat's own sweeps.

Login (`access`) is signed as documented and repeated after every reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infra import clock as infra_clock
from infra.settings import Settings
from mtf.stream.status import PRIVATE, StatusStore, StreamStatus
from providers.bitmart.credentials import Credentials
from providers.bitmart.ws.connection import StreamConnection
from providers.bitmart.ws.messages import Message, OrderUpdate, PositionUpdate
from providers.bitmart.ws.requests import ORDER, POSITION, login_message
from tradeentry.follow import taker_client_id
from tradeentry.ledger import OrderLedger

log = logging.getLogger("mtf.stream")

#: (task name, kwargs, queue): how the stream hands work to the workers.
Dispatch = Callable[[str, dict[str, Any], str], None]
EXCHANGE = "bitmart"


@dataclass
class PrivateStream:
    ledger: OrderLedger
    settings: Settings
    url: str
    credentials: Credentials
    clock: Callable[[], int]
    dispatch: Dispatch
    status: StatusStore | None = None
    holder: str = ""
    conn: StreamConnection = field(init=False)
    sizes: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    pushes: int = 0
    triggered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _events: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    _login_up: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.conn = StreamConnection(
            self.url,
            name="private",
            on_messages=self.on_messages,
            on_state=self._on_state,
            login=self._login,
        )
        self.conn.topics.update({ORDER, POSITION})

    def _login(self) -> str:
        c = self.credentials
        return login_message(
            c.api_key.get_secret_value(),
            c.secret.get_secret_value(),
            c.memo.get_secret_value(),
            # The exchange checks the login's timestamp against its own (real) time.
            infra_clock.now_ms(),
        )

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.conn.run())
            group.create_task(self._handle_loop())
            group.create_task(self._reconcile_loop())
            group.create_task(self._status_loop())

    def on_messages(self, messages: list[Message]) -> None:
        for message in messages:
            if isinstance(message, OrderUpdate | PositionUpdate):
                self.pushes += 1
                self._events.put_nowait(message)

    def _on_state(self, conn: StreamConnection, up: bool) -> None:
        if up:
            log.info("private stream logged in")
            self.sizes.clear()  # what changed while down is the reconciliation's job
            self._login_up.set()
        else:
            log.warning("private stream down: %s", conn.last_error or "closed")

    # --- pushes -----------------------------------------------------------------------------

    async def _handle_loop(self) -> None:
        while True:
            message = await self._events.get()
            try:
                if isinstance(message, OrderUpdate):
                    await self._order(message)
                elif isinstance(message, PositionUpdate):
                    await self._positions(message)
            except Exception:
                log.exception("private stream: push not handled")

    async def _order(self, update: OrderUpdate) -> None:
        cid = update.order.client_order_id
        if not cid:
            return
        followed = await asyncio.to_thread(self.ledger.followed, EXCHANGE)
        for row in followed:
            if cid in (row.client_order_id, taker_client_id(row.decision_key)):
                await self._send(
                    "mtf.watch_order",
                    {"decision_key": row.decision_key, "follow_up": False},
                    "orders",
                )
                return

    async def _positions(self, update: PositionUpdate) -> None:
        for row in update.positions:
            key = (row.symbol, row.position_type)
            # Unknown counts as flat: a position first seen open gets its sweep too.
            before = self.sizes.get(key, Decimal(0))
            self.sizes[key] = row.hold_volume
            if before != row.hold_volume:
                log.info("position %s %d: %s -> %s", row.symbol, key[1], before, row.hold_volume)
                sweep = {"exchange": EXCHANGE, "symbol": row.symbol}
                if not await self._send("mtf.recalc_tpsl", sweep, "tpsl"):
                    # Not sent: the next push of this position asks for its sweep again.
                    self.sizes.pop(key, None)

    async def _send(self, task: str, kwargs: dict[str, Any], queue: str) -> bool:
        """Hand `task` to the workers; False when it could not be sent."""
        self.triggered.append((task, kwargs))
        try:
            # In a thread: with the broker away a publish is retried for seconds, which on the
            # event loop would stall the lease renewal, the pings and the market stream.
            await asyncio.to_thread(self.dispatch, task, kwargs, queue)
        except Exception:
            log.exception("private stream: %s not sent", task)
            return False
        return True

    # --- reconciliation and status -----------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        """A full REST sweep after each login and every `stream_reconcile_seconds`."""
        period = self.settings.stream_reconcile_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._login_up.wait(), timeout=period)
            self._login_up.clear()
            await self._send("mtf.recalc_tpsl", {"exchange": EXCHANGE}, "tpsl")

    async def _status_loop(self) -> None:
        while True:
            if self.status is not None:
                report = StreamStatus(
                    name=PRIVATE,
                    leader=self.holder,
                    heartbeat_ms=self.clock(),
                    connected=self.conn.connected,
                    detail={
                        "pushes": self.pushes,
                        "logins": self.conn.connects,
                        "error": self.conn.last_error,
                    },
                )
                try:
                    await asyncio.to_thread(self.status.put, report)
                except Exception:
                    log.exception("private stream: status not written")
            await asyncio.sleep(1.0)
