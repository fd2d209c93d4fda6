"""Shared values of the rate-limit tests."""

from __future__ import annotations

from decimal import Decimal

from providers.types import ContractSpec

BTC_SPEC = ContractSpec(
    symbol="BTCUSDT",
    base_currency="BTC",
    quote_currency="USDT",
    tick_size=Decimal("0.1"),
    contract_size=Decimal("0.001"),
    volume_step=Decimal(1),
    min_volume=Decimal(1),
    max_volume=Decimal(500000),
    market_max_volume=Decimal(200000),
    min_leverage=1,
    max_leverage=100,
    last_price=Decimal(60000),
    index_price=Decimal(60000),
)
