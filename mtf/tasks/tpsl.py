"""The TP/SL sweep on the `tpsl` queue: every few minutes (with the cycles) and after each
entry fill. It first takes one look at the entries still resting (a watcher that died, or the
embedded mode without timers, leaves them to it), then protects every open position."""

from __future__ import annotations

import logging
from typing import Any

from infra import clock, telemetry
from mtf.celery_app import app
from mtf.services import Services, services
from providers.port import Exchange, ExchangeError, RateLimitError, TransientError
from providers.timeframes import Timeframe
from tradeentry.config import TradeEntryConfig, TradeEntryConfigError, load_trade_entry
from tradeentry.equity import record_snapshot
from tradeentry.execute import price_type_of
from tradeentry.follow import follow_entry
from tradeentry.guard import PROTECTED, UNKNOWN, UNPROTECTED, PositionGuards, ProtectiveOrders
from tradeentry.ledger import InvalidDecision
from tradeentry.sweep import ledger_intents, sweep

log = logging.getLogger("mtf.tpsl")


def _config_for(svc: Services) -> Any:
    def config_for(profile: str | None) -> TradeEntryConfig:
        try:
            return load_trade_entry(profile or svc.settings.profile)
        except TradeEntryConfigError:
            return load_trade_entry(svc.settings.profile)

    return config_for


@app.task(
    name="mtf.recalc_tpsl",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(TransientError, RateLimitError),
    retry_backoff=2,
    max_retries=3,
    throws=(InvalidDecision,),
)
def recalc_tpsl(
    exchange: str | None = None,
    symbol: str | None = None,
    run_id: str | None = None,
    clock_offset_ms: int = 0,
) -> dict[str, Any]:
    """Protect open positions (of `symbol`, when given): stops and targets placed where missing
    or stale, nothing placed twice. Live Bitmart positions are only reported while the live
    switch is off."""
    if isinstance(clock_offset_ms, bool) or not isinstance(clock_offset_ms, int):
        raise InvalidDecision(f"clock_offset_ms must be an integer (ms), got {clock_offset_ms!r}")
    svc = services()
    name = exchange or svc.settings.exchange
    paper = name == "paper"
    offset = clock_offset_ms if paper else 0
    now_ms = clock.now_ms() + offset
    venue: Exchange = (
        svc.exchange(name, clock=lambda: clock.now_ms() + offset) if paper else svc.exchange(name)
    )
    config_for = _config_for(svc)
    followed = _follow_resting(svc, venue, name, symbol, now_ms, config_for)
    if paper and symbol:
        svc.market.closed_candles(symbol, Timeframe.M1, now_ms, 5)
    act = paper or svc.settings.live_trading
    checked_ms = clock.now_ms()
    outcome = sweep(
        venue,
        ledger_intents(svc.ledger, name, config_for),
        act=act,
        orders=ProtectiveOrders(svc.engine, name),
        now_ms=checked_ms,
        symbol=symbol,
        price_type=price_type_of(config_for(None)),
        spec_for=svc.contracts.find,
    )
    guards = PositionGuards(svc.engine)
    if outcome.error is not None and not outcome.positions:
        guards.mark_unknown(name, symbol=symbol, why=outcome.error, now_ms=checked_ms)
    else:
        guards.record(
            name,
            (r.guard(name, checked_ms) for r in outcome.positions),
            symbol=symbol,
            now_ms=checked_ms,
        )
    unprotected = [r.symbol for r in outcome.of(UNPROTECTED)]
    unknown = [r.symbol for r in outcome.of(UNKNOWN)]
    verdict = UNPROTECTED if unprotected else UNKNOWN if unknown or outcome.error else PROTECTED
    telemetry.sweep_done(name, verdict)
    _snapshot(svc, venue, name, checked_ms)
    result = {
        "run_id": run_id,
        "exchange": name,
        "acted": act,
        "entries_followed": followed,
        "positions": [r.to_dict() for r in outcome.positions],
        "unprotected": unprotected,
        "unknown": unknown,
        "error": outcome.error,
    }
    if unprotected:
        log.error(
            "TP/SL sweep left %d position(s) WITHOUT A STOP: %s",
            len(unprotected),
            ", ".join(unprotected),
        )
    if unknown or outcome.error:
        log.warning(
            "TP/SL sweep: protection of %s UNKNOWN (%s); the next sweep tries again",
            ", ".join(unknown) or "the open positions",
            outcome.error or "a placement's outcome is not known",
        )
    if not unprotected and not unknown and outcome.error is None:
        placed = sum(1 for r in outcome.positions for a in r.actions if a.get("done"))
        log.info(
            "TP/SL sweep: %d position(s), all protected; %d order action(s) taken",
            len(outcome.positions),
            placed,
        )
    return result


def _snapshot(svc: Services, venue: Exchange, name: str, now_ms: int) -> None:
    """The account's equity for the metrics, read once per sweep."""
    try:
        record_snapshot(svc.engine, name, venue.balance(), now_ms)
    except ExchangeError as exc:
        log.warning("account of %s not read: %s", name, exc)


def _follow_resting(
    svc: Services, venue: Exchange, name: str, symbol: str | None, now_ms: int, config_for: Any
) -> list[dict[str, Any]]:
    out = []
    for row in svc.ledger.followed(name):
        if symbol and row.symbol != symbol:
            continue
        try:
            if name == "paper":
                svc.market.closed_candles(row.symbol, Timeframe.M1, now_ms, 5)
            result = follow_entry(row, venue, svc.ledger, config_for(row.profile), now_ms)
        except ExchangeError as exc:
            log.warning("entry %s not followed: %s", row.decision_key, exc)
            continue
        out.append({"decision_key": row.decision_key, **result.to_dict()})
    return out
