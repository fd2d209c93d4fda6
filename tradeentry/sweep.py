"""The TP/SL sweep (shell): read positions and triggers, plan each position's protection, act.

One failing position never stops the others: its error is reported and the next sweep tries
again. A position found without a stop is logged at ERROR level whatever happens next.

Each position gets a verdict: `protected` (a stop covers it, or one was placed, or it was
closed), `unprotected` (the trigger list was read and holds no stop for it, and none could be
placed), or `unknown` (the trigger list could not be read, or a placement's outcome is not
known): a read failure is never reported as a missing stop, and never acted upon. Contract
specs come from the store (`spec_for`), the book is read once per symbol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infra import telemetry
from providers.port import (
    DuplicateOrderError,
    Exchange,
    ExchangeError,
    MaintenanceError,
    NotFoundError,
    RateLimitError,
    TransientError,
)
from providers.types import (
    ContractSpec,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PriceType,
    TriggerKind,
    TriggerOrder,
)
from tradeentry.config import TradeEntryConfig
from tradeentry.follow import TAKER_GRACE_MS
from tradeentry.guard import PROTECTED, UNKNOWN, UNPROTECTED, Claim, Guard, ProtectiveOrders
from tradeentry.ledger import OrderLedger
from tradeentry.protection import (
    Action,
    ActionKind,
    FallbackProtection,
    Intent,
    ProtectionPlan,
    covering_stop,
    fallback_intent,
    intent_from_plan,
    plan_protection,
)

log = logging.getLogger("mtf.tpsl")

#: The protection a position should have: from its entry's plan, else a fallback.
IntentFor = Callable[[Position, ContractSpec], Intent]
#: A contract's spec from the store, None when the store does not hold it.
SpecFor = Callable[[str], ContractSpec | None]
#: Errors after which a sent order may or may not be at the exchange.
_AMBIGUOUS = (TransientError, RateLimitError, MaintenanceError)


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
    stop_price: str | None = None  # the stop in force after the sweep, when known
    uncertain: str | None = None  # why the outcome is not known (retried next sweep)

    @property
    def status(self) -> str:
        """protected, unprotected or unknown (see the module documentation)."""
        # A stop placed or a close sent protects; a stop cancelled does not.
        done = [a for a in self.actions if a.get("done") and a["action"] != "cancel"]
        if self.had_stop or any(a["role"] in ("stop", "close") for a in done):
            return PROTECTED
        return UNKNOWN if self.uncertain else UNPROTECTED

    @property
    def protected(self) -> bool:
        """Has a stop now (had one, or one was placed, or it was closed)."""
        return self.status == PROTECTED

    def guard(self, exchange: str, now_ms: int) -> Guard:
        detail = self.uncertain or self.error
        return Guard(
            exchange,
            self.symbol,
            self.side,
            self.status,
            Decimal(self.size),
            None if self.stop_price is None else Decimal(self.stop_price),
            detail,
            now_ms,
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "status": self.status, "protected": self.protected}


@dataclass
class SweepResult:
    positions: list[PositionReport]
    error: str | None = None  # the positions or their triggers could not be read

    def of(self, status: str) -> list[PositionReport]:
        return [r for r in self.positions if r.status == status]


def sweep(
    exchange: Exchange,
    intent_for: IntentFor,
    *,
    act: bool,
    orders: ProtectiveOrders,
    now_ms: int,
    symbol: str | None = None,
    price_type: PriceType = PriceType.LAST,
    spec_for: SpecFor | None = None,
) -> SweepResult:
    """Protect every open position (of `symbol`, when given). With `act` False the actions
    are planned and reported, not sent. `now_ms` dates the protective orders' generations."""
    try:
        positions = exchange.positions(symbol)
    except ExchangeError as exc:
        why = f"positions not read: {type(exc).__name__}: {exc}"
        log.error("TP/SL sweep: %s; protection UNKNOWN until the next sweep", why)
        return SweepResult([], why)
    if not positions:
        return SweepResult([])
    try:
        triggers = exchange.trigger_orders(symbol)
    except ExchangeError as exc:
        why = f"trigger orders not read: {type(exc).__name__}: {exc}"
        log.error("TP/SL sweep: %s; protection UNKNOWN until the next sweep", why)
        reports = [_report(p, []) for p in positions]
        for report in reports:
            report.had_stop, report.uncertain = False, why
        return SweepResult(reports, why)
    specs = _Reads(exchange, spec_for)
    reports = []
    for position in positions:
        report = _report(position, triggers)
        try:
            spec = specs.spec(position.symbol)
            intent = intent_for(position, spec)
            report.intent = intent.to_dict()
            plan = plan_protection(position, triggers, intent, spec, specs.mark(position.symbol))
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
                _apply(exchange, plan, position, price_type, report, orders, now_ms)
        except ExchangeError as exc:
            report.error = f"{type(exc).__name__}: {exc}"
            log.error("TP/SL of %s %s failed: %s", position.symbol, position.side.value, exc)
            if isinstance(exc, _AMBIGUOUS) and any(a.get("sending") for a in report.actions):
                report.uncertain = f"a placement's outcome is not known ({report.error})"
            for entry in report.actions:
                entry.pop("sending", None)
        for note in report.notes:
            log.info("TP/SL %s %s: %s", position.symbol, position.side.value, note)
        reports.append(report)
    return SweepResult(reports)


