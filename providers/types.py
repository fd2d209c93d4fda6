"""Immutable domain types shared by every exchange adapter.

Prices, sizes and money are `Decimal` (exact, as the exchange sends them); sizes are in
contracts. Side and mode codes follow Bitmart's futures API so adapters translate nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import IntEnum, StrEnum


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def opposite(self) -> PositionSide:
        return PositionSide.SHORT if self is PositionSide.LONG else PositionSide.LONG


class OrderSide(IntEnum):
    """Bitmart side codes (hedge mode names; one-way mode reads 2/3 as reduce-only)."""

    BUY_OPEN_LONG = 1
    BUY_CLOSE_SHORT = 2
    SELL_CLOSE_LONG = 3
    SELL_OPEN_SHORT = 4

    @classmethod
    def open(cls, side: PositionSide) -> OrderSide:
        return cls.BUY_OPEN_LONG if side is PositionSide.LONG else cls.SELL_OPEN_SHORT

    @classmethod
    def close(cls, side: PositionSide) -> OrderSide:
        """The code that reduces a position of `side`."""
        return cls.SELL_CLOSE_LONG if side is PositionSide.LONG else cls.BUY_CLOSE_SHORT

    @property
    def is_buy(self) -> bool:
        return self in (OrderSide.BUY_OPEN_LONG, OrderSide.BUY_CLOSE_SHORT)

    @property
    def is_close(self) -> bool:
        return self in (OrderSide.BUY_CLOSE_SHORT, OrderSide.SELL_CLOSE_LONG)

    @property
    def position_side(self) -> PositionSide:
        """The position this order opens or closes."""
        if self in (OrderSide.BUY_OPEN_LONG, OrderSide.SELL_CLOSE_LONG):
            return PositionSide.LONG
        return PositionSide.SHORT


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class OrderMode(IntEnum):
    GTC = 1
    FOK = 2
    IOC = 3
    MAKER_ONLY = 4


class OpenType(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"


class PriceType(IntEnum):
    """What a trigger watches: last traded price or the fair (mark) price."""

    LAST = 1
    MARK = 2


class OrderStatus(StrEnum):
    """Order life cycle. Bitmart reports state 1 (approval), 2 (open), 4 (finished);
    `filled_size` tells a finished order's outcome."""

    PENDING = "pending"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class TriggerKind(StrEnum):
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    PLAN = "plan"


def round_to_step(value: Decimal, step: Decimal, *, up: bool) -> Decimal:
    """Round `value` to a multiple of `step`, up or down."""
    units = (value / step).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (units * step).quantize(step)


@dataclass(frozen=True)
class ContractSpec:
    """Trading rules of one perpetual contract."""

    symbol: str
    base_currency: str
    quote_currency: str
    tick_size: Decimal
    contract_size: Decimal
    volume_step: Decimal
    min_volume: Decimal
    max_volume: Decimal
    market_max_volume: Decimal
    min_leverage: int
    max_leverage: int
    status: str = "Trading"
    open_timestamp_ms: int | None = None
    expire_timestamp_ms: int | None = None
    last_price: Decimal | None = None
    index_price: Decimal | None = None
    turnover_24h: Decimal | None = None
    volume_24h: Decimal | None = None
    funding_rate: Decimal | None = None

    def round_price(self, price: Decimal, *, up: bool) -> Decimal:
        return round_to_step(price, self.tick_size, up=up)

    def round_size(self, size: Decimal) -> Decimal:
        """Size down to the volume step (never rounds a size up)."""
        return round_to_step(size, self.volume_step, up=False)

    def is_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    @property
    def is_trading(self) -> bool:
        return self.status == "Trading"


@dataclass(frozen=True)
class TopOfBook:
    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal
    mark: Decimal
    ts_ms: int

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread_bps(self) -> float:
        return float((self.ask - self.bid) / self.mid * 10_000)


@dataclass(frozen=True)
class Balance:
    currency: str
    equity: Decimal
    available: Decimal
    position_margin: Decimal
    order_margin: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True)
class Position:
    symbol: str
    side: PositionSide
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    leverage: int
    open_type: OpenType
    margin: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    liquidation_price: Decimal | None
    opened_ms: int


@dataclass(frozen=True)
class Order:
    """A normal (limit/market) order as the exchange reports it."""

    order_id: str
    client_order_id: str | None
    symbol: str
    side: OrderSide
    type: OrderType
    mode: OrderMode
    price: Decimal | None
    size: Decimal
    filled_size: Decimal
    avg_fill_price: Decimal | None
    status: OrderStatus
    reduce_only: bool
    leverage: int | None
    open_type: OpenType | None
    preset_take_profit: Decimal | None
    preset_stop_loss: Decimal | None
    fee: Decimal
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class TriggerOrder:
    """A conditional order (take profit, stop loss or plan) waiting for its trigger."""

    order_id: str
    client_order_id: str | None
    symbol: str
    kind: TriggerKind
    side: OrderSide
    trigger_price: Decimal
    price_type: PriceType
    execution_price: Decimal | None  # None: executes at market
    size: Decimal | None  # None: the whole position
    status: OrderStatus
    created_ms: int


@dataclass(frozen=True)
class OrderRequest:
    """What a caller asks an exchange to place."""

    symbol: str
    side: OrderSide
    type: OrderType
    size: Decimal
    price: Decimal | None = None
    mode: OrderMode = OrderMode.GTC
    client_order_id: str | None = None
    leverage: int | None = None
    open_type: OpenType = OpenType.ISOLATED
    preset_take_profit: Decimal | None = None
    preset_stop_loss: Decimal | None = None
    preset_price_type: PriceType = PriceType.LAST
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"order size must be positive, got {self.size}")
        if self.type is OrderType.LIMIT and (self.price is None or self.price <= 0):
            raise ValueError("a limit order needs a positive price")
        if self.client_order_id is not None and not (
            1 <= len(self.client_order_id) <= 32 and self.client_order_id.isalnum()
        ):
            raise ValueError(
                f"client_order_id must be 1-32 letters or digits, got {self.client_order_id!r}"
            )


@dataclass(frozen=True)
class Fill:
    """One own execution: (part of) an order filled at `price`."""

    order_id: str
    symbol: str
    side: OrderSide
    price: Decimal
    size: Decimal  # contracts
    fee: Decimal
    time_ms: int
    realized_pnl: Decimal | None = None  # as the exchange reports it, when it does
