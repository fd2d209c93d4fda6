"""Which stop and take-profit triggers an open position needs, given the ones it has (pure).

The rules:

* Every position has a stop trigger covering all of it. An existing covering stop is kept, even
  at another price than the plan's (a human may have tightened it); partial stops are replaced.
  When the stop price has already been crossed, the position is closed at market: that is what
  the stop would have done.
* The farthest target closes the whole position; with two targets a partial TP1 closes the
  plan's share until it has been taken (the position is then smaller than the entry's fill).
* A target already crossed is not placed (the trigger would be refused); the stop still guards.
* Triggers larger than the position, and partial targets of the wrong size, are replaced.
* Protective orders are trigger orders executing at market, never plain limits: a stop placed
  as a limit on the losing side is marketable and would close the trade at once.
* Client order ids are derived from the position's basis (its decision key), the role, the
  price and the size (the action's `level_key`), so a repeated sweep asks for the same triggers
  and places nothing twice. The shell (`tradeentry.sweep`) adds a generation to that key when
  an order it placed is no longer at the exchange, so the replacement is not refused as a
  duplicate of the order it replaces.

New triggers are placed before stale ones are cancelled, so a position is never left bare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from providers.types import ContractSpec, Position, PositionSide, TriggerKind, TriggerOrder
from providers.types import round_to_step as _round
from tradeentry.ids import client_order_id


@dataclass(frozen=True)
class Intent:
    """The protection a position was planned with (from its entry's plan)."""

    basis: str  # the decision key: the root of the triggers' client ids
    stop: Decimal
    targets: tuple[Decimal, ...]  # nearest first; the last closes the whole position
    tp1_share: Decimal  # share of the entry's fill closed at the first of two targets
    entry_filled: Decimal  # contracts the entry filled
    source: str = "plan"

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "stop": str(self.stop),
            "targets": [str(t) for t in self.targets],
            "tp1_share": str(self.tp1_share),
            "entry_filled": str(self.entry_filled),
            "source": self.source,
        }


@dataclass(frozen=True)
class FallbackProtection:
    """For a position no plan is known for: stop at the configured risk, clamped to the
    allowed distance range; target at `r_multiple` times the stop distance."""

    risk_usdt: Decimal
    min_distance_pct: Decimal
    max_distance_pct: Decimal
    r_multiple: Decimal


class ActionKind(StrEnum):
    PLACE = "place"
    CANCEL = "cancel"
    CLOSE = "close"  # reduce-only market order


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    role: str  # "stop" | "tp1" | "tp" | "close"
    why: str
    trigger_kind: TriggerKind | None = None
    price: Decimal | None = None
    size: Decimal | None = None  # None: the whole position
    client_order_id: str | None = None
    order_id: str | None = None  # of the trigger to cancel
    level_key: str | None = None  # what a placement protects: the root of its client ids

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.kind.value,
            "role": self.role,
            "why": self.why,
            "price": None if self.price is None else str(self.price),
            "size": None if self.size is None else str(self.size),
            "client_order_id": self.client_order_id,
            "order_id": self.order_id,
        }


@dataclass(frozen=True)
class ProtectionPlan:
    symbol: str
    side: PositionSide
    intent: Intent
    actions: tuple[Action, ...]
    had_stop: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changes(self) -> bool:
        return bool(self.actions)


def intent_from_plan(
    basis: str, plan: dict[str, Any], filled: Decimal | None, spec: ContractSpec
) -> Intent | None:
    """The intent recorded with an entry's plan (`TradePlan.to_dict()`), or None when the plan
    lacks a stop or targets."""
    try:
        stop = Decimal(str(plan["stop_loss"]))
        targets = [t for t in plan.get("targets") or [] if t.get("price")]
        prices = tuple(Decimal(str(t["price"])) for t in targets)
        size = Decimal(str(plan["size"]))
    except (KeyError, ArithmeticError, TypeError, ValueError):
        return None
    if not prices or size <= 0:
        return None
    share = Decimal(str(targets[0]["size"])) / size if len(prices) > 1 else Decimal(0)
    return Intent(basis, stop, prices, share, filled if filled else size, "plan")


def fallback_intent(position: Position, spec: ContractSpec, rule: FallbackProtection) -> Intent:
    """Protection for a position opened outside the engine, or whose plan was lost."""
    entry = position.entry_price
    qty = position.size * spec.contract_size
    distance = rule.risk_usdt / qty if qty > 0 else entry * rule.max_distance_pct / 100
    distance = max(distance, entry * rule.min_distance_pct / 100)
    distance = min(distance, entry * rule.max_distance_pct / 100)
    sign = 1 if position.side is PositionSide.LONG else -1
    stop = _round(entry - sign * distance, spec.tick_size, up=sign < 0)
    target = _round(entry + sign * distance * rule.r_multiple, spec.tick_size, up=sign > 0)
    basis = f"{position.symbol}:{position.side.value}:{position.opened_ms}"
    return Intent(basis, stop, (target,), Decimal(0), position.size, "fallback")


def _crossed(kind: TriggerKind, side: PositionSide, price: Decimal, last: Decimal) -> bool:
    """True when a trigger at `price` would already have fired at `last`."""
    above = (kind is TriggerKind.TAKE_PROFIT) == (side is PositionSide.LONG)
    return price <= last if above else price >= last


def _covers(trigger: TriggerOrder, position: Position) -> bool:
    return trigger.size is None or trigger.size >= position.size


