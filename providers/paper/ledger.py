"""Position and money arithmetic of the paper exchange (pure).

Positions are linear USDT perpetuals: notional = size x contract_size x price, margin =
entry notional / leverage, PnL = (exit - entry) x size x contract_size (negated for shorts).
Money is rounded to 1e-8 USDT and averaged prices to 1e-12 so that every backend stores
exactly what was computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal

from providers.types import (
    Balance,
    ContractSpec,
    OpenType,
    Order,
    Position,
    PositionSide,
)

MONEY = Decimal("1e-8")
PRICE = Decimal("1e-12")
ZERO = Decimal(0)


def money(value: Decimal) -> Decimal:
    """An amount of USDT at the ledger's precision."""
    return value.quantize(MONEY, rounding=ROUND_HALF_EVEN)


def notional(spec: ContractSpec, size: Decimal, price: Decimal) -> Decimal:
    return size * spec.contract_size * price


def fee(spec: ContractSpec, size: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Fee of a fill: its notional times the fee rate."""
    return money(notional(spec, size, price) * rate)


def margin(spec: ContractSpec, size: Decimal, price: Decimal, leverage: int) -> Decimal:
    return money(notional(spec, size, price) / leverage)


def pnl(
    spec: ContractSpec, side: PositionSide, entry: Decimal, exit_price: Decimal, size: Decimal
) -> Decimal:
    """Profit of closing `size` contracts bought (long) or sold (short) at `entry`."""
    move = exit_price - entry if side is PositionSide.LONG else entry - exit_price
    return money(move * size * spec.contract_size)


@dataclass(frozen=True)
class Holding:
    """An open paper position: one per symbol and side (hedge mode)."""

    symbol: str
    side: PositionSide
    size: Decimal
    entry_price: Decimal
    leverage: int
    open_type: OpenType
    margin: Decimal
    realized_pnl: Decimal
    opened_ms: int
    updated_ms: int


def increase(
    holding: Holding | None,
    spec: ContractSpec,
    side: PositionSide,
    size: Decimal,
    price: Decimal,
    *,
    leverage: int,
    open_type: OpenType,
    ms: int,
) -> Holding:
    """Open a position or add to it; the entry becomes the size-weighted average."""
    if holding is None:
        return Holding(
            symbol=spec.symbol,
            side=side,
            size=size,
            entry_price=price,
            leverage=leverage,
            open_type=open_type,
            margin=margin(spec, size, price, leverage),
            realized_pnl=ZERO,
            opened_ms=ms,
            updated_ms=ms,
        )
    total = holding.size + size
    entry = ((holding.entry_price * holding.size + price * size) / total).quantize(PRICE)
    return replace(
        holding,
        size=total,
        entry_price=entry,
        margin=margin(spec, total, entry, holding.leverage),
        updated_ms=ms,
    )


def decrease(
    holding: Holding, spec: ContractSpec, size: Decimal, price: Decimal, *, ms: int
) -> tuple[Holding | None, Decimal]:
    """Close `size` contracts at `price`: the rest of the position (None when flat) and the PnL."""
    if size > holding.size:
        raise ValueError(f"cannot close {size} of a {holding.side} position of {holding.size}")
    realized = pnl(spec, holding.side, holding.entry_price, price, size)
    remaining = holding.size - size
    if remaining == 0:
        return None, realized
    rest = replace(
        holding,
        size=remaining,
        margin=margin(spec, remaining, holding.entry_price, holding.leverage),
        realized_pnl=holding.realized_pnl + realized,
        updated_ms=ms,
    )
    return rest, realized


def releverage(holding: Holding, spec: ContractSpec, leverage: int, ms: int) -> Holding:
    """The position margined at another leverage."""
    return replace(
        holding,
        leverage=leverage,
        margin=margin(spec, holding.size, holding.entry_price, leverage),
        updated_ms=ms,
    )


def position(holding: Holding, spec: ContractSpec, mark: Decimal) -> Position:
    """The port's view of a holding, marked at `mark`."""
    return Position(
        symbol=holding.symbol,
        side=holding.side,
        size=holding.size,
        entry_price=holding.entry_price,
        mark_price=mark,
        leverage=holding.leverage,
        open_type=holding.open_type,
        margin=holding.margin,
        unrealized_pnl=pnl(spec, holding.side, holding.entry_price, mark, holding.size),
        realized_pnl=holding.realized_pnl,
        # The paper exchange does not liquidate.
        liquidation_price=None,
        opened_ms=holding.opened_ms,
    )


def reserved(spec: ContractSpec, order: Order) -> Decimal:
    """Margin an open order holds back: its unfilled notional over its leverage.

    Closing orders and orders without a price or leverage reserve nothing.
    """
    if order.side.is_close or order.price is None or not order.leverage:
        return ZERO
    return margin(spec, order.size - order.filled_size, order.price, order.leverage)


def balance(
    currency: str, wallet: Decimal, positions: Iterable[Position], order_margin: Decimal
) -> Balance:
    """Equity = wallet + unrealized PnL; available = equity - margins, never below zero."""
    held = list(positions)
    unrealized = sum((p.unrealized_pnl for p in held), ZERO)
    position_margin = sum((p.margin for p in held), ZERO)
    equity = wallet + unrealized
    return Balance(
        currency=currency,
        equity=equity,
        available=max(ZERO, equity - position_margin - order_margin),
        position_margin=position_margin,
        order_margin=order_margin,
        unrealized_pnl=unrealized,
    )
