"""Validation of a submit-order body against the contract, with Bitmart's codes (pure).

The order of the checks: side (40041), type (40042), mode, open type (40045), leverage
(40040 not an integer, 40030 too small, 40029 too large), price on the tick grid (40043),
size on the volume step (40043) and within the limits (40044), presets on the grid (40043).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from providers.types import (
    ContractSpec,
    OpenType,
    OrderMode,
    OrderSide,
    OrderType,
    PriceType,
)

from .params import decimal, integer, on_tick, optional_decimal, optional_integer
from .wire import WireError


@dataclass(frozen=True)
class Draft:
    """A submit-order body that passed the contract's rules."""

    side: OrderSide
    type: OrderType
    mode: OrderMode
    price: Decimal | None
    price_text: str
    size: Decimal
    leverage: int | None
    open_type: OpenType | None
    take_profit: Decimal | None
    stop_loss: Decimal | None
    preset_price_type: PriceType


def draft(spec: ContractSpec, body: Mapping[str, Any]) -> Draft:
    """The order a body asks for; `WireError` naming the first rule it breaks."""
    side = order_side(body.get("side"), allowed=(1, 2, 3, 4))
    raw_type = body.get("type", "limit")
    if raw_type not in ("limit", "market"):
        raise WireError(40042, f"type {raw_type!r}; allowed: limit, market")
    kind = OrderType(raw_type)
    mode_value = optional_integer(body.get("mode"), 40011, "mode") or 1
    if mode_value not in (1, 2, 3, 4):
        raise WireError(40011, f"mode {mode_value}; allowed: 1 GTC, 2 FOK, 3 IOC, 4 Maker Only")
    open_type = open_type_of(body.get("open_type"), required=False)
    lev = leverage(spec, body.get("leverage"))
    price: Decimal | None = None
    price_text = "market price"
    if kind is OrderType.LIMIT:
        raw_price = body.get("price")
        if raw_price is None or raw_price == "":
            raise WireError(40011, "a limit order needs a price")
        price = on_tick(spec, decimal(raw_price, 40007, "price"), "price")
        price_text = str(raw_price)
    size = order_size(spec, body.get("size"), market=kind is OrderType.MARKET)
    take_profit, tp_type = _preset(spec, body, "preset_take_profit_price")
    stop_loss, sl_type = _preset(spec, body, "preset_stop_loss_price")
    return Draft(
        side=side,
        type=kind,
        mode=OrderMode(mode_value),
        price=price,
        price_text=price_text,
        size=size,
        leverage=lev,
        open_type=open_type,
        take_profit=take_profit,
        stop_loss=stop_loss,
        # One price type serves both presets; the take-profit's wins when they differ.
        preset_price_type=PriceType(tp_type or sl_type or 1),
    )


def order_side(raw: object, *, allowed: tuple[int, ...]) -> OrderSide:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in allowed:
        raise WireError(40041, f"side {raw!r}; allowed: {', '.join(map(str, allowed))}")
    return OrderSide(raw)


def open_type_of(raw: object, *, required: bool) -> OpenType | None:
    if raw is None or raw == "":
        if required:
            raise WireError(40045, "open_type is required: cross or isolated")
        return None
    if raw not in ("cross", "isolated"):
        raise WireError(40045, f"open_type {raw!r}; allowed: cross, isolated")
    return OpenType(str(raw))


def leverage(spec: ContractSpec, raw: object) -> int | None:
    """An optional leverage: a whole number within the contract's range."""
    value = optional_decimal(raw, 40040, "leverage")
    if value is None:
        return None
    if value != value.to_integral_value():
        raise WireError(40040, f"leverage {raw!r} is not a whole number")
    whole = int(value)
    if whole < spec.min_leverage:
        raise WireError(40030, f"leverage {whole} is below {spec.min_leverage}")
    if whole > spec.max_leverage:
        raise WireError(40029, f"leverage {whole} is above {spec.max_leverage}")
    return whole


def order_size(spec: ContractSpec, raw: object, *, market: bool) -> Decimal:
    """Contracts on the volume step within [min_volume, max_volume] (market_max for market)."""
    if raw is None or raw == "":
        raise WireError(40011, "size is required")
    size = (
        Decimal(integer(raw, 40007, "size"))
        if isinstance(raw, int)
        else decimal(raw, 40007, "size")
    )
    if size <= 0 or size % spec.volume_step:
        raise WireError(40043, f"size {size} is not a positive multiple of {spec.volume_step}")
    most = spec.market_max_volume if market else spec.max_volume
    if not spec.min_volume <= size <= most:
        name = "market_max_volume" if market else "max_volume"
        raise WireError(
            40044, f"size {size} is outside min_volume {spec.min_volume} .. {name} {most}"
        )
    return size


def _preset(
    spec: ContractSpec, body: Mapping[str, Any], name: str
) -> tuple[Decimal | None, int | None]:
    """A preset price on the grid and its price type (1 last, 2 fair), or (None, None)."""
    value = optional_decimal(body.get(name), 40007, name)
    if value is None:
        return None, None
    kind = optional_integer(body.get(f"{name}_type"), 40011, f"{name}_type") or 1
    if kind not in (1, 2):
        raise WireError(40011, f"{name}_type {kind}; allowed: 1 last, 2 fair")
    return on_tick(spec, value, name), kind
