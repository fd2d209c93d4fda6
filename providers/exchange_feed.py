"""An exchange as a candle source: the symbols whose contracts were synced from it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from providers.candles import Candles
from providers.contracts import ContractStore
from providers.port import Exchange
from providers.timeframes import Timeframe

_REFRESH_S = 60.0


class ExchangeFeed:
    """Closed candles from `exchange` for contracts whose stored source is its name.

    The exchange is opened on first use (a feed that is never asked costs nothing)."""

    def __init__(
        self, name: str, open_exchange: Callable[[], Exchange], contracts: ContractStore
    ) -> None:
        self.name = name
        self._open = open_exchange
        self._exchange: Exchange | None = None
        self.contracts = contracts
        self._symbols: frozenset[str] = frozenset()
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    @property
    def exchange(self) -> Exchange:
        with self._lock:
            if self._exchange is None:
                self._exchange = self._open()
            return self._exchange

    def covers(self, symbol: str) -> bool:
        with self._lock:
            if time.monotonic() - self._loaded_at > _REFRESH_S:
                self._symbols = frozenset(self.contracts.by_source().get(self.name, []))
                self._loaded_at = time.monotonic()
            return symbol in self._symbols

    def candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        return self.exchange.klines(symbol, timeframe, start_ms, end_ms)