def _report(position: Position, triggers: list[TriggerOrder]) -> PositionReport:
    stop = covering_stop(position, triggers)
    return PositionReport(
        position.symbol,
        position.side.value,
        f"{position.size:f}",
        had_stop=stop is not None,
        intent={},
        stop_price=None if stop is None else f"{stop.trigger_price:f}",
    )


class _Reads:
    """What a sweep reads per symbol, once: the spec (from the store when it holds it) and the
    mark price."""

    def __init__(self, exchange: Exchange, spec_for: SpecFor | None) -> None:
        self.exchange = exchange
        self.spec_for = spec_for
        self._specs: dict[str, ContractSpec] = {}
        self._marks: dict[str, Decimal] = {}

    def spec(self, symbol: str) -> ContractSpec:
        if symbol not in self._specs:
            stored = self.spec_for(symbol) if self.spec_for is not None else None
            self._specs[symbol] = stored or self.exchange.contract(symbol)
        return self._specs[symbol]

    def mark(self, symbol: str) -> Decimal:
        if symbol not in self._marks:
            self._marks[symbol] = self.exchange.top_of_book(symbol).mark
        return self._marks[symbol]


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
    orders: ProtectiveOrders,
    now_ms: int,
) -> None:
    """Places first, cancels after: the position is never left without a trigger. Nothing is
    cancelled once a placement is not confirmed: what it was to replace stays in force."""
    for action, entry in zip(plan.actions, report.actions, strict=True):
        if action.kind is ActionKind.CANCEL and report.uncertain:
            entry["why"] += " (kept: its replacement is not confirmed)"
            continue
        entry["sending"] = True
        if action.kind is ActionKind.CANCEL:
            assert action.order_id is not None
            try:
                exchange.cancel_trigger_order(position.symbol, action.order_id)
            except NotFoundError:
                entry["why"] += " (already gone)"
        else:
            placement = _Placement(exchange, orders, position, action, price_type, now_ms)
            placed = placement.send()
            entry["client_order_id"] = placement.claim.client_order_id
            if placed is None:
                report.uncertain = (
                    f"{action.role}: client id {placement.claim.client_order_id} names an order "
                    "the exchange no longer lists (cancelled there, or not listed yet); "
                    "replaced next sweep if still missing"
                )
                entry.pop("sending")
                log.warning(
                    "TP/SL %s %s: %s", position.symbol, position.side.value, report.uncertain
                )
                continue
            entry["order_id"] = placed
            if action.role == "stop":
                report.stop_price = f"{action.price:f}"
            if action.kind is ActionKind.CLOSE:
                log.error(
                    "CLOSED %s %s at market: %s", position.symbol, position.side.value, action.why
                )
        entry.pop("sending")
        entry["done"] = True


@dataclass
class _Placement:
    """One protective order, under the generation its level is at (`ProtectiveOrders`)."""

    exchange: Exchange
    orders: ProtectiveOrders
    position: Position
    action: Action
    price_type: PriceType
    now_ms: int

    def __post_init__(self) -> None:
        assert self.action.level_key is not None
        self.claim: Claim = self.orders.claim(
            self.action.level_key, self.position.symbol, self.action.role, self.now_ms
        )

    def send(self) -> str | None:
        """The order id of the order in force, or None when the claimed id names an order the
        exchange holds but no longer lists."""
        found = self._send()
        if (
            found is not None
            and not found.status.is_open
            and found.status is not OrderStatus.FILLED
        ):
            # That generation was cancelled at the exchange: the next one replaces it.
            self.claim = self.orders.supersede(
                self.claim, self.position.symbol, self.action.role, self.now_ms
            )
            found = self._send()
        if found is None:
            return None
        self.orders.placed(self.claim, found.order_id)
        telemetry.protective_order(self.orders.exchange, self.action.role, self.claim.generation)
        return found.order_id

    def _send(self) -> Order | TriggerOrder | None:
        action, position = self.action, self.position
        cid = self.claim.client_order_id
        try:
            if action.kind is ActionKind.CLOSE:
                return self.exchange.submit_order(
                    OrderRequest(
                        symbol=position.symbol,
                        side=OrderSide.close(position.side),
                        type=OrderType.MARKET,
                        size=position.size,
                        client_order_id=cid,
                    )
                )
            assert action.trigger_kind in (TriggerKind.STOP_LOSS, TriggerKind.TAKE_PROFIT)
            assert action.price is not None
            placed = self.exchange.submit_trigger_order(
                position.symbol,
                kind=action.trigger_kind,
                position_side=position.side,
                trigger_price=action.price,
                size=action.size,
                price_type=self.price_type,
                client_order_id=cid,
            )
        except DuplicateOrderError as exc:
            if exc.existing is not None:
                raise  # the id names another order: not ours to adopt
            # The id is taken by an order the exchange does not list as active.
            return None
        log.info(
            "TP/SL %s %s: %s %s at %s (%s) as %s",
            position.symbol,
            position.side.value,
            action.role,
            "all" if action.size is None else action.size,
            action.price,
            action.why,
            cid,
        )
        return placed
