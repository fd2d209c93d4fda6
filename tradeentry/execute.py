"""Placing a decision: claim the ledger row, snapshot, plan, check the risk limits, then (only
if allowed) set the leverage and send the entry with its preset stop and take profit.

Exactly once on top of at-least-once delivery: the ledger row is claimed under a unique
decision key before anything is sent, and the exchange order carries a client order id derived
from that key, so a redelivered task finds the row or the exchange order instead of placing a
second one. Dry-run takes the same path and stops before the exchange call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra import telemetry
from infra.logging import bind
from providers.port import (
    DuplicateOrderError,
    Exchange,
    ExchangeError,
    NotFoundError,
    RateLimitError,
    TransientError,
)
from providers.timeframes import Timeframe
from providers.types import OpenType, Order, OrderRequest, OrderSide, PositionSide, PriceType
from tradeentry.config import TradeEntryConfig
from tradeentry.ids import client_order_id
from tradeentry.ledger import Decision, OrderLedger
from tradeentry.model import Signal, Skip, TradePlan
from tradeentry.planner import plan_trade
from tradeentry.risk import RiskLimits, check_limits, read_risk_state
from tradeentry.snapshot import CandleReader, read_snapshot

log = logging.getLogger("mtf.orders")

LIVE_SWITCH_OFF = "live trading is switched off (set MTF_LIVE_TRADING=true to send orders)"


def price_type_of(config: TradeEntryConfig) -> PriceType:
    return PriceType.MARK if config.protection.price_type == "mark" else PriceType.LAST


def limits_of(config: TradeEntryConfig) -> RiskLimits:
    risk = config.risk
    return RiskLimits(
        max_concurrent_positions=risk.max_concurrent_positions,
        daily_loss_limit_usdt=risk.daily_loss_limit_usdt,
        daily_loss_count_unrealized=risk.daily_loss_count_unrealized,
        cooldown_minutes=risk.cooldown_minutes,
    )


def signal_of(decision: Decision) -> Signal:
    return Signal(
        symbol=decision.symbol,
        side=PositionSide(decision.side),
        timeframe=decision.timeframe,
        profile=decision.profile,
        decision_key=decision.decision_key,
        candle_open_ms=decision.candle_open_ms,
        as_of_ms=decision.as_of_ms,
    )


def plan_decision(
    signal: Signal,
    exchange: Exchange,
    config: TradeEntryConfig,
    candles: CandleReader,
    now_ms: int,
) -> TradePlan | Skip:
    """Snapshot the market and account, then plan (used by placement and `mtf plan`)."""
    execution = Timeframe(signal.timeframe)
    snapshot = read_snapshot(
        exchange,
        signal.symbol,
        candles=candles,
        atr_timeframe=config.stop.atr_timeframe or execution,
        zone_timeframe=config.entry_zone.timeframe,
        anchor=config.entry_zone.anchor,
        now_ms=now_ms,
    )
    return plan_trade(signal, snapshot, config)


def _out(decision: Decision, status: str, cid: str, **extra: Any) -> dict[str, Any]:
    return {
        "decision_key": decision.decision_key,
        "status": status,
        "client_order_id": cid,
        **extra,
    }


def place_decision(
    decision: Decision,
    *,
    exchange: Exchange,
    ledger: OrderLedger,
    config: TradeEntryConfig,
    candles: CandleReader,
    live_trading: bool,
    now_ms: int,
    stale: Callable[[], str | None] = lambda: None,
) -> dict[str, Any]:
    """Plan and record (dry-run) or plan and send (live) one decision, at most once.

    `stale()` says why the decision may no longer act (None: it may); it is asked before
    planning and again just before sending, and a stale decision is recorded `stale`. An order
    already sent by an earlier attempt is still adopted: that is bookkeeping, not a new entry."""
    cid = client_order_id(decision.decision_key)
    with bind(run_id=decision.run_id, decision_key=decision.decision_key):
        row, created = ledger.claim(decision, cid)
        if not created and row.dry_run and not decision.dry_run and row.status != "claimed":
            promoted = ledger.promote(decision)
            if promoted is not None:
                log.info(
                    "decision %s: the live run takes over its dry-run record (%s)",
                    decision.decision_key,
                    row.status,
                )
                row, created = promoted, True
        if not created and row.status != "claimed":
            log.info(
                "decision %s already %s by profile %s (run %s); nothing to do",
                decision.decision_key,
                row.status,
                row.profile,
                row.run_id,
            )
            return _out(
                decision, row.status, cid, duplicate=True, exchange_order_id=row.exchange_order_id
            )
        if not created and not decision.dry_run:
            # Claimed by an attempt that died: it may have sent the order before dying.
            sent = _find(exchange, decision.symbol, cid)
            if sent is not None:
                return _submitted(decision, cid, sent, row.plan, ledger, config)
        why = stale()
        if why is not None:
            log.warning("decision %s not placed: %s", decision.decision_key, why)
            return _final(ledger, decision, cid, "stale", {}, why)
        try:
            outcome = plan_decision(signal_of(decision), exchange, config, candles, now_ms)
        except (TransientError, RateLimitError):
            raise  # the task retries
        except ExchangeError as exc:
            return _final(ledger, decision, cid, "error", {}, f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, Skip):
            log.info("decision %s skipped: %s", decision.decision_key, outcome.detail)
            return _final(
                ledger,
                decision,
                cid,
                "skipped",
                outcome.to_dict(),
                outcome.detail,
                reason=outcome.reason.value,
            )
        plan = outcome.to_dict()
        # The limits are checked in dry-run too: a simulation shows what live would have done.
        state = read_risk_state(
            ledger.engine,
            exchange,
            decision.symbol,
            datetime.fromtimestamp(now_ms / 1000, UTC),
            exclude_key=decision.decision_key,
        )
        breach = check_limits(state, limits_of(config))
        if breach is not None:
            detail = f"risk limit {breach.limit}: {breach.detail}"
            log.warning("decision %s blocked: %s", decision.decision_key, detail)
            telemetry.risk_block(breach.limit)
            return _final(ledger, decision, cid, "blocked", plan, detail, limit=breach.limit)
        if decision.dry_run:
            log.info(
                "decision %s simulated: %s %s %s @ %s SL %s TP %s",
                decision.decision_key,
                outcome.side.value,
                outcome.size,
                decision.symbol,
                outcome.entry_price,
                outcome.stop_loss,
                outcome.take_profit,
            )
            return _final(ledger, decision, cid, "simulated", plan, None)
        if exchange.name != "paper" and not live_trading:
            log.warning("decision %s blocked: %s", decision.decision_key, LIVE_SWITCH_OFF)
            return _final(ledger, decision, cid, "blocked", plan, LIVE_SWITCH_OFF)
        why = stale()
        if why is not None:
            log.warning("decision %s not sent: %s", decision.decision_key, why)
            return _final(ledger, decision, cid, "stale", plan, why)
        ledger.update(decision.decision_key, plan=plan)  # a retry after a crash needs the plan
        try:
            order = _send(exchange, outcome, cid, config)
        except (TransientError, RateLimitError):
            raise  # the task retries; the client order id keeps the retry idempotent
        except DuplicateOrderError as exc:
            # A concurrent delivery of the same decision got there first: that order is ours.
            sent = exc.existing or _find(exchange, decision.symbol, cid)
            if sent is None:
                raise TransientError(f"order {cid} reported as a duplicate but not found") from exc
            return _submitted(decision, cid, sent, plan, ledger, config)
        except ExchangeError as exc:
            log.error("decision %s rejected by %s: %s", decision.decision_key, exchange.name, exc)
            return _final(ledger, decision, cid, "rejected", plan, f"{type(exc).__name__}: {exc}")
        _arm_dead_man_switch(exchange, decision.symbol, config)
        return _submitted(decision, cid, order, plan, ledger, config)


def _final(
    ledger: OrderLedger,
    decision: Decision,
    cid: str,
    status: str,
    plan: dict[str, Any],
    detail: str | None,
    **extra: Any,
) -> dict[str, Any]:
    ledger.update(decision.decision_key, status=status, plan=plan, detail=detail)
    out = _out(decision, status, cid, **extra)
    if detail:
        out["detail"] = detail
    if plan:
        out["plan"] = plan
    return out


def _find(exchange: Exchange, symbol: str, cid: str) -> Order | None:
    try:
        return exchange.order(symbol, client_order_id=cid)
    except NotFoundError:
        return None


def _send(exchange: Exchange, plan: TradePlan, cid: str, config: TradeEntryConfig) -> Order:
    """Set the leverage, then the entry with the stop and the final target preset on it: the
    position is protected from its first fill."""
    existing = _find(exchange, plan.symbol, cid)
    if existing is not None:
        return existing
    exchange.set_leverage(plan.symbol, plan.leverage, OpenType.ISOLATED)
    return exchange.submit_order(
        OrderRequest(
            symbol=plan.symbol,
            side=OrderSide.open(plan.side),
            type=plan.order_type,
            size=plan.size,
            price=plan.entry_price if plan.order_type.value == "limit" else None,
            mode=plan.mode,
            client_order_id=cid,
            leverage=plan.leverage,
            open_type=OpenType.ISOLATED,
            preset_take_profit=plan.take_profit,
            preset_stop_loss=plan.stop_loss,
            preset_price_type=price_type_of(config),
        )
    )


def _arm_dead_man_switch(exchange: Exchange, symbol: str, config: TradeEntryConfig) -> None:
    """Only when the profile asks for it (`dead_man_switch_seconds` > 0)."""
    seconds = config.dead_man_switch_seconds
    arm = getattr(exchange, "cancel_all_after", None)
    if seconds <= 0:
        return
    if arm is None:
        log.info("%s has no cancel-all-after; dead-man switch not armed", exchange.name)
        return
    try:
        arm(symbol, seconds)
    except ExchangeError as exc:
        log.warning("dead-man switch of %s not armed: %s", symbol, exc)


def _submitted(
    decision: Decision,
    cid: str,
    order: Order,
    plan: dict[str, Any],
    ledger: OrderLedger,
    config: TradeEntryConfig,
) -> dict[str, Any]:
    ledger.update(
        decision.decision_key, status="submitted", plan=plan, exchange_order_id=order.order_id
    )
    log.info(
        "decision %s submitted as order %s (%s)",
        decision.decision_key,
        order.order_id,
        order.status.value,
    )
    return _out(
        decision,
        "submitted",
        cid,
        exchange_order_id=order.order_id,
        plan=plan,
        watch={"poll_seconds": config.watcher.poll_seconds, "order_status": order.status.value},
    )


def record_error(decision: Decision, ledger: OrderLedger, detail: str) -> dict[str, Any]:
    """A decision that cannot be planned at all (e.g. its trade-entry profile is invalid)."""
    cid = client_order_id(decision.decision_key)
    row, created = ledger.claim(decision, cid)
    if not created and row.status != "claimed":
        return _out(decision, row.status, cid, duplicate=True)
    log.error("decision %s not placed: %s", decision.decision_key, detail)
    return _final(ledger, decision, cid, "error", {}, detail)
