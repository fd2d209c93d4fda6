"""Market data for decisions: closed candles from the store, topped up from a source.

The store is read first. Only when it lacks the newest closed candle (or holds too few, or has
holes) is the symbol's source asked, and only for what is missing: once warm, one request per
(symbol, timeframe) whose candle has just closed. What it returns is stored. Symbols without a
source (imported candles) are served from the store as they are, and the caller sees the gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from providers.candles import Candles
from providers.klines import KlineStore
from providers.timeframes import Timeframe


class CandleSource(Protocol):
    """Somewhere closed candles can be fetched from (synthetic market, an exchange)."""

    def covers(self, symbol: str) -> bool: ...

    def candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        """Closed candles with open time in [start_ms, end_ms)."""
        ...


def merge(old: Candles, new: Candles) -> Candles:
    """Union of two blocks of the same series, `new` winning on equal open times."""
    if not len(old):
        return new
    if not len(new):
        return old
    times = np.concatenate([old.open_time, new.open_time])
    order = np.argsort(times, kind="stable")
    rows = np.column_stack(
        [
            times,
            np.concatenate([old.open, new.open]),
            np.concatenate([old.high, new.high]),
            np.concatenate([old.low, new.low]),
            np.concatenate([old.close, new.close]),
            np.concatenate([old.volume, new.volume]),
        ]
    )[order]
    # keep the last occurrence of each open time (the `new` one, stable sort)
    keep = np.append(rows[1:, 0] != rows[:-1, 0], True)
    return Candles.from_rows(old.symbol, old.timeframe, rows[keep])


def missing_range(
    candles: Candles, timeframe: Timeframe, expected: int, limit: int, holes: bool
) -> tuple[int, int]:
    """[start, end) of open times to fetch so the window of `limit` candles ending at `expected`
    is complete: once warm, only what closed since the last read; with holes, all of it."""
    first_needed = expected - (limit - 1) * timeframe.ms
    whole = (first_needed, expected + timeframe.ms)
    if holes or not len(candles) or candles.last_open_ms is None:
        return whole
    first, last = int(candles.open_time[0]), candles.last_open_ms
    if first <= first_needed:
        return last + timeframe.ms, expected + timeframe.ms
    if last == expected:
        return first_needed, first  # only older history is missing
    return whole


def has_holes(candles: Candles) -> bool:
    """True when consecutive candles are not one timeframe apart."""
    return len(candles) > 1 and bool(np.any(np.diff(candles.open_time) != candles.timeframe.ms))


class MarketData:
    def __init__(self, store: KlineStore, sources: Iterable[CandleSource] = ()) -> None:
        self.store = store
        self.sources = list(sources)

    def source_for(self, symbol: str) -> CandleSource | None:
        return next((s for s in self.sources if s.covers(symbol)), None)

    def stored_window(
        self, symbols: list[str], timeframe: Timeframe, as_of_ms: int, limit: int
    ) -> dict[str, Candles]:
        """What the store holds for several symbols, in one read (no top-up): hand each
        symbol's block to `closed_candles(..., stored=...)`."""
        return self.store.load_window(symbols, timeframe, as_of_ms=as_of_ms, limit=limit)

    def closed_candles(
        self,
        symbol: str,
        timeframe: Timeframe,
        as_of_ms: int,
        limit: int,
        *,
        stored: Candles | None = None,
    ) -> Candles:
        """The newest `limit` candles closed at `as_of_ms` (fewer if none can be had).
        `stored` is what the store holds, when the caller already read it."""
        given = stored is not None
        if stored is None:
            stored = self.store.load(symbol, timeframe, as_of_ms=as_of_ms, limit=limit)
        candles = stored
        expected = timeframe.last_closed_open_ms(as_of_ms)
        holes = has_holes(candles)
        if candles.last_open_ms == expected and len(candles) >= limit and not holes:
            return candles
        source = self.source_for(symbol)
        if source is None:
            if given:
                # The shared window read only covers the expected bars: read what there is,
                # so the caller can say how stale it is.
                return self.store.load(symbol, timeframe, as_of_ms=as_of_ms, limit=limit)
            return candles
        start, end = missing_range(candles, timeframe, expected, limit, holes)
        fetched = source.candles(symbol, timeframe, start, end)
        if len(fetched):
            self.store.upsert(fetched)
            candles = merge(candles, fetched).until(as_of_ms).tail(limit)
        return candles
