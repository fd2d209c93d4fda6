"""Liquidation guard: with isolated margin the position must reach its stop well before the
exchange liquidates it; lower the leverage until it does, or refuse.

liquidation ≈ entry x (1 ∓ (1/leverage − maintenance %/100)); requiring a liquidation distance of
at least `ratio` x the stop distance d (in %) gives leverage ≤ 100 / (ratio·d + maintenance %).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from providers.types import ContractSpec, PositionSide
from tradeentry.config import LeverageConfig
from tradeentry.model import Skip, SkipReason
from tradeentry.planner._text import num, pct


def liquidation_distance_pct(leverage: int, maintenance_pct: Decimal) -> Decimal:
    return Decimal(100) / leverage - maintenance_pct


def liquidation_price(
    entry: Decimal, side: PositionSide, leverage: int, maintenance_pct: Decimal
) -> Decimal:
    sign = 1 if side is PositionSide.LONG else -1
    return entry * (1 - sign * liquidation_distance_pct(leverage, maintenance_pct) / 100)


def max_safe_leverage(stop_distance_pct: Decimal, maintenance_pct: Decimal, ratio: Decimal) -> int:
    wanted = ratio * stop_distance_pct
    limit = int((Decimal(100) / (wanted + maintenance_pct)).to_integral_value(rounding=ROUND_FLOOR))
    # The quotient is rounded to the context precision; never let that admit one too many.
    while limit > 0 and liquidation_distance_pct(limit, maintenance_pct) < wanted:
        limit -= 1
    return limit


@dataclass(frozen=True)
class LiquidationCheck:
    max_safe: int
    leverage: int
    price: Decimal | None  # on the tick grid, rounded toward the entry; None: cannot happen

    def describe(self) -> dict[str, str]:
        return {
            "liquidation_max_leverage": str(self.max_safe),
            "leverage": str(self.leverage),
            "liquidation_price": num(self.price) if self.price is not None else "none",
        }


def guard_liquidation(
    side: PositionSide,
    entry: Decimal,
    stop: Decimal,
    stop_distance_pct: Decimal,
    leverage: int,
    lowest: int,
    config: LeverageConfig,
    spec: ContractSpec,
) -> LiquidationCheck | Skip:
    """Keep `leverage` when safe, else lower it to the safest allowed value (not below `lowest`)."""
    mm = config.maintenance_margin_pct
    ratio = config.min_liquidation_ratio
    long = side is PositionSide.LONG
    safe = max_safe_leverage(stop_distance_pct, mm, ratio)
    chosen = min(leverage, safe)
    while chosen >= max(lowest, 1):
        raw = liquidation_price(entry, side, chosen, mm)
        if raw <= 0:
            return LiquidationCheck(safe, chosen, None)
        # Rounded toward the entry (pessimistic), and still strictly beyond the stop.
        price = spec.round_price(raw, up=long)
        if (price < stop) if long else (price > stop):
            return LiquidationCheck(safe, chosen, price)
        chosen -= 1
    return Skip(
        SkipReason.LIQUIDATION_BEFORE_STOP,
        f"a stop {pct(stop_distance_pct)} away needs leverage ≤ {safe} (liquidation at ≥ "
        f"{num(ratio)}x the stop distance, maintenance {pct(mm)}); the lowest allowed is {lowest}",
    )
