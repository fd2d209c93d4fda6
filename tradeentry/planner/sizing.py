"""Position size from the risk (floor to the volume step), and the shrink that fits a margin."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from providers.types import ContractSpec, OrderType
from tradeentry.model import Skip, SkipReason
from tradeentry.planner._text import num


def volume_cap(spec: ContractSpec, order_type: OrderType) -> Decimal:
    """The largest order: market_max_volume for market orders when the exchange gives one."""
    if order_type is OrderType.MARKET and spec.market_max_volume > 0:
        return spec.market_max_volume
    return spec.max_volume


@dataclass(frozen=True)
class Sizing:
    risk_per_contract: Decimal  # USDT one contract loses at the stop, fees included
    size_raw: Decimal
    cap: Decimal
    size: Decimal
    fee_per_contract: Decimal = Decimal(0)  # the round-trip fees in that loss

    def describe(self) -> dict[str, str]:
        return {
            "fees_per_contract": num(self.fee_per_contract),
            "risk_per_contract": num(self.risk_per_contract),
            "size_raw": num(self.size_raw),
            "volume_cap": num(self.cap),
            "size_for_risk": num(self.size),
        }


def size_for_risk(
    risk_usdt: Decimal,
    distance: Decimal,
    spec: ContractSpec,
    order_type: OrderType,
    fee_per_contract: Decimal = Decimal(0),
) -> Sizing | Skip:
    """floor(risk / (distance x contract size + fees)) on the volume step, within the volume
    limits: the loss at the stop, fees included, stays within the risk."""
    per_contract = distance * spec.contract_size + fee_per_contract
    raw = risk_usdt / per_contract
    cap = volume_cap(spec, order_type)
    size = spec.round_size(min(raw, cap))
    # The quotient is rounded to the context precision and may land on a step from below.
    while size > 0 and size * per_contract > risk_usdt:
        size -= spec.volume_step
    if size < spec.min_volume or size <= 0:
        return Skip(
            SkipReason.SIZE_BELOW_MINIMUM,
            f"risk {num(risk_usdt)} USDT at {num(per_contract)} USDT per contract buys "
            f"{num(max(size, Decimal(0)))} contracts; min_volume is {num(spec.min_volume)}",
        )
    return Sizing(per_contract, raw, cap, size, fee_per_contract)


def fit_margin(
    size: Decimal,
    entry: Decimal,
    leverage: int,
    budget: Decimal,
    spec: ContractSpec,
    fee_reserve_pct: Decimal = Decimal(0),
) -> Decimal:
    """The largest size not above `size` whose margin (notional / leverage) plus the fee
    reserve (a percent of the notional) fits the budget."""
    # What one contract takes from the budget: its margin and its share of fees.
    per_contract = entry * spec.contract_size * (1 / Decimal(leverage) + fee_reserve_pct / 100)
    if size * per_contract <= budget:
        return size
    fitted = spec.round_size(budget / per_contract)
    while fitted > 0 and fitted * per_contract > budget:
        fitted -= spec.volume_step
    return min(size, fitted)
