"""The planner's inputs and outputs: immutable records, no behaviour.

`Snapshot` is everything the planner may look at (read by the shell before planning);
`TradePlan` is an executable order plan with every intermediate number that produced it;
`Skip` is the refusal to plan, with a machine-readable reason and a sentence for humans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from providers.timeframes import iso
from providers.types import ContractSpec, OrderMode, OrderType, PositionSide, TopOfBook


@dataclass(frozen=True)
class Signal:
    """A READY decision as the planner sees it."""

    symbol: str
    side: PositionSide
    timeframe: str  # the execution timeframe
    profile: str
    decision_key: str
    candle_open_ms: int
    as_of_ms: int


@dataclass(frozen=True)
class Pivots:
    """Classic floor pivots of the previous UTC day."""

    p: Decimal
    r1: Decimal
    r2: Decimal
    r3: Decimal
    s1: Decimal
    s2: Decimal
    s3: Decimal

    def supports(self) -> list[Decimal]:
        return [self.s1, self.s2, self.s3, self.p]

    def resistances(self) -> list[Decimal]:
        return [self.r1, self.r2, self.r3, self.p]


@dataclass(frozen=True)
class Snapshot:
    """Market and account facts at planning time."""

    spec: ContractSpec
    book: TopOfBook
    equity: Decimal
    available: Decimal
    atr: Decimal | None  # ATR(14) of the execution (or configured) timeframe
    anchor: Decimal | None  # entry-zone anchor: VWAP of the day, else SMA21
    anchor_kind: str  # "vwap" | "sma21" | "none"
    pivots: Pivots | None
    now_ms: int
    zone_atr: Decimal | None = None  # ATR(14) of the entry zone's timeframe; None: `atr`


class SkipReason(StrEnum):
    NO_ATR = "no_atr"
    NO_ANCHOR = "no_entry_zone_anchor"
    NO_STOP = "no_stop"
    STOP_TOO_FAR = "stop_too_far"
    SPREAD_TOO_WIDE = "spread_too_wide"
    PRICE_OUT_OF_ZONE = "price_out_of_zone"
    DEVIATION_TOO_LARGE = "deviation_too_large"
    SIZE_BELOW_MINIMUM = "size_below_min_volume"
    NO_BUDGET = "no_budget"
    LEVERAGE_BELOW_FLOOR = "leverage_below_floor"
    LIQUIDATION_BEFORE_STOP = "liquidation_before_stop"
    TIMEFRAME_NOT_ALLOWED = "timeframe_not_allowed"
    RISK_LIMIT = "risk_limit"
    BAD_BOOK = "bad_book"


@dataclass(frozen=True)
class Skip:
    reason: SkipReason
    detail: str
    # the planner's numbers up to the refusal (shown by `mtf plan`; not part of equality)
    steps: Mapping[str, str] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": self.reason.value, "detail": self.detail}


@dataclass(frozen=True)
class EntryZone:
    low: Decimal
    high: Decimal
    anchor: Decimal
    anchor_kind: str
    expires_ms: int

    def contains(self, price: Decimal) -> bool:
        return self.low <= price <= self.high

    @property
    def mid(self) -> Decimal:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Target:
    price: Decimal
    size: Decimal  # contracts closed at this target
    r: Decimal  # reward in multiples of the risk per contract
    source: str  # "r_multiple" | "pivot:R1" ...


@dataclass(frozen=True)
class TradePlan:
    """An order plan. Prices are on the tick grid, sizes on the volume step."""

    symbol: str
    side: PositionSide
    timeframe: str
    order_type: OrderType
    mode: OrderMode
    entry_price: Decimal
    stop_loss: Decimal
    stop_source: str  # "atr" | "pivot:S1" | "risk" ... and "+min_distance" when widened
    targets: tuple[Target, ...]  # one or two, nearest first; sizes add up to `size`
    size: Decimal
    leverage: int
    zone: EntryZone | None
    risk_usdt: Decimal  # the configured risk (budget x risk %)
    loss_at_stop_usdt: Decimal  # what the stop would lose, fees included, after rounding
    notional_usdt: Decimal
    margin_usdt: Decimal
    budget_usdt: Decimal
    liquidation_price: Decimal | None
    steps: dict[str, str] = field(default_factory=dict)  # every intermediate number, as text

    @property
    def take_profit(self) -> Decimal:
        """The farthest target: the whole position's take profit."""
        return self.targets[-1].price

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, StrEnum):
                return value.value
            if isinstance(value, int) and not isinstance(value, bool) and hasattr(value, "name"):
                return value.name.lower()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        out = {k: plain(v) for k, v in asdict(self).items()}
        out["take_profit"] = str(self.take_profit)
        if self.zone is not None:
            out["zone"]["expires"] = iso(self.zone.expires_ms)
        return out
