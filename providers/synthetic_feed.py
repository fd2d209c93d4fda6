"""The synthetic market as a candle source and a contract universe for the paper exchange."""

from __future__ import annotations

import threading
import time

from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.synthetic import SyntheticMarket
from providers.timeframes import Timeframe

SOURCE = "synthetic"
_REFRESH_S = 30.0


class SyntheticFeed:
    """Serves candles of the symbols whose stored contract is synthetic."""

    def __init__(self, seed: int, contracts: ContractStore) -> None:
        self.market = SyntheticMarket(seed)
        self.contracts = contracts
        self._symbols: frozenset[str] = frozenset()
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _known(self) -> frozenset[str]:
        with self._lock:
            if time.monotonic() - self._loaded_at > _REFRESH_S:
                self._symbols = frozenset(self.contracts.by_source().get(SOURCE, []))
                self._loaded_at = time.monotonic()
            return self._symbols

    def covers(self, symbol: str) -> bool:
        if symbol in self._known():
            return True
        with self._lock:
            self._loaded_at = 0.0  # a symbol may have been added since the last look
        return symbol in self._known()

    def candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        return self.market.candles(symbol, timeframe, start_ms, end_ms)

    def ensure_universe(self, count: int) -> list[str]:
        """Create `count` synthetic contracts when the contract store is empty."""
        if self.contracts.count():
            return []
        symbols = self.market.universe(count)
        for symbol in symbols:
            self.contracts.upsert(self.market.spec(symbol), source=SOURCE)
        with self._lock:
            self._loaded_at = 0.0
        return symbols

    def prefill(
        self,
        store: KlineStore,
        symbols: list[str],
        timeframes: list[Timeframe],
        bars: int,
        as_of_ms: int,
    ) -> int:
        """Store `bars` closed candles per symbol and timeframe, up to `as_of_ms`."""
        written = 0
        for symbol in symbols:
            for tf in timeframes:
                last = tf.last_closed_open_ms(as_of_ms)
                written += store.upsert(
                    self.market.candles(symbol, tf, last - (bars - 1) * tf.ms, last + tf.ms)
                )
        return written
