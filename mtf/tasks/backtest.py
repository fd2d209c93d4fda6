"""Sweep parts on the `backtest` queue (see `mtf.backtest.sweep`).

Each task computes one part and keeps it under its unique key; a redelivered task (its worker
died: the tasks are acked late and rejected when the worker is lost) finds its part kept, or
computes it again and keeps it once. A part whose signals are not in yet is retried.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from mtf.backtest import sweep
from mtf.backtest.store import BacktestStore
from mtf.celery_app import app
from mtf.services import services

log = logging.getLogger("mtf.backtest")

OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "max_retries": 5,
}


def _failed(sweep_id: str, what: str, exc: Exception) -> None:
    log.exception("sweep %s: %s failed", sweep_id, what)
    BacktestStore(services().engine).finish_sweep(
        sweep_id, "failed", None, f"{what}: {type(exc).__name__}: {exc}"
    )


@app.task(name="mtf.backtest_signals", bind=True, **OPTIONS)
def backtest_signals(self: Task, sweep_id: str, set_index: int, symbol: str) -> dict[str, Any]:
    """One symbol's signals for one validation variant of a sweep."""
    try:
        kept = sweep.signals_part(services().engine, sweep_id, set_index, symbol)
    except OperationalError:
        raise
    except Exception as exc:
        _failed(sweep_id, f"signals of {symbol} (set {set_index + 1})", exc)
        raise
    return {"sweep_id": sweep_id, "set": set_index, "symbol": symbol, "kept": kept}


@app.task(name="mtf.backtest_trades", bind=True, **{**OPTIONS, "max_retries": 30})
def backtest_trades(self: Task, sweep_id: str, set_index: int) -> dict[str, Any]:
    """One parameter set's account over every symbol of a sweep."""
    try:
        kept = sweep.trades_part(services().engine, sweep_id, set_index)
    except LookupError as exc:
        raise self.retry(exc=exc, countdown=2) from exc
    except OperationalError:
        raise
    except Exception as exc:
        _failed(sweep_id, f"trades of set {set_index + 1}", exc)
        raise
    return {"sweep_id": sweep_id, "set": set_index, "kept": kept}
