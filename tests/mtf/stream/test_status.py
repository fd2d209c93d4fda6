"""The readiness predicate read from the stream leader's report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mtf.stream import StatusStore, StreamStatus, candles_ready, private_stream_live
from providers.timeframes import to_ms

MINUTE = 60_000
NOW = 1_700_000_030_000
BOUNDARY = NOW - NOW % MINUTE


def test_ready_only_when_a_live_leader_has_the_minute(sqlite_url: str) -> None:
    from infra.db import get_engine

    engine = get_engine(sqlite_url)
    store = StatusStore(engine)
    assert not candles_ready(engine, BOUNDARY, NOW), "no stream: never early"
    live = StreamStatus("market", "a", NOW - 500, True, complete_ms=BOUNDARY, symbols=600)
    store.put(live)
    assert candles_ready(engine, BOUNDARY, NOW)
    assert candles_ready(engine, BOUNDARY - MINUTE, NOW)
    assert not candles_ready(engine, BOUNDARY + MINUTE, NOW), "the next minute is not in"
    store.put(StreamStatus("market", "a", NOW - 6_000, True, complete_ms=BOUNDARY))
    assert not candles_ready(engine, BOUNDARY, NOW), "a silent leader is not trusted"
    store.put(StreamStatus("market", "a", NOW, False, complete_ms=BOUNDARY))
    assert not candles_ready(engine, BOUNDARY, NOW), "a disconnected stream is not trusted"
    assert not private_stream_live(engine, NOW)
    store.put(StreamStatus("private", "a", NOW - 100, True))
    assert private_stream_live(engine, NOW)
    assert [s.name for s in store.all()] == ["market", "private"]


def test_beat_starts_a_schedule_early_once_the_stream_has_its_minute(
    sqlite_url: str, make_services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`MTF_BEAT_READINESS=mtf.stream:schedule_ready` wired into the durable scheduler."""
    from infra import clock
    from infra.settings import Settings
    from schedules.dispatch import Dispatcher
    from schedules.scheduler import load_readiness
    from schedules.store import ScheduleSpec, ScheduleStore

    svc = make_services(sqlite_url)
    t0 = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
    minute = datetime(2026, 3, 2, 12, 1, tzinfo=UTC)
    monkeypatch.setattr("infra.clock.now", lambda: t0)
    schedules = ScheduleStore(svc.engine)
    schedules.create(
        ScheduleSpec(name="micro", profile="scalper_micro", offset_seconds=10), actor="test"
    )
    sent: list[datetime] = []
    dispatcher = Dispatcher(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        schedules=schedules,
        runs=svc.runs,
        publish=lambda run_id, request, scheduled: sent.append(scheduled),
        leading_since=t0,
        ready=load_readiness("mtf.stream:schedule_ready"),
    )
    dispatcher.tick(minute + timedelta(seconds=1))
    assert sent == [], "no stream report: waits for the offset"
    status = StatusStore(svc.engine)
    status.put(
        StreamStatus("market", "s", clock.now_ms(), True, complete_ms=to_ms(minute) - MINUTE)
    )
    dispatcher.tick(minute + timedelta(seconds=1.2))
    assert sent == [], "the stream has not closed that minute yet"
    status.put(StreamStatus("market", "s", clock.now_ms(), True, complete_ms=to_ms(minute)))
    dispatcher.tick(minute + timedelta(seconds=1.4))
    assert sent == [minute], "sent 8.6 s before its offset"
