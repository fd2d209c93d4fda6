"""The TP/SL sweep (shell): read positions and triggers, plan each position's protection, act.

One failing position never stops the others: its error is reported and the next sweep tries
again. A position found without a stop is logged at ERROR level whatever happens next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from providers.port import DuplicateOrderError, Exchange, ExchangeError, NotFoundError
from providers.types import (
    ContractSpec,
    OrderRequest,
    OrderSide,
    OrderType,
    Position,
    PriceType,
    TriggerKind,
)
from tradeentry.config import TradeEntryConfig
from tradeentry.follow import TAKER_GRACE_MS
from tradeentry.ledger import OrderLedger
from tradeentry.protection import (
    Action,
    ActionKind,
    FallbackProtection,
    Intent,
    ProtectionPlan,
    fallback_intent,
    intent_from_plan,
    plan_protection,
)

log = logging.getLogger("mtf.tpsl")

#: The protection a position should have: from its entry's plan, else a fallback.
IntentFor = Callable[[Position, ContractSpec], Intent]


def ledger_intents(
    ledger: OrderLedger, exchange: str, config_for: Callable[[str | None], TradeEntryConfig]
) -> IntentFor:
    """Intents from the entries' recorded plans; a position no entry explains (opened by hand,
    or its plan lost) gets the fallback protection of `config_for(None)` (the default profile)."""

    def intent_for(position: Position, spec: ContractSpec) -> Intent:
        row = ledger.latest_entry(exchange, position.symbol, position.side.value)
        if row is not None and _explains(row.plan, row.candle_open_ms, position):
            intent = intent_from_plan(row.decision_key, row.plan, row.filled_size, spec)
            if intent is not None:
                return intent
        config = config_for(row.profile if row is not None else None)
        return fallback_intent(position, spec, fallback_of(config))

    return intent_for


def _explains(plan: dict[str, Any], candle_open_ms: int, position: Position) -> bool:
    """Whether the entry could have opened `position` (it opened within the entry's window)."""
    zone = plan.get("zone") or {}
    if not position.opened_ms or "expires_ms" not in zone:
        return True
    end = int(zone["expires_ms"]) + TAKER_GRACE_MS
    return candle_open_ms <= position.opened_ms <= end


def fallback_of(config: TradeEntryConfig) -> FallbackProtection:
    risk = config.risk
    return FallbackProtection(
        risk_usdt=risk.budget_usdt * risk.risk_pct / 100,
        min_distance_pct=config.stop.min_distance_pct,
        max_distance_pct=config.stop.max_distance_pct,
        r_multiple=config.take_profit.r_multiple,
    )


@dataclass
class PositionReport:
    symbol: str
    side: str
    size: str
    had_stop: bool
    intent: dict[str, Any]
    actions: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def protected(self) -> bool:
        """Has a stop now (had one, or one was placed, or it was closed)."""
        if self.had_stop:
            return True
        done = [a for a in self.actions if a.get("done")]
        return any(a["role"] in ("stop", "close") for a in done)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "protected": self.protected}


def sweep(
    exchange: Exchange,
    intent_for: IntentFor,
    *,
    act: bool,
    symbol: str | None = None,
    price_type: PriceType = PriceType.LAST,
) -> list[PositionReport]:
    """Protect every open position (of `symbol`, when given). With `act` False the actions
    are planned and reported, not sent."""
    positions = exchange.positions(symbol)
    if not positions:
        return []
    triggers = exchange.trigger_orders(symbol)
    reports = []
    for position in positions:
        report = PositionReport(
            position.symbol, position.side.value, f"{position.size:f}", had_stop=False, intent={}
        )
        try:
            spec = exchange.contract(position.symbol)
            intent = intent_for(position, spec)
            report.intent = intent.to_dict()
            last = exchange.top_of_book(position.symbol).mark
            plan = plan_protection(position, triggers, intent, spec, last)
            report.had_stop = plan.had_stop
            report.notes = list(plan.notes)
            if not plan.had_stop:
                log.error(
                    "UNPROTECTED: %s %s position of %s has no stop loss; %s",
                    position.symbol,
                    position.side.value,
                    position.size,
                    _what(plan) if act else "live trading is off, nothing sent",
                )
            report.actions = [a.to_dict() | {"done": False} for a in plan.actions]
            if act:
                _apply(exchange, plan, position, price_type, report)
        except ExchangeError as exc:
            report.error = f"{type(exc).__name__}: {exc}"
            log.error("TP/SL of %s %s failed: %s", position.symbol, position.side.value, exc)
        for note in report.notes:
            log.info("TP/SL %s %s: %s", position.symbol, position.side.value, note)
        reports.append(report)
    return reports


def _what(plan: ProtectionPlan) -> str:
    return (
        "; ".join(
            f"{a.kind.value} {a.role}" + (f" at {a.price:f}" if a.price else "")
            for a in plan.actions
        )
        or "nothing to do"
    )


def _apply(
    exchange: Exchange,
    plan: ProtectionPlan,
    position: Position,
    price_type: PriceType,
    report: PositionReport,
) -> None:
    """Places first, cancels after: the position is never left without a trigger."""
    for action, entry in zip(plan.actions, report.actions, strict=True):
        if action.kind is ActionKind.PLACE:
            entry["order_id"] = _place(exchange, position, action, price_type)
        elif action.kind is ActionKind.CANCEL:
            assert action.order_id is not None
            try:
                exchange.cancel_trigger_order(position.symbol, action.order_id)
            except NotFoundError:
                entry["why"] += " (already gone)"
        else:
            order = exchange.submit_order(
                OrderRequest(
                    symbol=position.symbol,
                    side=OrderSide.close(position.side),
                    type=OrderType.MARKET,
                    size=position.size,
                    client_order_id=action.client_order_id,
                )
            )
            entry["order_id"] = order.order_id
            log.error(
                "CLOSED %s %s at market: %s", position.symbol, position.side.value, action.why
            )
        entry["done"] = True


def _place(exchange: Exchange, position: Position, action: Action, price_type: PriceType) -> str:
    assert action.trigger_kind in (TriggerKind.STOP_LOSS, TriggerKind.TAKE_PROFIT)
    assert action.price is not None
    try:
        placed = exchange.submit_trigger_order(
            position.symbol,
            kind=action.trigger_kind,
            position_side=position.side,
            trigger_price=action.price,
            size=action.size,
            price_type=price_type,
            client_order_id=action.client_order_id,
        )
    except DuplicateOrderError as exc:
        # The same client id already names an order: it was placed by an earlier attempt.
        if exc.existing is None:
            raise
        return exc.existing.order_id
    log.info(
        "TP/SL %s %s: %s %s at %s (%s)",
        position.symbol,
        position.side.value,
        action.role,
        "all" if action.size is None else action.size,
        action.price,
        action.why,
    )
    return placed.order_id
