"""A paper exchange on a temporary SQLite database, with its clock and candles in hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from infra.db import ensure_schema, get_engine
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.paper import PaperExchange
from providers.timeframes import Timeframe

from .factory import MINUTE, SPEC, T0

OHLC = tuple[float, float, float, float]


class Venue:
    """Owns the clock; seeds BTCUSDT with flat history at 40000 closing at T0."""

    def __init__(self, url: str) -> None:
        ensure_schema(url)
        self.engine: Engine = get_engine(url)
        self.now = T0
        ContractStore(self.engine).upsert(SPEC, source="synthetic")
        flat = (40_000.0, 40_000.0, 40_000.0, 40_000.0)
        self.candles(T0 - 30 * MINUTE, *[flat] * 30)

    def exchange(self, **options: Any) -> PaperExchange:
        settings: dict[str, Any] = {
            "initial_balance": Decimal(1000),
            "maker_fee": Decimal("0.0002"),
            "taker_fee": Decimal("0.0006"),
            "slippage_bps": Decimal(10),
            "spread_bps": Decimal(2),
        }
        settings.update(options)
        return PaperExchange(self.engine, clock=self.clock, **settings)

    def clock(self) -> int:
        return self.now

    def candles(self, start_ms: int, *bars: OHLC, volume: float = 100.0) -> None:
        rows = [(start_ms + i * MINUTE, *bar, volume) for i, bar in enumerate(bars)]
        KlineStore(self.engine).upsert(Candles.from_rows(SPEC.symbol, Timeframe.M1, rows))

    def play(self, *bars: OHLC) -> None:
        """Candles from the clock's minute on; the clock ends when the last one closes."""
        start = Timeframe.M1.floor_ms(self.now)
        self.candles(start, *bars)
        self.now = start + len(bars) * MINUTE
