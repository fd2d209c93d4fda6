"""`Candles`: an immutable column-oriented block of closed OHLCV candles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from providers.timeframes import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class CandleDataError(ValueError):
    """Candles that cannot be trusted (unordered, gaps in alignment, impossible prices)."""


@dataclass(frozen=True, eq=False)
class Candles:
    """Closed candles of one symbol and timeframe, oldest first.

    Arrays are read-only so the object can be shared between indicator calls safely.
    """

    symbol: str
    timeframe: Timeframe
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.open_time)
        for name in ("open", "high", "low", "close", "volume"):
            arr = getattr(self, name)
            if len(arr) != n:
                raise CandleDataError(
                    f"{self.symbol} {self.timeframe}: column {name} has "
                    f"{len(arr)} values, open_time has {n}"
                )
        for name in ("open_time", "open", "high", "low", "close", "volume"):
            getattr(self, name).setflags(write=False)

    @classmethod
    def from_rows(
        cls,
        symbol: str,
        timeframe: Timeframe,
        rows: list[tuple[float, ...]] | npt.NDArray[np.float64],
    ) -> Candles:
        """Build from rows (open_time_ms, open, high, low, close, volume), oldest first."""
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(
            symbol=symbol,
            timeframe=timeframe,
            open_time=arr[:, 0].astype(np.int64),
            open=np.ascontiguousarray(arr[:, 1]),
            high=np.ascontiguousarray(arr[:, 2]),
            low=np.ascontiguousarray(arr[:, 3]),
            close=np.ascontiguousarray(arr[:, 4]),
            volume=np.ascontiguousarray(arr[:, 5]),
        )

    @classmethod
    def empty(cls, symbol: str, timeframe: Timeframe) -> Candles:
        return cls.from_rows(symbol, timeframe, np.empty((0, 6)))

    def __len__(self) -> int:
        return len(self.open_time)

    @property
    def last_open_ms(self) -> int | None:
        return int(self.open_time[-1]) if len(self) else None

    def tail(self, n: int) -> Candles:
        """The newest `n` candles."""
        if n >= len(self):
            return self
        s = slice(len(self) - n, None)
        return self._slice(s)

    def window(self, start: int, stop: int) -> Candles:
        """The candles at indices [start, stop) (views, no copy)."""
        return self._slice(slice(start, stop))

    def until(self, as_of_ms: int) -> Candles:
        """Only candles fully closed at `as_of_ms`."""
        cutoff = as_of_ms - self.timeframe.ms
        end = int(np.searchsorted(self.open_time, cutoff, side="right"))
        return self if end == len(self) else self._slice(slice(0, end))

    def _slice(self, s: slice) -> Candles:
        return Candles(
            self.symbol,
            self.timeframe,
            self.open_time[s],
            self.open[s],
            self.high[s],
            self.low[s],
            self.close[s],
            self.volume[s],
        )

    def rows(self) -> list[tuple[int, float, float, float, float, float]]:
        return [
            (int(t), float(o), float(h), float(lo), float(c), float(v))
            for t, o, h, lo, c, v in zip(
                self.open_time,
                self.open,
                self.high,
                self.low,
                self.close,
                self.volume,
                strict=True,
            )
        ]

    def validate(self) -> None:
        """Raise `CandleDataError` naming the first bad candle, if any."""
        if not len(self):
            return
        where = f"{self.symbol} {self.timeframe}"
        step = self.timeframe.ms
        if np.any(self.open_time % step):
            bad = int(self.open_time[np.argmax(self.open_time % step != 0)])
            raise CandleDataError(f"{where}: open time {bad} is not aligned to {self.timeframe}")
        diffs = np.diff(self.open_time)
        if np.any(diffs <= 0):
            i = int(np.argmax(diffs <= 0)) + 1
            raise CandleDataError(f"{where}: open times not strictly increasing at row {i}")
        cols = np.vstack([self.open, self.high, self.low, self.close, self.volume])
        if not np.all(np.isfinite(cols)):
            i = int(np.argmax(~np.all(np.isfinite(cols), axis=0)))
            raise CandleDataError(f"{where}: non-numeric value in candle {i}")
        checks = (
            (self.open <= 0) | (self.high <= 0) | (self.low <= 0) | (self.close <= 0),
            self.high < np.maximum(self.open, self.close),
            self.low > np.minimum(self.open, self.close),
            self.volume < 0,
        )
        messages = (
            "non-positive price",
            "high below open/close",
            "low above open/close",
            "negative volume",
        )
        for mask, message in zip(checks, messages, strict=True):
            if np.any(mask):
                i = int(np.argmax(mask))
                raise CandleDataError(
                    f"{where}: {message} in candle {i} (open time {int(self.open_time[i])})"
                )
