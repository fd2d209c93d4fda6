"""Bitmart's order rules, checked before an order is accepted (paper) or sent (Bitmart); pure.

Every check raises `InvalidOrderError` naming the value, the rule it breaks and what is allowed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from providers.port import InvalidOrderError
from providers.types import (
    ContractSpec,
    OrderMode,
    OrderRequest,
    OrderType,
    PositionSide,
    TriggerKind,
)

CLIENT_ID_MAX = 32


def _on_grid(value: Decimal, step: Decimal) -> bool:
    try:
        return value % step == 0
    except InvalidOperation:
        # The quotient does not fit the decimal context: far off any sane grid.
        return False


def check_trading(spec: ContractSpec) -> None:
    if not spec.is_trading:
        raise InvalidOrderError(
            f"{spec.symbol} is not trading (status {spec.status!r}); orders need status 'Trading'"
        )


def check_leverage(spec: ContractSpec, leverage: int) -> None:
    if not spec.min_leverage <= leverage <= spec.max_leverage:
        raise InvalidOrderError(
            f"leverage {leverage} of {spec.symbol} is outside "
            f"[{spec.min_leverage}, {spec.max_leverage}]"
        )


def check_client_order_id(value: str) -> None:
    if not (1 <= len(value) <= CLIENT_ID_MAX and value.isascii() and value.isalnum()):
        raise InvalidOrderError(
            f"client_order_id {value!r} must be 1-{CLIENT_ID_MAX} ASCII letters or digits"
        )


def check_price(spec: ContractSpec, price: Decimal, what: str = "price") -> None:
    """A positive price on the contract's tick grid."""
    if not price.is_finite() or price <= 0:
        raise InvalidOrderError(f"{what} {price:f} of {spec.symbol} must be a positive number")
    if not _on_grid(price, spec.tick_size):
        raise InvalidOrderError(
            f"{what} {price:f} of {spec.symbol} is not on the tick grid (tick {spec.tick_size:f})"
        )


def check_size(spec: ContractSpec, size: Decimal, *, market: bool) -> None:
    """A size on the volume step within [min_volume, max_volume] (market_max_volume for market)."""
    if not size.is_finite() or size <= 0:
        raise InvalidOrderError(f"size {size:f} of {spec.symbol} must be a positive number")
    if not _on_grid(size, spec.volume_step):
        raise InvalidOrderError(
            f"size {size:f} of {spec.symbol} is not a multiple of the volume step "
            f"{spec.volume_step:f}"
        )
    if size < spec.min_volume:
        raise InvalidOrderError(
            f"size {size:f} of {spec.symbol} is below min_volume {spec.min_volume:f}"
        )
    limit, name = (
        (spec.market_max_volume, "market_max_volume") if market else (spec.max_volume, "max_volume")
    )
    if size > limit:
        kind = "market order size" if market else "size"
        raise InvalidOrderError(f"{kind} {size:f} of {spec.symbol} is above {name} {limit:f}")


def check_request(spec: ContractSpec, request: OrderRequest) -> None:
    """Rules that need nothing but the contract: grid, limits, modes, ids, presets."""
    check_trading(spec)
    market = request.type is OrderType.MARKET
    if market and request.mode is OrderMode.MAKER_ONLY:
        raise InvalidOrderError("maker-only (mode 4) applies to limit orders, not market orders")
    if not market:
        if request.price is None:
            raise InvalidOrderError(f"a limit order of {spec.symbol} needs a price")
        check_price(spec, request.price)
    check_size(spec, request.size, market=market)
    if request.leverage is not None:
        check_leverage(spec, request.leverage)
    if request.client_order_id is not None:
        check_client_order_id(request.client_order_id)
    presets = (request.preset_take_profit, request.preset_stop_loss)
    if request.side.is_close and any(p is not None for p in presets):
        raise InvalidOrderError(
            "preset take-profit/stop-loss apply to opening orders (sides 1 and 4), "
            f"not to side {int(request.side)}"
        )
    if request.preset_take_profit is not None:
        check_price(spec, request.preset_take_profit, "preset take-profit")
    if request.preset_stop_loss is not None:
        check_price(spec, request.preset_stop_loss, "preset stop-loss")


def check_presets(spec: ContractSpec, request: OrderRequest, reference: Decimal) -> None:
    """A long's stop below `reference` (the entry) and its take-profit above; shorts mirrored."""
    long = request.side.position_side is PositionSide.LONG
    tp, sl = request.preset_take_profit, request.preset_stop_loss
    if tp is not None and (tp <= reference if long else tp >= reference):
        where = "above" if long else "below"
        raise InvalidOrderError(
            f"preset take-profit {tp:f} of a {request.side.position_side} {spec.symbol} entry "
            f"must be {where} the entry price {reference:f}"
        )
    if sl is not None and (sl >= reference if long else sl <= reference):
        where = "below" if long else "above"
        raise InvalidOrderError(
            f"preset stop-loss {sl:f} of a {request.side.position_side} {spec.symbol} entry "
            f"must be {where} the entry price {reference:f}"
        )


def check_trigger(
    spec: ContractSpec,
    *,
    kind: TriggerKind,
    position_side: PositionSide,
    trigger_price: Decimal,
    last_price: Decimal,
    size: Decimal | None,
    position_size: Decimal,
    execution_price: Decimal | None,
) -> None:
    """A take-profit or stop-loss on the right side of the last price, sized within the position."""
    if kind not in (TriggerKind.TAKE_PROFIT, TriggerKind.STOP_LOSS):
        raise InvalidOrderError(
            f"trigger kind {kind} cannot be attached to a position; allowed: take_profit, stop_loss"
        )
    check_price(spec, trigger_price, "trigger price")
    if execution_price is not None:
        check_price(spec, execution_price, "execution price")
    above = (kind is TriggerKind.TAKE_PROFIT) == (position_side is PositionSide.LONG)
    if above and trigger_price <= last_price:
        raise InvalidOrderError(
            f"{kind} trigger {trigger_price:f} of a {position_side} {spec.symbol} position must be "
            f"above the last price {last_price:f}"
        )
    if not above and trigger_price >= last_price:
        raise InvalidOrderError(
            f"{kind} trigger {trigger_price:f} of a {position_side} {spec.symbol} position must be "
            f"below the last price {last_price:f}"
        )
    if size is not None:
        if not size.is_finite() or size <= 0 or not _on_grid(size, spec.volume_step):
            raise InvalidOrderError(
                f"trigger size {size:f} of {spec.symbol} must be a positive multiple of the "
                f"volume step {spec.volume_step:f}"
            )
        if size > position_size:
            raise InvalidOrderError(
                f"trigger size {size:f} of {spec.symbol} is above the position size "
                f"{position_size:f}"
            )
