"""Take profits: the policy's target (R multiple, or the nearest pivot when it pays between
min_r and max_r), optionally preceded by TP1 for part of the size. Prices round toward the
entry so a target is reached no later than planned."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from providers.types import ContractSpec, PositionSide
from tradeentry.config import TakeProfitConfig
from tradeentry.model import Pivots, Target
from tradeentry.planner._text import num

R_PLACES = Decimal("0.0001")


def toward_entry(side: PositionSide, price: Decimal, entry: Decimal, spec: ContractSpec) -> Decimal:
    """On the grid, nearer the entry, and at least one tick beyond it: a target at the entry
    would be no target at all."""
    if side is PositionSide.LONG:
        return max(spec.round_price(price, up=False), entry + spec.tick_size)
    return min(spec.round_price(price, up=True), entry - spec.tick_size)


def r_of(side: PositionSide, price: Decimal, entry: Decimal, risk: Decimal) -> Decimal:
    sign = 1 if side is PositionSide.LONG else -1
    return (sign * (price - entry) / risk).quantize(R_PLACES)


def r_target(
    side: PositionSide, entry: Decimal, risk: Decimal, r: Decimal, spec: ContractSpec
) -> Decimal:
    sign = 1 if side is PositionSide.LONG else -1
    return toward_entry(side, entry + sign * r * risk, entry, spec)


def _nearest_pivot(
    side: PositionSide, entry: Decimal, pivots: Pivots
) -> tuple[str, Decimal] | None:
    names = ("P", "R1", "R2", "R3", "S1", "S2", "S3")
    levels = (pivots.p, pivots.r1, pivots.r2, pivots.r3, pivots.s1, pivots.s2, pivots.s3)
    named = list(zip(names, levels, strict=True))
    if side is PositionSide.LONG:
        above = [(n, v) for n, v in named if v > entry]
        return min(above, key=lambda item: item[1]) if above else None
    below = [(n, v) for n, v in named if 0 < v < entry]
    return max(below, key=lambda item: item[1]) if below else None


@dataclass(frozen=True)
class FinalTarget:
    price: Decimal
    source: str
    note: str  # why the pivot was or was not used


def final_target(
    side: PositionSide,
    entry: Decimal,
    risk: Decimal,
    pivots: Pivots | None,
    config: TakeProfitConfig,
    spec: ContractSpec,
) -> FinalTarget:
    """The whole position's target per the configured policy."""
    fallback = r_target(side, entry, risk, config.r_multiple, spec)
    if config.policy == "r_multiple":
        return FinalTarget(fallback, "r_multiple", f"{num(config.r_multiple)}R")
    level = None if pivots is None else _nearest_pivot(side, entry, pivots)
    if level is None:
        return FinalTarget(fallback, "r_multiple", "no pivot beyond the entry")
    name, value = level
    sign = 1 if side is PositionSide.LONG else -1
    price = toward_entry(side, value * (1 - sign * config.pivot_buffer_pct / 100), entry, spec)
    r = r_of(side, price, entry, risk)
    if config.min_r <= r <= config.max_r:
        return FinalTarget(price, f"pivot:{name}", f"{name} {num(value)} -> {num(r)}R")
    return FinalTarget(
        fallback,
        "r_multiple",
        f"{name} {num(value)} pays {num(r)}R, outside [{num(config.min_r)}, {num(config.max_r)}]",
    )


def split_sizes(
    size: Decimal, share: Decimal, spec: ContractSpec
) -> tuple[Decimal, Decimal] | None:
    """TP1 and TP2 sizes on the volume step adding up to `size`; None when a part would be
    under the minimum volume."""
    first = spec.round_size(size * share)
    second = size - first
    if first < spec.min_volume or second < spec.min_volume or first <= 0 or second <= 0:
        return None
    return first, second


def build_targets(
    side: PositionSide,
    entry: Decimal,
    stop: Decimal,
    size: Decimal,
    pivots: Pivots | None,
    config: TakeProfitConfig,
    spec: ContractSpec,
) -> tuple[tuple[Target, ...], dict[str, str]]:
    """One or two targets, nearest first, with the notes explaining them."""
    risk = abs(entry - stop)
    final = final_target(side, entry, risk, pivots, config, spec)
    tp2 = Target(final.price, size, r_of(side, final.price, entry, risk), final.source)
    notes = {"tp2": num(final.price), "tp2_source": f"{final.source} ({final.note})"}
    two = config.two_targets
    if not two.enabled:
        notes["tp1"] = "off"
        return (tp2,), notes
    tp1_price = r_target(side, entry, risk, two.tp1_r, spec)
    nearer = tp1_price < final.price if side is PositionSide.LONG else tp1_price > final.price
    sizes = split_sizes(size, two.split, spec)
    if not nearer:
        notes["tp1"] = f"off: {num(tp1_price)} is not nearer than tp2 after rounding"
        return (tp2,), notes
    if sizes is None:
        notes["tp1"] = (
            f"off: {num(two.split)} of {num(size)} leaves a part under min_volume "
            f"{num(spec.min_volume)}"
        )
        return (tp2,), notes
    first, second = sizes
    notes["tp1"] = f"{num(tp1_price)} for {num(first)} ({num(two.tp1_r)}R)"
    notes["tp_split"] = f"{num(first)} + {num(second)}"
    return (
        Target(tp1_price, first, r_of(side, tp1_price, entry, risk), "tp1_r"),
        Target(final.price, second, tp2.r, final.source),
    ), notes
