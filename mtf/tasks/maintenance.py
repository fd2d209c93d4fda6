"""Maintenance on the `maintenance` queue: retention of candles and run history."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from infra import clock
from infra.models import RunRow
from mtf.celery_app import app
from mtf.contracts import sync_contracts
from mtf.history import history_needs, synced_profiles
from mtf.services import services
from mtf.tradable import tradable_universe
from providers.port import ExchangeError, TransientError
from providers.timeframes import Timeframe

log = logging.getLogger("mtf.maintenance")


def _ms(tf: Timeframe) -> int:
    return tf.ms


@app.task(name="mtf.cleanup", ignore_result=True)
def cleanup(keep_candles: int | None = None, keep_run_days: int = 7) -> dict[str, Any]:
    """Keep the newest `keep_candles` candles per symbol and timeframe, and recent runs."""
    svc = services()
    needs = history_needs(synced_profiles(svc.settings))
    # Twice what any decision or plan reads, so pruning never cuts into a live window.
    keep = keep_candles or max(2 * max(needs.values(), default=0), svc.settings.history_bars, 500)
    pruned = svc.klines.prune(keep)
    cutoff = clock.now() - timedelta(days=keep_run_days)
    with svc.engine.begin() as conn:
        runs = conn.execute(delete(RunRow).where(RunRow.started_at < cutoff)).rowcount
    log.info("cleanup: %d candles and %d runs removed", pruned, runs)
    return {"candles_removed": pruned, "runs_removed": int(runs or 0), "kept_per_series": keep}


@app.task(
    name="mtf.sync_contracts",
    ignore_result=True,
    autoretry_for=(TransientError,),
    retry_backoff=5,
    max_retries=3,
)
def sync_contracts_task(exchange: str | None = None) -> dict[str, Any]:
    """Upsert the exchange's contracts (daily)."""
    svc = services()
    name = exchange or svc.settings.exchange
    if name == "paper":
        return {"exchange": "paper", "skipped": "the paper exchange lists the stored contracts"}
    report = sync_contracts(svc, name)
    log.info("contract sync: %s", report)
    return report


@app.task(name="mtf.sync_klines", ignore_result=True)
def sync_klines(timeframes: list[str] | None = None, bars: int | None = None) -> dict[str, Any]:
    """Bring the universe's candles up to date (the cycles also top up what they read): per
    timeframe, what the scheduled profiles read (`mtf.history`), or `bars` when given."""
    svc = services()
    now_ms = clock.now_ms()
    symbols, _ = tradable_universe(svc, now_ms)
    needs = history_needs(synced_profiles(svc.settings))
    tfs = [Timeframe.parse(t) for t in timeframes] if timeframes else sorted(needs, key=_ms)
    stale: list[str] = []
    errors: list[str] = []
    for symbol in symbols:
        for tf in tfs:
            try:
                got = svc.market.closed_candles(
                    symbol, tf, now_ms, bars or needs.get(tf) or svc.settings.history_bars
                )
            except ExchangeError as exc:
                errors.append(f"{symbol} {tf}: {exc}")
                continue
            if got.last_open_ms != tf.last_closed_open_ms(now_ms):
                stale.append(f"{symbol} {tf}")
    if stale or errors:
        log.warning(
            "kline sync: %d stale, %d errors (first: %s)",
            len(stale),
            len(errors),
            (errors or stale)[:3],
        )
    return {"symbols": len(symbols), "stale": stale, "errors": errors}
