"""A running stream service against the fake Bitmart (REST served over HTTP, WebSocket on its
own port), both on the fake's market clock, with the engine on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from providers.quotes import QuoteStore
from tests.conftest import KLINES_DIR, _truncate
from tests.providers.bitmart.adapter import bitmart_client
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart
from tests.providers.bitmart.fake.ws import FakeBitmartWs

START = datetime(2023, 8, 1, 12, 0, 30, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
MINUTE = 60_000
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (generous: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Running:
    """A `StreamService` running on its own event loop thread."""

    service: Any
    loop: asyncio.AbstractEventLoop | None = None
    thread: threading.Thread | None = None
    stop_event: asyncio.Event | None = None
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> Running:
        ready = threading.Event()

        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            ready.set()
            try:
                await self.service.run(self.stop_event)
            except BaseException as exc:
                self.errors.append(exc)
                raise

        self.thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def call(self, coro: Any) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            return
        if self.loop is not None and self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(timeout=90)
            assert not self.thread.is_alive(), "the stream service did not stop"


@dataclass
class Rig:
    fake: FakeBitmart
    ws: FakeBitmartWs
    svc: Any
    rest_url: str
    ws_url: str
    dispatched: list[tuple[str, dict[str, Any], str]]
    running: list[Running] = field(default_factory=list)

    def service(self, **options: Any) -> Running:
        from mtf.stream.service import StreamService

        options.setdefault("symbols", SYMBOLS[:2])
        options.setdefault("clock", self.fake.now)
        options.setdefault("dispatch", lambda t, k, q: self.dispatched.append((t, k, q)))
        running = Running(StreamService(self.svc, **options)).start()
        self.running.append(running)
        return running

    def kline_requests(self, symbol: str | None = None) -> int:
        return sum(
            1
            for s in self.fake.requests("/contract/public/kline")
            if symbol is None or ("symbol", symbol) in s.query
        )


@pytest.fixture
def pg_url(pg_database: str) -> str:
    from infra.db import ensure_schema

    ensure_schema(pg_database)
    _truncate(pg_database)
    return pg_database


@pytest.fixture
def rig(
    tmp_path: Path, pg_url: str, make_services: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    folder = KLINES_DIR / "binance-usdm-futures_2023-07"
    if not folder.is_dir():
        pytest.skip(f"real candles not found at {folder}")
    fake = FakeBitmart(f"sqlite:///{tmp_path / 'fake.db'}", start_ms=START_MS)
    fake.load_csv_folder(folder, symbols=SYMBOLS, timeframes=["1m", "5m"])
    ws = FakeBitmartWs(fake, kline_every_s=0.1)
    monkeypatch.setenv("BITMART_API_KEY", TEST_CREDENTIALS.api_key)
    monkeypatch.setenv("BITMART_SECRET_KEY", TEST_CREDENTIALS.secret)
    monkeypatch.setenv("BITMART_API_MEMO", TEST_CREDENTIALS.memo)
    with fake.serve() as rest_url, ws.serve() as ws_url:
        svc = make_services(
            pg_url,
            exchange="bitmart",
            bitmart_ws_url=ws_url,
            bitmart_base_url=rest_url,
            universe_min_turnover=0,
            universe_min_age_hours=0,
            history_bars=300,
            stream_lease_seconds=3,
        )
        quotes = QuoteStore(svc.engine)
        svc._bitmart_exchange = bitmart_client(
            rest_url,
            TEST_CREDENTIALS,
            fake.now,
            specs=svc.bitmart_spec,
            quotes=lambda symbol: quotes.fresh(symbol, fake.now(), 5_000),
        )
        from mtf.contracts import sync_contracts

        sync_contracts(svc, "bitmart")
        rig = Rig(fake, ws, svc, rest_url, ws_url, [])
        try:
            yield rig
        finally:
            for running in rig.running:
                running.stop()
    fake.close()
