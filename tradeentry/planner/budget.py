"""The money at stake: budget B = min(budget_usdt, available), risk = B x risk % x multiplier."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradeentry.config import RiskConfig
from tradeentry.model import Skip, SkipReason
from tradeentry.planner._text import num, pct


@dataclass(frozen=True)
class RiskBudget:
    budget: Decimal  # margin allowance of this trade
    multiplier: Decimal  # the timeframe's risk multiplier, applied once
    risk_pct: Decimal  # effective percent of the budget lost at the stop
    risk_usdt: Decimal

    def describe(self) -> dict[str, str]:
        return {
            "budget": num(self.budget),
            "risk_multiplier": num(self.multiplier),
            "risk_pct_effective": pct(self.risk_pct),
            "risk_usdt": num(self.risk_usdt),
        }


def risk_budget(config: RiskConfig, timeframe: str, available: Decimal) -> RiskBudget | Skip:
    budget = min(config.budget_usdt, available)
    if budget <= 0:
        return Skip(
            SkipReason.NO_BUDGET,
            f"available balance {num(available)} USDT leaves no budget "
            f"(budget_usdt {num(config.budget_usdt)})",
        )
    multiplier = config.multiplier(timeframe)
    # risk_pct is a percent: 0.5 means 0.5 % of the budget, hence the division by 100.
    risk_pct = config.risk_pct * multiplier
    return RiskBudget(budget, multiplier, risk_pct, budget * risk_pct / 100)
