"""The stop loss: a candidate per policy (atr, pivot, risk), widened to the minimum distance,
rounded away from the entry, and replaced by the fallback policy when it is too far."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from providers.types import ContractSpec, PositionSide
from tradeentry.config import StopConfig
from tradeentry.model import Pivots, Skip, SkipReason
from tradeentry.planner._text import num, pct


@dataclass(frozen=True)
class StopCandidate:
    policy: str
    source: str  # "atr" | "pivot:S1" | "risk", with "+min_distance" when widened
    price: Decimal | None  # None: the policy cannot place a stop (see `why`)
    distance_pct: Decimal | None = None
    too_far: bool = False
    why: str = ""

    @property
    def usable(self) -> bool:
        return self.price is not None and not self.too_far

    def describe(self) -> str:
        if self.price is None:
            return f"{self.policy}: none ({self.why})"
        verdict = " too far" if self.too_far else ""
        return f"{self.source}={num(self.price)} ({pct(self.distance_pct or Decimal(0))}){verdict}"


@dataclass(frozen=True)
class StopChoice:
    price: Decimal
    source: str
    distance: Decimal  # |entry - stop| after rounding: what sizing uses
    distance_pct: Decimal
    candidates: tuple[StopCandidate, ...]

    def describe(self) -> dict[str, str]:
        return {
            "stop_candidates": "; ".join(c.describe() for c in self.candidates),
            "stop": num(self.price),
            "stop_source": self.source,
            "stop_distance": num(self.distance),
            "stop_distance_pct": pct(self.distance_pct),
        }


def _pivot_level(side: PositionSide, entry: Decimal, pivots: Pivots) -> tuple[str, Decimal] | None:
    """The nearest support below a long's entry, or resistance above a short's."""
    if side is PositionSide.LONG:
        named = [("S1", pivots.s1), ("S2", pivots.s2), ("S3", pivots.s3), ("P", pivots.p)]
        below = [(n, v) for n, v in named if 0 < v < entry]
        return max(below, key=lambda item: item[1]) if below else None
    named = [("R1", pivots.r1), ("R2", pivots.r2), ("R3", pivots.r3), ("P", pivots.p)]
    above = [(n, v) for n, v in named if v > entry]
    return min(above, key=lambda item: item[1]) if above else None


def raw_stop(
    policy: str,
    side: PositionSide,
    entry: Decimal,
    atr: Decimal | None,
    pivots: Pivots | None,
    config: StopConfig,
) -> tuple[Decimal, str] | str:
    """The unrounded stop of one policy with its source, or why the policy cannot give one."""
    sign = 1 if side is PositionSide.LONG else -1
    if policy == "atr":
        if atr is None or atr <= 0:
            return f"ATR is {atr}"
        return entry - sign * config.atr_k * atr, "atr"
    if policy == "risk":
        return entry * (1 - sign * config.risk_distance_pct / 100), "risk"
    if pivots is None:
        return "no pivots"
    level = _pivot_level(side, entry, pivots)
    if level is None:
        return f"no pivot level {'below' if sign > 0 else 'above'} the entry"
    name, value = level
    return value * (1 - sign * config.pivot_buffer_pct / 100), f"pivot:{name}"


def candidate(
    policy: str,
    side: PositionSide,
    entry: Decimal,
    atr: Decimal | None,
    pivots: Pivots | None,
    config: StopConfig,
    spec: ContractSpec,
) -> StopCandidate:
    found = raw_stop(policy, side, entry, atr, pivots, config)
    if isinstance(found, str):
        return StopCandidate(policy, policy, None, why=found)
    price, source = found
    long = side is PositionSide.LONG
    nearest = entry * config.min_distance_pct / 100
    if abs(entry - price) < nearest:
        price = entry - nearest if long else entry + nearest
        source += "+min_distance"
    # Away from the entry: never nearer than the policy asks; sizing then uses this distance.
    price = spec.round_price(price, up=not long)
    if price <= 0:
        return StopCandidate(policy, source, price, Decimal(100), too_far=True)
    distance_pct = abs(entry - price) / entry * 100
    return StopCandidate(
        policy, source, price, distance_pct, too_far=distance_pct > config.max_distance_pct
    )


def choose_stop(
    side: PositionSide,
    entry: Decimal,
    atr: Decimal | None,
    pivots: Pivots | None,
    config: StopConfig,
    spec: ContractSpec,
) -> StopChoice | Skip:
    """The policy's stop if usable, else the fallback's; too far or missing otherwise."""
    policies = [config.policy] if config.fallback == "none" else [config.policy, config.fallback]
    tried: list[StopCandidate] = []
    for policy in policies:
        stop = candidate(policy, side, entry, atr, pivots, config, spec)
        tried.append(stop)
        if stop.usable and stop.price is not None and stop.distance_pct is not None:
            return StopChoice(
                stop.price, stop.source, abs(entry - stop.price), stop.distance_pct, tuple(tried)
            )
    summary = "; ".join(c.describe() for c in tried)
    if any(c.too_far for c in tried):
        return Skip(
            SkipReason.STOP_TOO_FAR,
            f"every stop is beyond max_distance_pct {num(config.max_distance_pct)}: {summary}",
        )
    return Skip(SkipReason.NO_STOP, f"no policy could place a stop: {summary}")
