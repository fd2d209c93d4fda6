"""The private stream hands work to the workers off its event loop: a publish that hangs
(the broker away: Celery retries it for seconds) must not stall the lease renewal, the pings
or the market stream that share the loop."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from infra.settings import Settings
from mtf.stream.private import PrivateStream
from providers.bitmart.ws.messages import PositionUpdate, WsPosition
from tests.providers.bitmart.fake import TEST_CREDENTIALS


def test_a_hanging_publish_does_not_stall_the_event_loop() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    def hanging(task: str, kwargs: dict[str, Any], queue: str) -> None:
        time.sleep(1.0)  # the broker is away: the publish is retried
        sent.append((task, kwargs))

    async def main() -> float:
        stream = PrivateStream(
            ledger=None,  # type: ignore[arg-type]  # order pushes only read it
            settings=Settings(),
            url="ws://127.0.0.1:9/user",
            credentials=TEST_CREDENTIALS,
            clock=lambda: 0,
            dispatch=hanging,
        )
        gaps: list[float] = []

        async def ticks() -> None:  # as the lease renewal and the pings need
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.05)
                gaps.append(time.monotonic() - before)

        ticker = asyncio.create_task(ticks())
        handler = asyncio.create_task(stream._handle_loop())
        await asyncio.sleep(0.2)
        rows = tuple(
            WsPosition(symbol=s, hold_volume=Decimal(1), position_type=1)
            for s in ("BTCUSDT", "ETHUSDT")
        )
        stream.on_messages([PositionUpdate(rows)])
        for _ in range(50):
            await asyncio.sleep(0.05)
            if len(sent) == 2:
                break
        handler.cancel()
        ticker.cancel()
        return max(gaps)

    worst = asyncio.run(main())
    assert [kw["symbol"] for _, kw in sent] == ["BTCUSDT", "ETHUSDT"]
    assert worst < 0.5, f"the event loop stalled {worst:.2f} s"


def test_a_sweep_not_sent_is_asked_for_again_by_the_next_push() -> None:
    sent: list[dict[str, Any]] = []
    failures = [1]

    def broker(task: str, kwargs: dict[str, Any], queue: str) -> None:
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("broker away")
        sent.append(kwargs)

    async def main() -> None:
        stream = PrivateStream(
            ledger=None,  # type: ignore[arg-type]
            settings=Settings(),
            url="ws://127.0.0.1:9/user",
            credentials=TEST_CREDENTIALS,
            clock=lambda: 0,
            dispatch=broker,
        )
        push = PositionUpdate(
            (WsPosition(symbol="BTCUSDT", hold_volume=Decimal(3), position_type=1),)
        )
        await stream._positions(push)  # the fill's sweep is refused by the broker
        await stream._positions(push)  # the same size pushed again

    asyncio.run(main())
    assert sent == [{"exchange": "bitmart", "symbol": "BTCUSDT"}]
