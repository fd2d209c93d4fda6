"""Grouping consecutive candles by UTC calendar day."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from indicators._arrays import IntArray

DAY_MS = 86_400_000


class DayRuns(NamedTuple):
    """Runs of consecutive bars sharing a UTC day (times must be strictly increasing)."""

    day: IntArray  # UTC day number (days since 1970-01-01) of each run
    first: IntArray  # index of each run's first bar
    size: IntArray  # bars in each run


def day_runs(open_time_ms: IntArray) -> DayRuns:
    days = open_time_ms // DAY_MS  # floor division keeps pre-1970 days right too
    n = len(days)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return DayRuns(empty, empty, empty)
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(days[1:], days[:-1], out=starts[1:])
    first = np.flatnonzero(starts)
    size = np.diff(first, append=n)
    return DayRuns(day=days[first], first=first, size=size)
