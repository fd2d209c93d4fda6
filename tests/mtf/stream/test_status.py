"""The readiness predicate read from the stream leader's report."""

from __future__ import annotations

from mtf.stream import StatusStore, StreamStatus, candles_ready, private_stream_live

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