def covering_stop(position: Position, triggers: list[TriggerOrder]) -> TriggerOrder | None:
    """The stop trigger among `triggers` that covers all of `position`, if any."""
    return next(
        (
            t
            for t in _of(position, triggers)
            if t.kind is TriggerKind.STOP_LOSS and _covers(t, position)
        ),
        None,
    )


def _of(position: Position, triggers: list[TriggerOrder]) -> list[TriggerOrder]:
    return [
        t for t in triggers if t.symbol == position.symbol and t.side.position_side is position.side
    ]


def level_key(intent: Intent, role: str, price: Decimal, size: Decimal | None) -> str:
    return f"{intent.basis}:{role}:{price:f}:{'all' if size is None else size}"


def plan_protection(
    position: Position,
    triggers: list[TriggerOrder],
    intent: Intent,
    spec: ContractSpec,
    last_price: Decimal,
) -> ProtectionPlan:
    """The actions that bring `position`'s triggers in line with `intent`."""
    side = position.side
    mine = _of(position, triggers)
    stops = [t for t in mine if t.kind is TriggerKind.STOP_LOSS]
    takes = [t for t in mine if t.kind is TriggerKind.TAKE_PROFIT]
    places: list[Action] = []
    cancels: list[Action] = []
    notes: list[str] = []
    had_stop = covering_stop(position, triggers) is not None

    def place(role: str, kind: TriggerKind, price: Decimal, size: Decimal | None, why: str) -> None:
        key = level_key(intent, role, price, size)
        places.append(
            Action(ActionKind.PLACE, role, why, kind, price, size, client_order_id(key), None, key)
        )

    def cancel(trigger: TriggerOrder, role: str, why: str) -> None:
        cancels.append(
            Action(
                ActionKind.CANCEL,
                role,
                why,
                trigger.kind,
                trigger.trigger_price,
                trigger.size,
                trigger.client_order_id,
                trigger.order_id,
            )
        )

    # --- the stop -------------------------------------------------------------------------
    if _crossed(TriggerKind.STOP_LOSS, side, intent.stop, last_price) and not had_stop:
        key = level_key(intent, "close", intent.stop, position.size)
        close = Action(
            ActionKind.CLOSE,
            "close",
            f"no stop and the price {last_price:f} is beyond the stop {intent.stop:f}",
            None,
            None,
            position.size,
            client_order_id(key),
            None,
            key,
        )
        return ProtectionPlan(
            position.symbol,
            side,
            intent,
            (close,),
            had_stop,
            ("closing at market: the stop was crossed while unprotected",),
        )
    if not had_stop:
        place(
            "stop",
            TriggerKind.STOP_LOSS,
            intent.stop,
            None,
            "no stop covers the position" if not stops else "partial stops only",
        )
    for t in stops:
        if not _covers(t, position) or not had_stop:
            cancel(t, "stop", f"covers {t.size:f} of {position.size:f}" if t.size else "replaced")
    kept_stop = next((t for t in stops if _covers(t, position)), None)
    if kept_stop is not None and kept_stop.trigger_price != intent.stop:
        notes.append(
            f"kept the existing stop at {kept_stop.trigger_price:f} (planned {intent.stop:f})"
        )

    # --- the targets ----------------------------------------------------------------------
    final = intent.targets[-1]
    whole = [t for t in takes if _covers(t, position)]
    partial = [t for t in takes if not _covers(t, position)]
    if not whole:
        if _crossed(TriggerKind.TAKE_PROFIT, side, final, last_price):
            notes.append(f"target {final:f} already crossed (last {last_price:f}); not placed")
        else:
            place("tp", TriggerKind.TAKE_PROFIT, final, None, "no take profit covers the position")
    tp1_size = _tp1_outstanding(position, intent, spec)
    wanted_partial: TriggerOrder | None = None
    if tp1_size is not None:
        tp1 = intent.targets[0]
        wanted_partial = next((t for t in partial if t.size == tp1_size), None)
        if wanted_partial is None:
            if _crossed(TriggerKind.TAKE_PROFIT, side, tp1, last_price):
                notes.append(
                    f"first target {tp1:f} already crossed (last {last_price:f}); not placed"
                )
            else:
                place(
                    "tp1",
                    TriggerKind.TAKE_PROFIT,
                    tp1,
                    tp1_size,
                    f"first target for {tp1_size:f} of {position.size:f}",
                )
    for t in partial:
        if t is not wanted_partial:
            cancel(t, "tp1", f"size {t.size:f} is not the first target's {tp1_size or 0:f}")
    return ProtectionPlan(
        position.symbol, side, intent, tuple(places + cancels), had_stop, tuple(notes)
    )


def _tp1_outstanding(position: Position, intent: Intent, spec: ContractSpec) -> Decimal | None:
    """Contracts still to close at the first target, None when there is no first target (one
    target, a split too small for the volume step, or TP1 already taken)."""
    if len(intent.targets) < 2 or intent.tp1_share <= 0:
        return None
    tp1 = _round(intent.entry_filled * intent.tp1_share, spec.volume_step, up=False)
    rest = intent.entry_filled - tp1
    if tp1 < spec.min_volume or rest < spec.min_volume:
        return None
    outstanding = position.size - rest
    if outstanding < spec.min_volume:
        return None  # TP1 has been taken
    return _round(outstanding, spec.volume_step, up=False)
