"""Test markets: what an adapter needs to be driven by the contract suite.

A market seeds contracts and candles where its adapter reads them, owns the adapter's clock
and can restart the adapter on the same state. Adapter-specific setup lives here only.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Engine, create_engine

from infra.db import get_engine
from infra.models import Base
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.paper import PaperExchange
from providers.port import Exchange
from providers.timeframes import Timeframe
from providers.types import ContractSpec

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = Timeframe.M1.ms

OHLC = tuple[float, float, float, float]


def btc_spec(**changes: object) -> ContractSpec:
    """A BTCUSDT-like contract: tick 0.1, 0.001 BTC per contract, 1..1000 contracts."""
    spec = ContractSpec(
        symbol="BTCUSDT",
        base_currency="BTC",
        quote_currency="USDT",
        tick_size=Decimal("0.1"),
        contract_size=Decimal("0.001"),
        volume_step=Decimal(1),
        min_volume=Decimal(1),
        max_volume=Decimal(1000),
        market_max_volume=Decimal(500),
        min_leverage=1,
        max_leverage=100,
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


class Market(Protocol):
    """What the contract suite needs from an adapter's surroundings."""

    adapter: str
    exchange: Exchange
    initial_balance: Decimal
    maker_fee: Decimal
    taker_fee: Decimal

    def now(self) -> int: ...

    def advance(self, ms: int) -> None: ...

    def list(self, spec: ContractSpec) -> None: ...

    def put(self, symbol: str, timeframe: Timeframe, open_ms: int, ohlc: OHLC) -> None: ...

    def history(self, symbol: str, price: float, minutes: int = 30) -> None: ...

    def play(self, symbol: str, *bars: OHLC) -> None: ...

    def restart(self) -> Exchange: ...

    def close(self) -> None: ...


class PaperMarket:
    """Seeds the contract and kline stores the paper exchange reads; owns its clock."""

    adapter = "paper"
    initial_balance = Decimal(1000)
    maker_fee = Decimal("0.0002")
    taker_fee = Decimal("0.0006")
    volume = 250.0

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        self._now = T0
        self._engines: list[Engine] = []
        _wipe(self.engine)
        self.exchange: Exchange = self._build(self.engine)

    def _build(self, engine: Engine) -> PaperExchange:
        return PaperExchange(
            engine,
            clock=self.now,
            initial_balance=self.initial_balance,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            slippage_bps=Decimal(0),
            spread_bps=Decimal(2),
        )

    def now(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms

    def list(self, spec: ContractSpec) -> None:
        ContractStore(self.engine).upsert(spec, source="synthetic")

    def put(self, symbol: str, timeframe: Timeframe, open_ms: int, ohlc: OHLC) -> None:
        row = (open_ms, *ohlc, self.volume)
        KlineStore(self.engine).upsert(Candles.from_rows(symbol, timeframe, [row]))

    def history(self, symbol: str, price: float, minutes: int = 30) -> None:
        """Flat one-minute candles at `price` closing at the clock."""
        start = Timeframe.M1.floor_ms(self._now) - minutes * MINUTE
        flat = (price, price, price, price, self.volume)
        rows = [(start + i * MINUTE, *flat) for i in range(minutes)]
        KlineStore(self.engine).upsert(Candles.from_rows(symbol, Timeframe.M1, rows))

    def play(self, symbol: str, *bars: OHLC) -> None:
        """One-minute candles from the clock's minute on; the clock ends when the last closes."""
        start = Timeframe.M1.floor_ms(self._now)
        rows = [(start + i * MINUTE, *bar, self.volume) for i, bar in enumerate(bars)]
        KlineStore(self.engine).upsert(Candles.from_rows(symbol, Timeframe.M1, rows))
        self._now = start + len(bars) * MINUTE

    def restart(self) -> Exchange:
        """A new adapter on a new connection pool over the same database."""
        engine = create_engine(self.url)
        self._engines.append(engine)
        return self._build(engine)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
