"""Order placement and the limit-fill watcher on the `orders` queue (idempotent on the
decision key).

Time: the paper exchange trades on market time, which for a run at a past `as_of` is behind the
wall clock; the watcher keeps the offset between the two (`clock_offset_ms`) so the market
clock moves on at wall-clock speed from the decision's `as_of`. Bitmart runs on the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task

from infra import clock
from mtf.celery_app import app
from mtf.contracts import ensure_contracts
from mtf.services import Services, services
from mtf.staleness import decision_stale_after_ms
from mtf.stream.guard import check_position_mode
from mtf.stream.status import private_stream_live
from mtf.tasks.tpsl import recalc_tpsl
from mtf.versions import ProfileVersionMismatch, trade_entry_for
from providers.port import Exchange, ExchangeError, RateLimitError, TransientError
from providers.timeframes import Timeframe, iso
from tradeentry.config import TradeEntryConfigError, load_trade_entry
from tradeentry.execute import place_decision, record_error
from tradeentry.follow import FOLLOWED, follow_entry
from tradeentry.ledger import Decision, InvalidDecision

log = logging.getLogger("mtf.orders")

RETRY = {
    "autoretry_for": (TransientError, RateLimitError),
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
}


def wall_ms() -> int:
    """Now on the cluster's clock (the paper market's offset is taken against it)."""
    return clock.now_ms()


def market_exchange(svc: Services, name: str, offset_ms: int) -> Exchange:
    """The exchange on its clock: wall time plus `offset_ms` for paper, wall time for Bitmart."""
    if name != "paper":
        return svc.exchange(name)
    return svc.exchange(name, clock=lambda: wall_ms() + offset_ms)


@app.task(
    name="mtf.place_order",
    bind=True,
    acks_late=True,
    ignore_result=True,
    throws=(InvalidDecision,),
    **RETRY,
)
def place_order(self: Task, decision: Any = None, **unknown: Any) -> dict[str, Any]:
    """Plan a READY decision with its profile's trade-entry settings and record it (dry-run)
    or send it (live), exactly once; a sent entry is then followed by `mtf.watch_order`."""
    if unknown:
        raise InvalidDecision(
            f"mtf.place_order takes one argument, decision={{...}}; unknown: {', '.join(unknown)}"
        )
    d = Decision.from_dict(decision)
    svc = services()
    offset = d.as_of_ms - wall_ms() if d.exchange == "paper" else 0
    try:
        config = trade_entry_for(d.profile, d.entry_digest, d.run_id)
    except TradeEntryConfigError as exc:
        return record_error(d, svc.ledger, f"trade-entry profile {d.profile!r}: {exc}")
    except ProfileVersionMismatch as exc:
        return record_error(d, svc.ledger, str(exc))
    try:
        # An ad-hoc call may come before any cycle synced the exchange's contracts.
        ensure_contracts(svc, d.exchange)
    except (TransientError, RateLimitError):
        raise
    except ExchangeError as exc:
        return record_error(d, svc.ledger, f"cannot sync {d.exchange} contracts: {exc}")
    exchange = svc.exchange(d.exchange, clock=lambda: d.as_of_ms)
    now_ms = d.as_of_ms if d.exchange == "paper" else wall_ms()
    if d.exchange != "paper" and not d.dry_run and svc.settings.live_trading:
        try:
            refused = check_position_mode(exchange, svc.settings.position_mode)
        except (TransientError, RateLimitError):
            raise  # the task retries
        except ExchangeError as exc:
            refused = f"cannot read the account's position mode ({exc}); not placed"
        if refused:
            return record_error(d, svc.ledger, refused)

    def candles(tf: Timeframe, limit: int) -> Any:
        return svc.market.closed_candles(d.symbol, tf, now_ms, limit)

    out = place_decision(
        d,
        exchange=exchange,
        ledger=svc.ledger,
        config=config,
        candles=candles,
        live_trading=svc.settings.live_trading,
        now_ms=now_ms,
        stale=staleness_check(svc, d),
    )
    if out["status"] in FOLLOWED:
        # Also on a duplicate delivery: the first one may have died before scheduling it (a
        # new watcher token stops the first chain, if it lives, at its next look).
        token = svc.ledger.new_watcher(d.decision_key)
        _watch_later(self, d.decision_key, offset, 0.0 if not out.get("duplicate") else 1.0, token)
    return out


def staleness_check(svc: Services, d: Decision) -> Callable[[], str | None]:
    """Why `d` may no longer send an entry, by the shared clock (None: it may).

    The deadline comes with the decision (its run's minute plus its stale-after age). A
    decision without one is given half its timeframe from its minute, except on the paper
    exchange, whose clock is the decision's own minute (a replay never goes stale)."""
    deadline = d.deadline_ms
    if deadline is None:
        if d.exchange == "paper":
            return lambda: None
        deadline = d.as_of_ms + decision_stale_after_ms(svc.settings, d.timeframe)

    def stale() -> str | None:
        now = clock.now_ms()
        if now <= deadline:
            return None
        age_s, late_s = (now - d.as_of_ms) / 1000, (now - deadline) / 1000
        return (
            f"stale: the decision of {iso(d.as_of_ms)} is {age_s:.1f} s old, {late_s:.1f} s "
            f"past its deadline {iso(deadline)}; no entry sent"
        )

    return stale


@app.task(name="mtf.watch_order", bind=True, acks_late=True, ignore_result=True, **RETRY)
def watch_order(
    self: Task,
    decision_key: str,
    clock_offset_ms: int = 0,
    token: str | None = None,
    look: int = 0,
    follow_up: bool = True,
) -> dict[str, Any]:
    """One look at a resting entry; schedules the next look (later each time), or the TP/SL
    sweep on a fill. A chain whose `token` is no longer the entry's watcher stops.

    While Bitmart's order pushes are live (`mtf stream`), a push triggers a look at once
    (`follow_up=False`: it schedules nothing, the entry's chain goes on), and the chain's looks
    before the fallback window are at least `MTF_STREAM_WATCH_POLL_SECONDS` apart."""
    svc = services()
    row = svc.ledger.get(decision_key)
    if row is None:
        raise ValueError(f"no order ledger row for decision key {decision_key!r}")
    if row.status not in FOLLOWED:
        return {"decision_key": decision_key, "status": row.status, "detail": "not followed"}
    if not svc.ledger.is_watcher(row, token):
        return {"decision_key": decision_key, "status": row.status, "detail": "superseded"}
    config = load_trade_entry(row.profile)
    exchange = market_exchange(svc, row.exchange, clock_offset_ms)
    now_ms = wall_ms() + (clock_offset_ms if row.exchange == "paper" else 0)
    if row.exchange == "paper":
        # The paper exchange fills from stored candles: bring them up to its clock.
        svc.market.closed_candles(row.symbol, Timeframe.M1, now_ms, 5)
    idle = None
    if row.exchange == "bitmart" and private_stream_live(svc.engine):
        idle = float(svc.settings.stream_watch_poll_seconds)
    result = follow_entry(row, exchange, svc.ledger, config, now_ms, look, idle)
    if result.protect:
        recalc_tpsl.apply_async(
            kwargs={
                "exchange": row.exchange,
                "symbol": row.symbol,
                "clock_offset_ms": clock_offset_ms,
            },
            queue="tpsl",
        )
    elif result.next_in_s is not None and follow_up:
        _watch_later(self, decision_key, clock_offset_ms, result.next_in_s, token, look + 1)
    return {"decision_key": decision_key, **result.to_dict()}


def _watch_later(
    task: Task,
    decision_key: str,
    offset_ms: int,
    seconds: float,
    token: str | None,
    look: int = 0,
) -> None:
    if task.request.is_eager:
        # In-process mode has no timer to wait on: the sweep finishes what is left.
        log.info("entry %s is followed by the TP/SL sweep in the embedded mode", decision_key)
        return
    watch_order.apply_async(
        kwargs={
            "decision_key": decision_key,
            "clock_offset_ms": offset_ms,
            "token": token,
            "look": look,
        },
        countdown=seconds,
        queue="orders",
    )
