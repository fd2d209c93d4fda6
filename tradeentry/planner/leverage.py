"""Leverage: the dynamic value that posts the budget as margin, rounded, then every cap once.

dynamic = (risk % / 100) / (stop distance % / 100) x timeframe multiplier; since the size makes
notional ≈ budget x risk % / stop %, this is notional / budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase

from providers.types import ContractSpec
from tradeentry.config import LeverageConfig
from tradeentry.model import Skip, SkipReason
from tradeentry.planner._text import num

_ROUNDING = {"floor": ROUND_FLOOR, "round": ROUND_HALF_UP, "ceil": ROUND_CEILING}


def symbol_cap(symbol: str, caps: dict[str, int]) -> tuple[str, int] | None:
    """The smallest cap whose glob pattern matches the symbol (case-insensitive)."""
    matching = [(p, c) for p, c in caps.items() if fnmatchcase(symbol.upper(), p.upper())]
    return min(matching, key=lambda item: item[1]) if matching else None


def dynamic_leverage(risk_pct: Decimal, stop_distance_pct: Decimal, multiplier: Decimal) -> Decimal:
    # Both are percents, so their ratio is the ratio of the fractions.
    return risk_pct / stop_distance_pct * multiplier


def round_leverage(value: Decimal, rounding: str) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[rounding]))


@dataclass(frozen=True)
class LeverageChoice:
    dynamic: Decimal
    multiplier: Decimal
    rounded: int
    caps: tuple[tuple[str, int], ...]  # every ceiling considered, applied once each
    floors: tuple[tuple[str, int], ...]
    leverage: int

    @property
    def ceiling(self) -> int:
        return min(value for _, value in self.caps)

    @property
    def lowest(self) -> int:
        return max(value for _, value in self.floors)

    def describe(self) -> dict[str, str]:
        def listing(items: tuple[tuple[str, int], ...]) -> str:
            return ", ".join(f"{name}={value}" for name, value in items)

        return {
            "leverage_multiplier": num(self.multiplier),
            "leverage_dynamic": num(self.dynamic),
            "leverage_rounded": str(self.rounded),
            "leverage_caps": f"{listing(self.caps)} -> {self.ceiling}",
            "leverage_floors": f"{listing(self.floors)} -> {self.lowest}",
            "leverage_capped": str(self.leverage),
        }


def choose_leverage(
    symbol: str,
    timeframe: str,
    risk_pct: Decimal,
    stop_distance_pct: Decimal,
    spec: ContractSpec,
    config: LeverageConfig,
) -> LeverageChoice | Skip:
    multiplier = config.multiplier(timeframe)
    dynamic = dynamic_leverage(risk_pct, stop_distance_pct, multiplier)
    rounded = round_leverage(dynamic, config.rounding)
    caps = [("exchange_cap", config.exchange_cap), ("contract_max", spec.max_leverage)]
    matched = symbol_cap(symbol, config.per_symbol_caps)
    if matched is not None:
        caps.insert(1, (f"symbol_cap[{matched[0]}]", matched[1]))
    floors = (("floor", config.floor), ("contract_min", max(1, spec.min_leverage)))
    ceiling = min(value for _, value in caps)
    lowest = max(value for _, value in floors)
    if lowest > ceiling:
        return Skip(
            SkipReason.LEVERAGE_BELOW_FLOOR,
            f"the lowest allowed leverage {lowest} ({', '.join(f'{n}={v}' for n, v in floors)})"
            f" is above the cap {ceiling} ({', '.join(f'{n}={v}' for n, v in caps)})",
        )
    leverage = min(max(rounded, lowest), ceiling)
    return LeverageChoice(dynamic, multiplier, rounded, tuple(caps), floors, leverage)
