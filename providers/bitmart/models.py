"""Pydantic models of the response bodies, one per endpoint payload (`data`).

Field names are the wire names; values are normalised by `fields` (decimals, string ids,
epoch milliseconds for every timestamp whatever unit the wire used). Unknown fields are
ignored so additions on the exchange side break nothing; missing required ones fail loudly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from providers.bitmart.fields import (
    ClientId,
    EpochMs,
    OptionalDecimal,
    PriceOrText,
    WireDecimal,
    WireId,
    WireInt,
)


class Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Envelope(Wire):
    """`{code, message, trace, data}`: success iff the HTTP status is 2xx and code is 1000."""

    code: int
    message: str = ""
    trace: str = ""
    data: Any = None


# --- public -------------------------------------------------------------------------------


class ContractDetail(Wire):
    """One row of /contract/public/details; `price_precision` is the tick size itself."""

    symbol: str
    product_type: int = 1
    base_currency: str
    quote_currency: str
    contract_size: WireDecimal
    price_precision: WireDecimal
    vol_precision: WireDecimal
    min_volume: WireDecimal
    max_volume: WireDecimal
    market_max_volume: OptionalDecimal = None
    min_leverage: WireInt
    max_leverage: WireInt
    status: str = "Trading"
    open_timestamp: EpochMs = 0
    expire_timestamp: EpochMs = 0
    settle_timestamp: EpochMs = 0
    delist_time: EpochMs = 0
    last_price: OptionalDecimal = None
    index_price: OptionalDecimal = None
    index_name: str = ""
    volume_24h: OptionalDecimal = None
    turnover_24h: OptionalDecimal = None
    high_24h: OptionalDecimal = None
    low_24h: OptionalDecimal = None
    change_24h: OptionalDecimal = None
    funding_rate: OptionalDecimal = None
    expected_funding_rate: OptionalDecimal = None
    funding_interval_hours: int | None = None
    funding_time: EpochMs = 0
    open_interest: OptionalDecimal = None
    open_interest_value: OptionalDecimal = None

    @field_validator("price_precision", "vol_precision", "contract_size")
    @classmethod
    def _positive_step(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError(f"must be a positive step, got {value}")
        return value


class ContractDetails(Wire):
    symbols: list[ContractDetail]


class DepthLevel(Wire):
    """`[price, size, cumulative_size]`; sizes in contracts."""

    price: WireDecimal
    size: WireDecimal
    cumulative: OptionalDecimal = None

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) < 2:
                raise ValueError(f"a depth level needs price and size, got {value!r}")
            cumulative = value[2] if len(value) > 2 else None
            return {"price": value[0], "size": value[1], "cumulative": cumulative}
        return value


class Depth(Wire):
    """Order book snapshot: asks ascending, bids descending."""

    symbol: str
    asks: list[DepthLevel]
    bids: list[DepthLevel]
    timestamp: EpochMs


class Kline(Wire):
    """One candle; `timestamp` is its open time (seconds on the wire, ms here)."""

    timestamp: EpochMs
    open_price: WireDecimal
    high_price: WireDecimal
    low_price: WireDecimal
    close_price: WireDecimal
    volume: WireDecimal


# --- account ------------------------------------------------------------------------------


class Asset(Wire):
    currency: str
    available_balance: WireDecimal
    frozen_balance: WireDecimal
    position_deposit: WireDecimal
    equity: WireDecimal
    unrealized: WireDecimal


class FeeRate(Wire):
    symbol: str
    taker_fee_rate: WireDecimal
    maker_fee_rate: WireDecimal


class PositionMode(Wire):
    position_mode: Literal["hedge_mode", "one_way_mode"]


class PositionV2(Wire):
    """A position-v2 row: one per side in hedge mode, one `both` row in one-way mode.

    `current_amount` (never negative) says whether there is a position; in one-way mode the
    sign of `position_amount` gives its direction (negative is short).
    """

    symbol: str
    position_side: Literal["long", "short", "both"]
    current_amount: WireDecimal
    position_amount: OptionalDecimal = None
    leverage: WireDecimal
    open_type: Literal["cross", "isolated"]
    entry_price: OptionalDecimal = None
    open_avg_price: OptionalDecimal = None
    mark_price: OptionalDecimal = None
    liquidation_price: OptionalDecimal = None
    unrealized_pnl: OptionalDecimal = None
    realized_value: OptionalDecimal = None
    initial_margin: OptionalDecimal = None
    position_cross: OptionalDecimal = None
    maintenance_margin: OptionalDecimal = None
    current_fee: OptionalDecimal = None
    current_value: OptionalDecimal = None
    position_value: OptionalDecimal = None
    mark_value: OptionalDecimal = None
    close_vol: OptionalDecimal = None
    close_avg_price: OptionalDecimal = None
    max_notional_value: OptionalDecimal = None
    account: str = "futures"
    timestamp: EpochMs = 0
    open_timestamp: EpochMs = 0


# --- orders -------------------------------------------------------------------------------


class OrderDetail(Wire):
    """An order from get-open-orders, order or order-history.

    `state`: 1 approval, 2 open (maybe partially filled), 4 finished (filled when
    `deal_size == size`, otherwise cancelled). The API sends no `mode` for these rows.
    """

    order_id: WireId
    client_order_id: ClientId = None
    symbol: str
    side: int
    type: str
    state: int
    size: WireDecimal
    price: PriceOrText = None
    deal_size: WireDecimal = Decimal(0)
    deal_avg_price: OptionalDecimal = None
    leverage: OptionalDecimal = None
    open_type: str | None = None
    position_mode: str | None = None
    mode: int | None = None
    preset_take_profit_price: OptionalDecimal = None
    preset_stop_loss_price: OptionalDecimal = None
    preset_take_profit_price_type: int | None = None
    preset_stop_loss_price_type: int | None = None
    trigger_price: PriceOrText = None
    execution_price: PriceOrText = None
    account: str | None = None
    create_time: EpochMs
    update_time: EpochMs = 0


class PlanOrder(Wire):
    """An active plan or TP/SL order from current-plan-order (`type` plan/take_profit/
    stop_loss; `plan_category` 2 = the whole position; `state` 1 approval, 2 active)."""

    order_id: WireId
    client_order_id: ClientId = None
    symbol: str
    side: int
    type: str
    state: int
    trigger_price: WireDecimal
    price_type: int
    executive_price: PriceOrText = None
    size: OptionalDecimal = None
    plan_category: int | None = None
    category: str | None = None
    mode: int | None = None
    price_way: int | None = None
    position_mode: str | None = None
    leverage: OptionalDecimal = None
    open_type: str | None = None
    create_time: EpochMs
    update_time: EpochMs = 0


class Trade(Wire):
    """One own fill from /contract/private/trades; `vol` in contracts."""

    order_id: WireId
    trade_id: WireId
    symbol: str
    side: int
    price: WireDecimal
    vol: WireDecimal
    exec_type: str = ""
    profit: bool | None = None
    realised_profit: OptionalDecimal = None
    paid_fees: OptionalDecimal = None
    account: str | None = None
    create_time: EpochMs


# --- write results ------------------------------------------------------------------------


class SubmittedOrder(Wire):
    """submit-order: the id (a JSON number here) and the price ("market price" for market)."""

    order_id: WireId
    price: str | None = None


class OrderRef(Wire):
    """The id a submit/modify of a plan or TP/SL order returns."""

    order_id: WireId
    client_order_id: ClientId = None


class LeverageSet(Wire):
    symbol: str
    leverage: WireDecimal
    open_type: str
    max_value: OptionalDecimal = None


class CancelAllAfter(Wire):
    """The dead man's switch: `cancel_time` is when open orders of the symbol get cancelled
    (0 when disarmed); both times arrive in seconds and are kept in ms."""

    result: bool
    set_time: EpochMs = 0
    cancel_time: EpochMs = 0
