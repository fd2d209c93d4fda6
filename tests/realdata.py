"""Real candles for tests (Binance USD-M futures, July-August 2023) and an in-memory kline store
that answers the reads a live decision makes, the way the database store does."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from providers.candles import Candles
from providers.importer import parse_file
from providers.timeframes import Timeframe
from tests.conftest import klines_file

FOLDER = "binance-usdm-futures_2023-07"


@cache
def real_candles(symbol: str, tf: Timeframe) -> Candles:
    return parse_file(klines_file(FOLDER, f"{symbol}-{tf.value}.csv")).candles


class ArrayStore:
    """`KlineStore.load` / `load_window` over candles held in memory."""

    def __init__(self, blocks: dict[tuple[str, Timeframe], Candles]) -> None:
        self.blocks = blocks
        self.reads: list[tuple[str, Timeframe, int]] = []

    def _block(self, symbol: str, timeframe: Timeframe) -> Candles:
        return self.blocks.get((symbol, timeframe)) or Candles.empty(symbol, timeframe)

    def load(self, symbol: str, timeframe: Timeframe, *, as_of_ms: int, limit: int) -> Candles:
        self.reads.append((symbol, timeframe, limit))
        return self._block(symbol, timeframe).until(as_of_ms).tail(limit)

    def load_window(
        self, symbols: Sequence[str], timeframe: Timeframe, *, as_of_ms: int, limit: int
    ) -> dict[str, Candles]:
        first = timeframe.last_closed_open_ms(as_of_ms) - (limit - 1) * timeframe.ms
        out = {}
        for symbol in symbols:
            block = self._block(symbol, timeframe).until(as_of_ms)
            start = int(block.open_time.searchsorted(first))
            out[symbol] = block.window(start, len(block))
            self.reads.append((symbol, timeframe, limit))
        return out
