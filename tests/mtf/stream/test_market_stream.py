"""The public stream against the fake Bitmart: closed candles only, equal to the exchange's;
readiness of a minute; reconnection with resubscription and REST repair of the gap; a silent
symbol marked stale and read by REST in the cycle; universe changes followed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mtf.stream import StatusStore, candles_ready
from providers.aggregate import aggregate
from providers.timeframes import Timeframe
from tests.mtf.stream.conftest import MINUTE, START_MS, Rig, wait_for

M1, M5 = Timeframe.M1, Timeframe.M5
T0 = START_MS - START_MS % MINUTE  # 12:00, the forming minute at the start

pytestmark = pytest.mark.services


def newest(rig: Rig, symbol: str, tf: Timeframe = M1) -> int | None:
    return rig.svc.klines.newest_open_ms(symbol, tf)


def truth(rig: Rig, symbol: str, open_ms: int, tf: Timeframe = M1) -> tuple[float, ...]:
    candles = rig.fake.venue.klines.load_range(symbol, tf, open_ms, open_ms + tf.ms)
    return candles.rows()[0]


def stored(rig: Rig, symbol: str, open_ms: int, tf: Timeframe = M1) -> tuple[float, ...]:
    candles = rig.svc.klines.load_range(symbol, tf, open_ms, open_ms + tf.ms)
    assert len(candles) == 1, f"{symbol} {tf} {open_ms} not stored"
    return candles.rows()[0]


def next_minute(rig: Rig, symbols: list[str]) -> int:
    """Move the market one minute on, as time flows: just past the boundary first (where the
    next bucket's frame closes the finished one, well inside the grace), then the rest."""
    now = rig.fake.now()
    finished = now - now % MINUTE
    step = finished + MINUTE + 200 - now
    rig.fake.advance(step)
    for symbol in symbols:
        wait_for(lambda s=symbol: newest(rig, s) == finished, what=f"{symbol} {finished} stored")
    rig.fake.advance(MINUTE - step)
    return finished


def started(rig: Rig, **options: Any) -> Any:
    running = rig.service(private=False, **options)
    wait_for(lambda: candles_ready(rig.svc.engine, T0, rig.fake.now()), what="stream ready")
    return running


def test_only_closed_candles_are_stored_equal_to_the_exchange_and_the_minute_is_ready(
    rig: Rig,
) -> None:
    started(rig)
    # warm: history repaired through REST up to 11:59, the forming 12:00 never stored
    assert newest(rig, "BTCUSDT") == T0 - MINUTE
    wait_for(lambda: rig.ws.pushed > 10, what="frames pushed")
    rig.fake.advance(20_000)  # 12:00:50, still forming
    wait_for(lambda: rig.ws.pushed > 20, what="more frames")
    assert newest(rig, "BTCUSDT") == T0 - MINUTE, "a forming candle is never stored"
    requests = rig.kline_requests()
    next_minute(rig, ["BTCUSDT", "ETHUSDT"])  # the frame of 12:01 closes 12:00
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert stored(rig, symbol, T0) == truth(rig, symbol, T0), "the exchange's own candle"
    assert rig.kline_requests() == requests, "streamed candles cost no request"
    wait_for(lambda: candles_ready(rig.svc.engine, T0 + MINUTE, rig.fake.now()), what="ready")
    assert not candles_ready(rig.svc.engine, T0 + 2 * MINUTE, rig.fake.now())
    # on to 12:05: the 5m candle of 12:00 is aggregated from the streamed minutes
    for _ in range(4):
        next_minute(rig, ["BTCUSDT", "ETHUSDT"])
    wait_for(lambda: newest(rig, "BTCUSDT", M5) == T0, what="5m aggregated")
    minutes = rig.fake.venue.klines.load_range("BTCUSDT", M1, T0, T0 + M5.ms)
    assert stored(rig, "BTCUSDT", T0, M5) == aggregate(minutes, M5).rows()[0]
    assert rig.kline_requests() == requests


def test_a_dropped_connection_reconnects_resubscribes_and_repairs_the_gap(rig: Rig) -> None:
    running = started(rig)
    market = running.service.market
    connects = market.connections[0].connects
    requests = rig.kline_requests()
    assert rig.ws.drop() >= 1
    rig.fake.advance(2 * MINUTE)  # 12:02:30: 12:00 and 12:01 finished while it was down
    wait_for(lambda: market.connections[0].connects > connects, what="reconnected")
    wait_for(lambda: len(rig.ws.topics()) == 4, what="resubscribed")
    next_minute(rig, ["BTCUSDT", "ETHUSDT"])  # 12:02 closes from frames; the gap is seen
    for symbol in ("BTCUSDT", "ETHUSDT"):
        for minute in (T0, T0 + MINUTE, T0 + 2 * MINUTE):
            wait_for(
                lambda s=symbol, m=minute: len(rig.svc.klines.load_range(s, M1, m, m + MINUTE)),
                what=f"{symbol} {minute} repaired",
            )
            assert stored(rig, symbol, minute) == truth(rig, symbol, minute)
    assert rig.kline_requests() > requests, "the gap was repaired through REST"
    wait_for(lambda: candles_ready(rig.svc.engine, T0 + 3 * MINUTE, rig.fake.now()), what="ready")


def test_a_silent_symbol_turns_stale_and_the_cycle_reads_it_by_rest(
    rig: Rig, eager_app: Any
) -> None:
    from mtf.tasks.cycle import run_cycle

    started(rig)

    def cycle(as_of_ms: int) -> dict[str, Any]:
        done = run_cycle.apply(
            kwargs={
                "as_of": as_of_ms / 1000,
                "process_tp_sl": False,
                "symbols": ["BTCUSDT", "ETHUSDT"],
            }
        )
        assert done.successful(), done.result
        return dict(rig.svc.runs.get(done.result["run_id"]).response)

    first = cycle(T0)  # warm-up: the 5m history comes by REST once
    assert {s["status"] for s in first["symbols"].values()} <= {"READY", "INVALID"}
    closed = next_minute(rig, ["BTCUSDT", "ETHUSDT"])
    wait_for(lambda: candles_ready(rig.svc.engine, closed + MINUTE, rig.fake.now()), what="ready")
    details = len(rig.fake.requests("/contract/public/details"))
    requests = rig.kline_requests()
    warm = cycle(closed + MINUTE)
    assert rig.kline_requests() == requests, "a warm cycle on a healthy stream: 0 kline requests"
    assert len(rig.fake.requests("/contract/public/details")) == details, "nor contract details"
    assert all(s["status"] in ("READY", "INVALID") for s in warm["symbols"].values())

    rig.ws.silence({"ETHUSDT"})
    rig.fake.advance(MINUTE)
    minute = closed + MINUTE
    wait_for(lambda: newest(rig, "BTCUSDT") == minute, what="BTC closed")
    status = StatusStore(rig.svc.engine)
    wait_for(lambda: (s := status.get("market")) and s.stale == ["ETHUSDT"], what="ETH stale")
    assert newest(rig, "ETHUSDT") == closed, "no candle is made up for a silent symbol"
    wait_for(lambda: candles_ready(rig.svc.engine, minute + MINUTE, rig.fake.now()), what="ready")
    eth, btc = rig.kline_requests("ETHUSDT"), rig.kline_requests("BTCUSDT")
    third = cycle(minute + MINUTE)
    assert rig.kline_requests("BTCUSDT") == btc
    assert rig.kline_requests("ETHUSDT") > eth, "the stale symbol is read by REST"
    assert third["symbols"]["ETHUSDT"]["status"] in ("READY", "INVALID"), "decided, not stale"
    assert np.isclose(stored(rig, "ETHUSDT", minute)[4], truth(rig, "ETHUSDT", minute)[4])


def test_universe_changes_are_followed(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mtf.stream.market.UNIVERSE_EVERY_S", 0.2)
    started(rig, symbols=None)
    wait_for(lambda: len(rig.ws.topics()) == 6, what="3 symbols subscribed")
    spec = rig.svc.contracts.get("SOLUSDT")
    from dataclasses import replace

    rig.svc.contracts.upsert(replace(spec, status="Delisted"), source="bitmart")
    wait_for(lambda: not any("SOLUSDT" in t for t in rig.ws.topics()), what="SOLUSDT unsubscribed")
    assert len(rig.ws.topics()) == 4


def test_one_leader_and_a_standby_that_takes_over(rig: Rig) -> None:
    first = started(rig, holder="first")
    second = rig.service(private=False, holder="second")
    status = StatusStore(rig.svc.engine)
    assert status.get("market").leader == "first"
    assert not second.service.leading.is_set(), "the standby waits"
    first.stop()
    wait_for(lambda: second.service.leading.is_set(), what="the standby leads")
    wait_for(lambda: status.get("market").leader == "second", what="second reports")
