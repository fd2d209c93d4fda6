"""Bitmart-mode cycles over the fake Bitmart with the documented limits enforced: REST only,
and with the market-data stream (`mtf stream`), for 30, 150 and 600 symbols, on 1m and 5m
closes.

Processes as in production: the fake Bitmart (REST with its rate limits, and the WebSocket),
the stream service (a leader on its own), and `scalper_micro` cycles run by `--workers` Celery
worker processes (default 2, a private Redis; 0 runs them in-process), PostgreSQL store.
Market time runs at real speed, offset into a fixed past day (every process reads it through
`infra.clock`). The store is warm (previous cycles' candles are in; contracts synced).

* REST only: the cycle starts 1 s after the close (the candle is published) and fetches what
  closed, one request per symbol and timeframe, paced by the limiter.
* Stream: the cycle starts as soon as `candles_ready` says the minute is in (event-driven; the
  deadline fallback is the beat offset, 5 s).

Per case: close -> last decision (p50/p95 over the closes measured), close -> orders enqueued
(the reducer's hand-off; READY decisions are few with scalper_micro), requests per cycle by
endpoint, stale symbols, 429s. Needs PostgreSQL on 127.0.0.1:5432.

    python benchmarks/bench_bitmart_cycle.py [--sizes 30,150,600] [--modes rest,stream]
                                             [--stream-closes 5] [--rest-closes 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._harness import bench_database, decision_minute

MINUTE = 60_000
HISTORY_MINUTES = 1_400  # scalper_micro reads 1333 one-minute candles
SEED = 42


# --- the fake Bitmart, in its own process ------------------------------------------------------


def _fake_main(conn: Any, symbols: list[str], first_ms: int, last_ms: int, now_ms: int) -> None:
    import tempfile

    from providers.synthetic.market import SyntheticMarket
    from providers.timeframes import Timeframe
    from tests.providers.bitmart.fake import FakeBitmart
    from tests.providers.bitmart.fake.ws import FakeBitmartWs

    folder = tempfile.mkdtemp(prefix="bench-fake-")
    fake = FakeBitmart(f"sqlite:///{folder}/fake.db", start_ms=now_ms)
    market = SyntheticMarket(SEED)
    for symbol in symbols:
        fake.list_contract(market.spec(symbol))
        fake.put_candles(market.candles(symbol, Timeframe.M1, first_ms, last_ms))
    fake.clock.run(1.0)
    ws = FakeBitmartWs(fake, kline_every_s=1.0)
    with fake.serve() as rest_url, ws.serve() as ws_url:
        conn.send((rest_url, ws_url))
        while True:
            command, arg = conn.recv()
            if command == "stats":
                conn.send((Counter(s.path for s in fake.seen), fake.rate_limited))
            elif command == "set_time":
                fake.set_time(arg)
                conn.send(fake.now())
            elif command == "stop":
                conn.send(None)
                break
    fake.close()


@contextmanager
def fake_exchange(
    symbols: list[str], first_ms: int, last_ms: int, now_ms: int
) -> Iterator[tuple[str, str, Any]]:
    parent, child = mp.get_context("fork").Pipe()
    process = mp.get_context("fork").Process(
        target=_fake_main, args=(child, symbols, first_ms, last_ms, now_ms), daemon=True
    )
    process.start()
    rest_url, ws_url = parent.recv()
    try:
        yield rest_url, ws_url, parent
    finally:
        parent.send(("stop", None))
        parent.recv()
        process.join(30)


def ask(pipe: Any, command: str, arg: Any = None) -> Any:
    pipe.send((command, arg))
    return pipe.recv()


# --- the stream service, in its own process ----------------------------------------------------


def _stream_main(offset_ms: int, symbols: list[str]) -> None:
    import asyncio
    import logging

    from infra import clock
    from infra.db import dispose_engines
    from infra.settings import reset_settings
    from mtf import services
    from mtf.stream.service import StreamService

    logging.basicConfig(level=logging.WARNING)
    dispose_engines()
    reset_settings()
    services.reset()
    clock.set_offset_ms(offset_ms)
    svc = services.services()
    svc._bitmart_exchange = bitmart_adapter(svc)
    service = StreamService(svc, symbols=symbols, private=False, holder="bench-stream")
    asyncio.run(service.run())


def bitmart_adapter(svc: Any) -> Any:
    """The adapter on the market clock (`infra.clock`), specs and quotes from the store."""
    from infra import clock
    from providers.bitmart import BitmartClient, BitmartExchange, InMemoryRateLimiter

    client = BitmartClient(svc.settings.bitmart_base_url, limiter=InMemoryRateLimiter())
    return BitmartExchange(
        client, clock=clock.now_ms, specs=svc.bitmart_spec, quotes=svc.streamed_quote
    )


# --- the engine ------------------------------------------------------------------------------


class Recorder:
    """Market times of the last validation batch saved and of each order enqueued."""

    def __init__(self) -> None:
        self.decided: list[int] = []
        self.enqueued: list[int] = []

    def install(self) -> None:
        from infra import clock
        from mtf.runs import RunStore
        from mtf.tasks import cycle

        original = RunStore.save_results
        recorder = self

        def save_results(store: Any, run_id: str, results: Any) -> Any:
            out = original(store, run_id, results)
            recorder.decided.append(clock.now_ms())
            return out

        RunStore.save_results = save_results  # type: ignore[method-assign]

        class Enqueue:
            def apply_async(self, *args: Any, **kwargs: Any) -> None:
                recorder.enqueued.append(clock.now_ms())

        cycle.place_order = Enqueue()  # type: ignore[assignment]

    def reset(self) -> None:
        self.decided.clear()
        self.enqueued.clear()


def engine(db_url: str, rest_url: str, ws_url: str) -> Any:
    os.environ.update(
        DATABASE_URL=db_url,
        MTF_EXCHANGE="bitmart",
        MTF_BITMART_BASE_URL=rest_url,
        MTF_BITMART_WS_URL=ws_url,
        MTF_UNIVERSE_MIN_TURNOVER="0",
        MTF_UNIVERSE_MIN_AGE_HOURS="0",
        MTF_UNIVERSE_TOP_N="0",
        MTF_SCHEDULE_PROFILES="scalper_micro",
        MTF_LOG_LEVEL="WARNING",
    )
    from infra.settings import reset_settings
    from mtf import services
    from mtf.celery_app import app, configure_embedded

    reset_settings()
    configure_embedded(app)
    svc = services.services()
    svc._bitmart_exchange = bitmart_adapter(svc)
    return svc


def top_up(svc: Any, symbols: list[str], as_of_ms: int) -> None:
    """The warm store: every candle closed at `as_of_ms` that the cycle reads."""
    from providers.synthetic.market import SyntheticMarket
    from providers.timeframes import Timeframe

    market = SyntheticMarket(SEED)
    for tf, bars in ((Timeframe.M1, HISTORY_MINUTES), (Timeframe.M5, 300)):
        newest = svc.klines.newest_by_symbol(tf)
        last = tf.last_closed_open_ms(as_of_ms)
        for symbol in symbols:
            start = max(last - (bars - 1) * tf.ms, newest.get(symbol, -1) + tf.ms)
            if start <= last:
                svc.klines.upsert(market.candles(symbol, tf, start, last + tf.ms))


CYCLE = {"process_tp_sl": False, "skip_open_state_filter": True}


def run_cycle_at(svc: Any, close_ms: int, sender: Any, recorder: Recorder) -> dict[str, Any]:
    """One cycle deciding `close_ms`: in-process (eager), or sent to the worker processes and
    timed from the database (the run recorded: the reducer is done)."""
    from infra import clock

    if sender is None:
        from mtf.tasks.cycle import run_cycle

        done = run_cycle.apply(kwargs={"as_of": close_ms / 1000, **CYCLE})
        if not done.successful():
            raise RuntimeError(f"cycle failed: {done.result}")
        return dict(svc.runs.get(done.result["run_id"]).response)
    sent = sender.send_task(
        "mtf.run_cycle", kwargs={"as_of": close_ms / 1000, **CYCLE}, queue="mtf", ignore_result=True
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        row = svc.runs.get(sent.id)
        if row is not None and row.status != "running":
            if row.status != "completed":
                raise RuntimeError(f"cycle {row.status}: {row.detail}")
            recorded = clock.now_ms()
            perf = row.response["performance"]
            recorder.decided.append(recorded - int(perf.get("reduce_ms", 0)))
            recorder.enqueued.extend([recorded] * max(1, row.response["orders"]["count"]))
            return dict(row.response)
        time.sleep(0.01)
    raise TimeoutError(f"cycle {sent.id} not recorded")


def wait_until(ms: int) -> None:
    from infra import clock

    while (left := ms - clock.now_ms()) > 0:
        time.sleep(min(left / 1000, 0.01))


def measure(
    svc: Any, pipe: Any, recorder: Recorder, close_ms: int, mode: str, sender: Any = None
) -> dict[str, Any]:
    from infra import clock
    from mtf.stream import StatusStore, candles_ready

    wait_until(close_ms)
    if mode == "rest":
        wait_until(close_ms + 1_000)
    else:
        while not candles_ready(svc.engine, close_ms) and clock.now_ms() < close_ms + 5_000:
            time.sleep(0.005)
    started = clock.now_ms()
    before, limited = ask(pipe, "stats")
    recorder.reset()
    response = run_cycle_at(svc, close_ms, sender, recorder)
    done = clock.now_ms()
    after, limited_after = ask(pipe, "stats")
    requests = {k.rsplit("/", 1)[-1]: v - before.get(k, 0) for k, v in after.items()}
    stale = [s for s, r in response["symbols"].items() if r.get("reason") == "stale_candles"]
    status = StatusStore(svc.engine).get("market")
    return {
        "start_s": (started - close_ms) / 1000,
        "decided_s": (max(recorder.decided, default=done) - close_ms) / 1000,
        "enqueued_s": (max(recorder.enqueued, default=done) - close_ms) / 1000,
        "orders": response["orders"]["count"],
        "requests": {k: v for k, v in requests.items() if v},
        "stale": len(stale) if mode == "rest" else len(status.stale if status else []),
        "rejected": limited_after - limited,
        "symbols": len(response["symbols"]),
    }


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(size: int, mode: str, kind: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    decided = [r["decided_s"] for r in rows]
    enqueued = [r["enqueued_s"] for r in rows]
    requests: Counter[str] = Counter()
    for r in rows:
        requests.update(r["requests"])
    per_cycle = {k: round(v / len(rows), 1) for k, v in sorted(requests.items())}
    print(
        f"  {size:>4} {mode:<6} {kind} closes x{len(rows)}: close->last decision "
        f"p50 {pct(decided, 50):.2f} s p95 {pct(decided, 95):.2f} s | close->orders enqueued "
        f"p50 {pct(enqueued, 50):.2f} s ({sum(r['orders'] for r in rows)} orders) | start "
        f"+{statistics.median(r['start_s'] for r in rows):.2f} s | requests/cycle {per_cycle} | "
        f"stale {max(r['stale'] for r in rows)} | 429s {sum(r['rejected'] for r in rows)}",
        flush=True,
    )


@contextmanager
def workers(db_url: str, count: int) -> Iterator[Any]:
    """`count` worker processes on queue `mtf` (a private Redis), and a Celery app that sends
    to them; nothing when `count` is 0 (cycles run in-process)."""
    if not count:
        yield None
        return
    import tempfile

    from celery import Celery

    from tests.integration.workers import cluster

    extra = {k: v for k, v in os.environ.items() if k.startswith("MTF_")}
    extra["MTF_VALIDATE_PARALLELISM"] = str(count)
    with tempfile.TemporaryDirectory() as logs, cluster(db_url, Path(logs), extra_env=extra) as c:
        c.worker(queues="mtf", concurrency=count)
        sender = Celery("bench", broker=c.env()["CELERY_BROKER_URL"])
        sender.conf.task_serializer = "msgpack"
        yield sender


def bench_size(
    size: int, modes: list[str], stream_closes: int, rest_closes: int, worker_count: int
) -> None:
    from infra import clock
    from infra.db import dispose_engines
    from mtf.contracts import sync_contracts
    from providers.synthetic.market import SyntheticMarket

    base = decision_minute().replace(minute=0)  # a 5m boundary of a past day
    m0 = int(base.timestamp() * 1000)
    symbols = SyntheticMarket(SEED).universe(size)
    stream_base = m0 + 10 * MINUTE
    started = time.perf_counter()
    # The store is warm: the exchange only needs the last hour's candles (REST top-ups, the
    # stream's frames and the repairs it might make).
    with (
        fake_exchange(symbols, m0 - 60 * MINUTE, stream_base + 10 * MINUTE, m0 + 50_000) as (
            rest_url,
            ws_url,
            pipe,
        ),
        bench_database() as db_url,
        ExitStack() as stack,
    ):
        print(f"  {size} symbols: fake ready in {time.perf_counter() - started:.0f} s", flush=True)
        svc = engine(db_url, rest_url, ws_url)
        recorder = Recorder()
        recorder.install()
        sync_contracts(svc, "bitmart")
        sender = stack.enter_context(workers(db_url, worker_count))
        if "rest" in modes:
            market_now = ask(pipe, "set_time", m0 + 40_000)
            clock.set_offset_ms(market_now - clock.wall_ms())
            top_up(svc, symbols, m0)
            # 1m closes first, then the 5m close
            closes = [m0 + MINUTE * k for k in range(1, rest_closes)] + [m0 + 5 * MINUTE]
            rows = [measure(svc, pipe, recorder, c, "rest", sender) for c in closes]
            report(
                size,
                "rest",
                "1m",
                [r for r, c in zip(rows, closes, strict=True) if c % (5 * MINUTE)],
            )
            report(
                size,
                "rest",
                "5m",
                [r for r, c in zip(rows, closes, strict=True) if not c % (5 * MINUTE)],
            )
        if "stream" in modes:
            market_now = ask(pipe, "set_time", stream_base + 20_000)
            offset = market_now - clock.wall_ms()
            clock.set_offset_ms(offset)
            top_up(svc, symbols, stream_base)
            dispose_engines()
            stream = mp.get_context("fork").Process(
                target=_stream_main, args=(offset, symbols), daemon=True
            )
            stream.start()
            try:
                from mtf.stream import candles_ready

                deadline = time.monotonic() + 120
                while not candles_ready(svc.engine, stream_base) and time.monotonic() < deadline:
                    time.sleep(0.1)
                closes = [stream_base + MINUTE * k for k in range(1, stream_closes + 1)]
                rows = [measure(svc, pipe, recorder, c, "stream", sender) for c in closes]
            finally:
                stream.terminate()
                stream.join(10)
            five = [r for r, c in zip(rows, closes, strict=True) if not c % (5 * MINUTE)]
            report(
                size,
                "stream",
                "1m",
                [r for r, c in zip(rows, closes, strict=True) if c % (5 * MINUTE)],
            )
            if five:
                report(size, "stream", "5m", five)
        clock.set_offset_ms(0)
        dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,150,600")
    parser.add_argument("--modes", default="rest,stream")
    parser.add_argument(
        "--stream-closes", type=int, default=5, help="consecutive closes (the 5th is a 5m close)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="Celery worker processes (0: in-process cycles)"
    )
    parser.add_argument("--rest-closes", type=int, default=2, help="1m closes, then one 5m close")
    args = parser.parse_args()
    modes = args.modes.split(",")
    print(
        "Bitmart-mode scalper_micro cycles over the fake (documented limits: public 12 req/2 s per "
        "IP; WebSocket 4096-byte subscriptions)",
        flush=True,
    )
    for size in (int(s) for s in args.sizes.split(",")):
        bench_size(size, modes, args.stream_closes, max(1, args.rest_closes), args.workers)


if __name__ == "__main__":
    main()
