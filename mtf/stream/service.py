"""`mtf stream`: the stream service's life — leadership, then the streams and the guards.

A process first takes the leader lease (`stream:leader`); a standby retries every third of the
lease. The leader runs the public stream, the private stream (with API keys), the dead-man
switch heartbeat and the position-mode check, and renews its lease; if renewing fails (the
database is gone, or another process took over after a stall) it stops everything at once and
goes back to standby, so two leaders never write together for longer than one renewal period.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from infra import clock as infra_clock
from mtf.services import Services
from mtf.stream.guard import DeadManSwitch, check_position_mode
from mtf.stream.leader import Leadership
from mtf.stream.market import MarketStream
from mtf.stream.private import Dispatch, PrivateStream
from mtf.stream.status import StatusStore
from providers.bitmart import Credentials
from providers.candles import Candles
from providers.port import AuthError, ExchangeError
from providers.quotes import QuoteStore
from providers.timeframes import Timeframe

log = logging.getLogger("mtf.stream")


class LostLeadership(Exception):
    pass


class _Stopping(Exception):
    """Ends the leader's task group when the service is asked to stop."""


def celery_dispatch(task: str, kwargs: dict[str, object], queue: str) -> None:
    from mtf.celery_app import app

    app.send_task(task, kwargs=kwargs, queue=queue)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class StreamService:
    svc: Services
    clock: Callable[[], int] = infra_clock.now_ms
    holder: str = ""
    symbols: Sequence[str] | None = None
    dispatch: Dispatch = celery_dispatch
    private: bool = True

    def __post_init__(self) -> None:
        self.holder = self.holder or default_holder()
        settings = self.svc.settings
        self.leadership = Leadership(self.svc.engine, self.holder, settings.stream_lease_seconds)
        self.status = StatusStore(self.svc.engine)
        self.market: MarketStream | None = None
        self.private_stream: PrivateStream | None = None
        self.guard = DeadManSwitch(self.svc.ledger, settings, lambda: self.svc.exchange("bitmart"))
        self.leading = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Stand by, lead while the lease holds, until `stop` is set (or cancelled)."""
        stop = stop or asyncio.Event()
        period = self.svc.settings.stream_lease_seconds / 3
        while not stop.is_set():
            if await asyncio.to_thread(self._try_lead):
                log.info("stream: %s leads", self.holder)
                try:
                    await self._lead(stop)
                except* LostLeadership:
                    log.error("stream: %s lost the leader lease; standing by", self.holder)
                except* _Stopping:
                    log.info("stream: %s stops", self.holder)
                finally:
                    self.leading.clear()
                    await asyncio.to_thread(self.leadership.release)
            else:
                await _wait(stop, period)

    def _try_lead(self) -> bool:
        try:
            return self.leadership.acquire()
        except Exception as exc:
            log.warning("stream: leader lease not readable (%s)", exc)
            return False

    async def _lead(self, stop: asyncio.Event) -> None:
        settings = self.svc.settings
        base = settings.bitmart_ws_url.rstrip("/")
        self.market = MarketStream(
            klines=self.svc.klines,
            quotes=QuoteStore(self.svc.engine),
            settings=settings,
            url=f"{base}/api?protocol=1.1",
            clock=self.clock,
            repair_rest=self._rest_klines,
            universe=self._universe,
            timeframes=list(Timeframe),  # schedules live in the database: keep every step
            history_bars=settings.history_bars,
            status=self.status,
            holder=self.holder,
        )
        self.leading.set()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._renew(stop))
            group.create_task(self.market.run())
            group.create_task(self._guard())
            credentials = self._credentials()
            if credentials is not None and self.private:
                self.private_stream = PrivateStream(
                    ledger=self.svc.ledger,
                    settings=settings,
                    url=f"{base}/user?protocol=1.1",
                    credentials=credentials,
                    clock=self.clock,
                    dispatch=self.dispatch,
                    status=self.status,
                    holder=self.holder,
                )
                group.create_task(self.private_stream.run())

    async def _renew(self, stop: asyncio.Event) -> None:
        period = self.svc.settings.stream_lease_seconds / 3
        while True:
            if await _wait(stop, period):
                raise _Stopping
            try:
                held = await asyncio.to_thread(self.leadership.renew)
            except Exception as exc:
                log.error("stream: lease not renewed: %s", exc)
                held = False
            if not held:
                raise LostLeadership

    async def _guard(self) -> None:
        settings = self.svc.settings
        self.guard.take_over()
        if self._credentials() is not None:
            try:
                error = await asyncio.to_thread(
                    check_position_mode, self.svc.exchange("bitmart"), settings.position_mode
                )
            except ExchangeError as exc:
                error = f"cannot read the account's position mode: {exc}"
            if error:
                log.error("stream: %s", error)
        while True:
            try:
                await asyncio.to_thread(self.guard.beat)
            except Exception:
                log.exception("stream: dead-man switch heartbeat failed")
            await asyncio.sleep(settings.dead_man_refresh_seconds)

    def _credentials(self) -> Credentials | None:
        try:
            return Credentials.from_settings(self.svc.settings)
        except AuthError:
            return None

    def _universe(self) -> list[str]:
        if self.symbols is not None:
            return list(self.symbols)
        from mtf.contracts import ensure_contracts
        from mtf.tradable import tradable_universe

        ensure_contracts(self.svc, "bitmart")
        symbols, _ = tradable_universe(self.svc, self.clock())
        bitmart = set(self.svc.contracts.by_source().get("bitmart", []))
        return [s for s in symbols if s in bitmart]

    def _rest_klines(self, symbol: str, start_ms: int, end_ms: int) -> Candles:
        return self.svc.exchange("bitmart").klines(symbol, Timeframe.M1, start_ms, end_ms)


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True
