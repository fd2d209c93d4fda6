"""Prices the paper exchange sees: the finest stored timeframe of a symbol, closed at a moment."""

from __future__ import annotations

from decimal import Decimal

from providers.klines import KlineStore
from providers.paper.quotes import Bar, bars
from providers.port import NotFoundError
from providers.timeframes import DESCENDING, Timeframe, iso


class Prices:
    """Closed bars from the kline store, never one still forming at `now`."""

    def __init__(self, klines: KlineStore) -> None:
        self.klines = klines

    def finest(self, symbol: str) -> Timeframe | None:
        """The shortest timeframe with any stored candle of `symbol` (1m when there is one)."""
        for timeframe in reversed(DESCENDING):
            if self.klines.newest_open_ms(symbol, timeframe) is not None:
                return timeframe
        return None

    def last_bar(self, symbol: str, now: int) -> Bar:
        """The newest bar closed at `now`; `NotFoundError` when there is none."""
        timeframe = self.finest(symbol)
        if timeframe is not None:
            candles = self.klines.load(symbol, timeframe, as_of_ms=now, limit=1)
            if len(candles):
                return bars(candles)[-1]
        raise NotFoundError(f"no closed candle of {symbol} at {iso(now)}: no price to trade at")

    def mark(self, symbol: str, now: int) -> Decimal | None:
        """The last close at `now`, if any."""
        try:
            return self.last_bar(symbol, now).close
        except NotFoundError:
            return None

    def closed_since(self, symbol: str, start_ms: int, now: int) -> tuple[list[Bar], int | None]:
        """Bars opened at or after `start_ms` and closed at `now`; where the next walk starts."""
        timeframe = self.finest(symbol)
        if timeframe is None:
            return [], None
        end = timeframe.last_closed_open_ms(now) + 1
        if start_ms >= end:
            return [], None
        candles = self.klines.load_range(symbol, timeframe, start_ms, end)
        if not len(candles):
            return [], None
        return bars(candles), int(candles.open_time[-1]) + timeframe.ms
