"""Order requests used across the contract suite."""

from __future__ import annotations

from decimal import Decimal

from providers.types import OrderMode, OrderRequest, OrderSide, OrderType

SYMBOL = "BTCUSDT"


def limit(
    side: OrderSide,
    size: int | str,
    price: str,
    *,
    symbol: str = SYMBOL,
    mode: OrderMode = OrderMode.GTC,
    client_order_id: str | None = None,
    take_profit: str | None = None,
    stop_loss: str | None = None,
    leverage: int | None = None,
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT,
        size=Decimal(size),
        price=Decimal(price),
        mode=mode,
        client_order_id=client_order_id,
        leverage=leverage,
        preset_take_profit=None if take_profit is None else Decimal(take_profit),
        preset_stop_loss=None if stop_loss is None else Decimal(stop_loss),
    )


def at_market(
    side: OrderSide,
    size: int | str,
    *,
    symbol: str = SYMBOL,
    client_order_id: str | None = None,
    take_profit: str | None = None,
    stop_loss: str | None = None,
    leverage: int | None = None,
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=OrderType.MARKET,
        size=Decimal(size),
        client_order_id=client_order_id,
        leverage=leverage,
        preset_take_profit=None if take_profit is None else Decimal(take_profit),
        preset_stop_loss=None if stop_loss is None else Decimal(stop_loss),
    )
