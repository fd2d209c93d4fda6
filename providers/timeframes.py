"""Candle timeframes and the arithmetic of candle boundaries (UTC, epoch milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

MINUTE_MS = 60_000


class Timeframe(StrEnum):
    """Timeframes the engine trades on. Values are the names used in profiles and files."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def minutes(self) -> int:
        return _MINUTES[self]

    @property
    def ms(self) -> int:
        return _MINUTES[self] * MINUTE_MS

    @classmethod
    def parse(cls, value: str | Timeframe) -> Timeframe:
        """Parse '5m', '1H', '4h'...; the error names the allowed values."""
        if isinstance(value, Timeframe):
            return value
        text = str(value).strip().lower()
        try:
            return cls(text)
        except ValueError:
            allowed = ", ".join(tf.value for tf in cls)
            raise ValueError(f"unknown timeframe {value!r}; allowed: {allowed}") from None

    def last_closed_open_ms(self, as_of_ms: int) -> int:
        """Open time of the newest candle fully closed at `as_of_ms`."""
        return (as_of_ms // self.ms) * self.ms - self.ms

    def floor_ms(self, ts_ms: int) -> int:
        return (ts_ms // self.ms) * self.ms


_MINUTES = {
    Timeframe.M1: 1,
    Timeframe.M5: 5,
    Timeframe.M15: 15,
    Timeframe.H1: 60,
    Timeframe.H4: 240,
    Timeframe.D1: 1440,
}

#: Order from the longest to the shortest timeframe.
DESCENDING = (Timeframe.D1, Timeframe.H4, Timeframe.H1, Timeframe.M15, Timeframe.M5, Timeframe.M1)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone (UTC)")
    return int(moment.timestamp() * 1000)


def from_ms(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def iso(ts_ms: int) -> str:
    """Compact ISO-8601 UTC text for a timestamp, e.g. 2023-08-01T12:00:00Z."""
    return from_ms(ts_ms).strftime("%Y-%m-%dT%H:%M:%SZ")
