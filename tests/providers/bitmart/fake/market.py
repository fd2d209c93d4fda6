"""`BitmartFakeMarket`: the contract suite's `Market` for a Bitmart adapter over the fake.

The market seeds the fake's stores and owns its market clock; the adapter under test comes
from a factory, so the suite can run any client against the same fake:

    factory(endpoint, credentials, clock) -> Exchange

`endpoint` is an `httpx.MockTransport` (in-process) or the base URL of the served fake;
`clock` is the market clock in epoch ms, the "now" by which the client tells a closed candle
from the forming one. Prices and money settings are the paper market's, so the suite's
expected numbers hold.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from decimal import Decimal

import httpx
from sqlalchemy import Engine

from infra.models import Base
from providers.candles import Candles
from providers.port import Exchange
from providers.timeframes import Timeframe
from providers.types import ContractSpec

from .credentials import TEST_CREDENTIALS, Credentials
from .server import FakeBitmart
from .venue import Terms

#: Where the contract suite's clock starts (2024-01-01T00:00:00Z), as for the paper market.
T0 = 1_704_067_200_000
MINUTE = Timeframe.M1.ms

OHLC = tuple[float, float, float, float]
Endpoint = str | httpx.BaseTransport
Clock = Callable[[], int]
ExchangeFactory = Callable[[Endpoint, Credentials, Clock], Exchange]


class BitmartFakeMarket:
    """Seeds the fake Bitmart, owns its market clock, builds clients with `factory`."""

    adapter = "bitmart"
    initial_balance = Decimal(1000)
    maker_fee = Decimal("0.0002")
    taker_fee = Decimal("0.0006")
    volume = 250.0

    def __init__(
        self,
        url: str,
        factory: ExchangeFactory,
        *,
        served: bool = False,
        rate_limits: bool = True,
        credentials: Credentials = TEST_CREDENTIALS,
    ) -> None:
        terms = Terms(
            initial_balance=self.initial_balance,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            slippage_bps=Decimal(0),
            spread_bps=Decimal(2),
        )
        self.fake = FakeBitmart(
            url, start_ms=T0, credentials=(credentials,), terms=terms, rate_limits=rate_limits
        )
        _wipe(self.fake.engine)
        self.credentials = credentials
        self.factory = factory
        self._stack = ExitStack()
        self.base_url = self._stack.enter_context(self.fake.serve()) if served else None
        self.exchange: Exchange = self._client()

    def _client(self) -> Exchange:
        endpoint: Endpoint = self.base_url if self.base_url is not None else self.fake.transport()
        return self.factory(endpoint, self.credentials, self.now)

    def now(self) -> int:
        return self.fake.now()

    def advance(self, ms: int) -> None:
        self.fake.advance(ms)

    def list(self, spec: ContractSpec) -> None:
        self.fake.list_contract(spec)

    def put(self, symbol: str, timeframe: Timeframe, open_ms: int, ohlc: OHLC) -> None:
        row: tuple[float, ...] = (open_ms, *ohlc, self.volume)
        self.fake.put_candles(Candles.from_rows(symbol, timeframe, [row]))

    def history(self, symbol: str, price: float, minutes: int = 30) -> None:
        """Flat one-minute candles at `price` closing at the clock."""
        start = Timeframe.M1.floor_ms(self.now()) - minutes * MINUTE
        flat = (price, price, price, price, self.volume)
        rows: list[tuple[float, ...]] = [(start + i * MINUTE, *flat) for i in range(minutes)]
        self.fake.put_candles(Candles.from_rows(symbol, Timeframe.M1, rows))

    def play(self, symbol: str, *bars: OHLC) -> None:
        """One-minute candles from the clock's minute on; the clock ends when the last closes."""
        start = Timeframe.M1.floor_ms(self.now())
        rows: list[tuple[float, ...]] = [
            (start + i * MINUTE, *bar, self.volume) for i, bar in enumerate(bars)
        ]
        self.fake.put_candles(Candles.from_rows(symbol, Timeframe.M1, rows))
        self.fake.set_time(start + len(bars) * MINUTE)

    def restart(self) -> Exchange:
        """A new client on the same exchange: a fresh transport, or the same served URL."""
        return self._client()

    def close(self) -> None:
        self._stack.close()
        self.fake.close()


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
