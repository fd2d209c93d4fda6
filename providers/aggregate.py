"""Candles of a longer timeframe from a shorter one (pure): open of the first, highest high,
lowest low, close of the last, summed volume, for complete buckets only.

On Bitmart's own candles this equals the exchange's longer timeframe exactly (1m → 5m → 15m →
1h → 4h; `tests/providers/test_aggregate.py` checks it on real data), which is why the stream
subscribes one-minute candles only and derives the rest.
"""

from __future__ import annotations

import numpy as np

from providers.candles import Candles
from providers.timeframes import Timeframe

#: The timeframe each longer one is built from (each divides the next).
SOURCE_OF = {
    Timeframe.M5: Timeframe.M1,
    Timeframe.M15: Timeframe.M5,
    Timeframe.H1: Timeframe.M15,
    Timeframe.H4: Timeframe.H1,
    Timeframe.D1: Timeframe.H4,
}


def aggregate(candles: Candles, timeframe: Timeframe) -> Candles:
    """The `timeframe` candles whose every shorter candle is in `candles` (sorted, any holes)."""
    step = candles.timeframe.ms
    if timeframe.ms % step or timeframe.ms <= step:
        raise ValueError(f"cannot build {timeframe} candles from {candles.timeframe} candles")
    if not len(candles):
        return Candles.empty(candles.symbol, timeframe)
    per = timeframe.ms // step
    buckets = candles.open_time // timeframe.ms
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    counts = np.diff(np.r_[starts, len(buckets)])
    complete = starts[counts == per]
    if not len(complete):
        return Candles.empty(candles.symbol, timeframe)
    last = complete + per - 1
    rows = np.column_stack(
        [
            buckets[complete] * timeframe.ms,
            candles.open[complete],
            np.maximum.reduceat(candles.high, starts)[counts == per],
            np.minimum.reduceat(candles.low, starts)[counts == per],
            candles.close[last],
            np.add.reduceat(candles.volume, starts)[counts == per],
        ]
    )
    return Candles.from_rows(candles.symbol, timeframe, rows)
