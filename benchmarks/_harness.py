"""Shared set-up of the cycle benchmarks: a throw-away PostgreSQL database holding a synthetic
market, real Celery processes (`tests.integration.workers`), and an in-process baseline."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402

PG_ADMIN = os.environ.get("MTF_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    name = f"mtf_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from infra.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def decision_minute() -> datetime:
    """A fixed past minute (12:00 UTC yesterday): every run decides on the same candles."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return yesterday.replace(hour=12, minute=0, second=0, microsecond=0)


def use_database(url: str, **settings: str) -> Any:
    """Point this process's settings and services at `url`."""
    os.environ["DATABASE_URL"] = url
    for key, value in settings.items():
        os.environ[f"MTF_{key.upper()}"] = value
    from infra.settings import reset_settings
    from mtf import services

    reset_settings()
    services.reset()
    return services.services()


def prepare_market(
    svc: Any, count: int, as_of_ms: int, profile: str = "scalper_micro", extra_minutes: int = 0
) -> list[str]:
    """Create `count` synthetic symbols and store every candle the profile reads at `as_of_ms`
    and during the `extra_minutes` before it."""
    from mtf.rules.profile import load_profile

    svc.synthetic.ensure_universe(count)
    symbols = svc.contracts.by_source().get("synthetic", [])[:count]
    compiled = load_profile(profile)
    started = time.perf_counter()
    for tf in compiled.timeframes:
        bars = compiled.candles_needed(tf, as_of_ms) + extra_minutes // tf.minutes + 1
        svc.synthetic.prefill(svc.klines, symbols, [tf], bars, as_of_ms)
    print(
        f"  stored candles of {len(symbols)} symbols in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return symbols


def _validate_chunk(args: tuple[list[str], dict[str, Any]]) -> int:
    from mtf.tasks.cycle import validate_batch

    symbols, data = args
    validate_batch.run(symbols, data)  # the chord member's body: validate and save
    return len(symbols)


def _pool_init(url: str) -> None:
    from infra.db import dispose_engines

    dispose_engines()
    use_database(url)


class InProcessPool:
    """The chord's work (validate and save each batch, in the same batches) in a pool of local
    processes: the baseline a distributed cycle is compared with."""

    def __init__(self, url: str, processes: int = 2) -> None:
        import multiprocessing as mp

        self.processes = processes
        self.pool = mp.get_context("fork").Pool(processes, initializer=_pool_init, initargs=(url,))

    def time(self, symbols: list[str], data: dict[str, Any]) -> float:
        from mtf.tasks.cycle import batch_size

        size = batch_size(len(symbols), 0, self.processes)
        parts = [(symbols[i : i + size], data) for i in range(0, len(symbols), size)]
        started = time.perf_counter()
        self.pool.map(_validate_chunk, parts, chunksize=1)
        return time.perf_counter() - started

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
