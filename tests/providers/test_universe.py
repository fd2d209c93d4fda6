from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from providers.types import ContractSpec
from providers.universe import HOUR_MS, UniverseFilter, select_universe

NOW = 1_750_000_000_000


def spec(
    symbol: str,
    turnover: float | None,
    *,
    age_h: float = 2000,
    quote: str = "USDT",
    status: str = "Trading",
    expires_in_h: float | None = None,
) -> ContractSpec:
    return ContractSpec(
        symbol=symbol,
        base_currency=symbol.removesuffix(quote),
        quote_currency=quote,
        tick_size=Decimal("0.01"),
        contract_size=Decimal(1),
        volume_step=Decimal(1),
        min_volume=Decimal(1),
        max_volume=Decimal(1000),
        market_max_volume=Decimal(1000),
        min_leverage=1,
        max_leverage=50,
        status=status,
        open_timestamp_ms=int(NOW - age_h * HOUR_MS),
        expire_timestamp_ms=int(NOW + expires_in_h * HOUR_MS) if expires_in_h else 0,
        turnover_24h=None if turnover is None else Decimal(str(turnover)),
    )


RULES = UniverseFilter(min_turnover=Decimal(8_000_000), top_n=2, min_age_hours=880)


def test_filters_and_order() -> None:
    specs = [
        spec("AUSDT", 9e6),
        spec("BUSDT", 5e8),
        spec("CUSDT", 2e7),
        spec("LOWUSDT", 1e6),
        spec("NEWUSDT", 9e9, age_h=100),
        spec("DEADUSDT", 9e9, status="Delisted"),
        spec("BTCUSD", 9e9, quote="USD"),
        spec("SOONUSDT", 9e9, expires_in_h=3),
        spec("NOSTATUSDT", None),
    ]
    chosen, excluded = select_universe(specs, RULES, NOW)
    assert chosen == ["BUSDT", "CUSDT"]  # most liquid first, top 2
    reasons = {e.symbol: e.reason for e in excluded}
    assert reasons["AUSDT"] == "outside the top 2 by 24h turnover"
    assert reasons["LOWUSDT"] == "24h turnover 1000000 below 8000000"
    assert reasons["NEWUSDT"] == "listed 100 h ago, under 880 h"
    assert reasons["DEADUSDT"] == "status Delisted"
    assert reasons["BTCUSD"] == "quote USD, not USDT"
    assert reasons["SOONUSDT"] == "expires in 3 h"
    assert reasons["NOSTATUSDT"] == "no 24h turnover known"
    assert len(chosen) + len(excluded) == len(specs)


def test_no_statistics_needed_without_those_filters() -> None:
    plain = UniverseFilter()
    chosen, excluded = select_universe(
        [spec("AUSDT", None), replace(spec("BUSDT", 1.0))], plain, NOW
    )
    assert chosen == ["BUSDT", "AUSDT"] and excluded == []
