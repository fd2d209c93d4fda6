"""The day-level process: regimes, daily volatility and the log price level at each UTC midnight.

Time starts at `ORIGIN_MS` (2020-01-01 UTC, the market's listing) and runs for `HORIZON_DAYS`.
Per symbol, each day carries:

* a regime from a persistent Markov chain: ranging, trending up or trending down; trends add a
  drift of `TREND_DRIFT` daily standard deviations in their direction, while a ranging day
  closes near its open (its shock is scaled by `RANGE_MOVE`);
* a volatility: the symbol's daily volatility, scaled by the regime and by exp of a log-AR(1)
  state, so calm and wild stretches of days cluster;
* a log level: the previous level plus drift plus a normal shock, pulled slowly back towards the
  symbol's base price (an Ornstein-Uhlenbeck pull), so prices stay on a recognisable scale.

Days are computed in epochs of `EPOCH_DAYS`; an epoch starts from the state its predecessor ends
in, so the process is one chain from the origin while memory holds only a few epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from providers.synthetic.numeric import FloatArray, ar1, stream
from providers.synthetic.universe import SymbolProfile

ORIGIN_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
DAY_MS = 86_400_000
HORIZON_DAYS = 7305  # 20 years
END_MS = ORIGIN_MS + HORIZON_DAYS * DAY_MS
EPOCH_DAYS = 256

DAILY_STREAM = 2

TREND_DRIFT = 0.7  # daily drift of a trend, in daily standard deviations
RANGE_MOVE = 0.5  # open-to-close move of a ranging day, in daily standard deviations
REGIME_VOL = (0.85, 1.15, 1.15)  # volatility multiplier per regime
STAY = (0.88, 0.8, 0.8)  # probability a regime lasts one more day
TREND_TO_RANGE = 0.65  # a trend that ends turns into a range (else into the opposite trend)
VOL_PERSISTENCE = 0.85  # AR(1) coefficient of the daily log-volatility state
VOL_OF_VOL = 0.30  # stationary standard deviation of that state
# Standard deviation of the level around log(base price) the pull aims at (before trends).
LEVEL_SPREAD = 0.15
LEVEL_SPREAD_PER_VOL = 1.0


class Regime(IntEnum):
    RANGING = 0
    TRENDING_UP = 1
    TRENDING_DOWN = 2


@dataclass(frozen=True)
class DayState:
    """What one epoch hands to the next."""

    deviation: float  # log level minus log(base price), at the start of the day
    vol_state: float
    regime: Regime


@dataclass(frozen=True, eq=False)
class Epoch:
    level: FloatArray  # EPOCH_DAYS + 1 log levels at successive midnights
    vol: FloatArray  # daily volatility of each day
    regime: npt.NDArray[np.int8]
    end: DayState


@dataclass(frozen=True)
class Day:
    """The inputs of one day's intraday path."""

    index: int
    level_open: float
    level_close: float
    vol: float
    regime: Regime


_ORIGIN = DayState(deviation=0.0, vol_state=0.0, regime=Regime.RANGING)


def day_index(ts_ms: int) -> int:
    return (ts_ms - ORIGIN_MS) // DAY_MS


def day(seed: int, profile: SymbolProfile, index: int) -> Day:
    """Day number `index` (0 = 2020-01-01) of `profile`'s symbol."""
    if not 0 <= index < HORIZON_DAYS:
        raise ValueError(f"day {index} is outside the synthetic horizon 0..{HORIZON_DAYS - 1}")
    k, i = divmod(index, EPOCH_DAYS)
    ep = epoch(seed, profile, k)
    return Day(
        index=index,
        level_open=float(ep.level[i]),
        level_close=float(ep.level[i + 1]),
        vol=float(ep.vol[i]),
        regime=Regime(int(ep.regime[i])),
    )


@lru_cache(maxsize=65536)
def epoch_start(seed: int, profile: SymbolProfile, k: int) -> DayState:
    return _ORIGIN if k == 0 else epoch(seed, profile, k - 1).end


@lru_cache(maxsize=2048)
def epoch(seed: int, profile: SymbolProfile, k: int) -> Epoch:
    """Days k*EPOCH_DAYS .. (k+1)*EPOCH_DAYS - 1 of the symbol."""
    start = epoch_start(seed, profile, k)
    rng = stream(seed, profile.key, DAILY_STREAM, k)
    n = EPOCH_DAYS
    regime = _regimes(start.regime, rng.random(n), rng.random(n))
    keep = math.sqrt(1.0 - VOL_PERSISTENCE**2) * VOL_OF_VOL
    g = ar1(VOL_PERSISTENCE, rng.standard_normal(n) * keep, start.vol_state)
    mult = np.asarray(REGIME_VOL)[regime]
    # exp(g - s^2) has mean square 1, so `daily_vol` stays the typical volatility.
    vol = profile.daily_vol * mult * np.exp(g - VOL_OF_VOL**2)
    direction = np.where(regime == Regime.TRENDING_UP, 1.0, 0.0) - np.where(
        regime == Regime.TRENDING_DOWN, 1.0, 0.0
    )
    drift = direction * TREND_DRIFT * vol
    spread = LEVEL_SPREAD + LEVEL_SPREAD_PER_VOL * profile.daily_vol
    pull = min(0.5, profile.daily_vol**2 / (2.0 * spread**2))
    move = np.where(regime == Regime.RANGING, RANGE_MOVE, 1.0)
    steps = drift + move * vol * rng.standard_normal(n)
    # deviation[i+1] = (1 - pull) * deviation[i] + steps[i]
    deviation = ar1(1.0 - pull, steps, start.deviation)
    level = np.empty(n + 1, dtype=np.float64)
    level[0] = profile.log_base + start.deviation
    level[1:] = profile.log_base + deviation
    end = DayState(
        deviation=float(deviation[-1]),
        vol_state=float(g[-1]),
        regime=Regime(int(regime[-1])),
    )
    return Epoch(level=level, vol=vol, regime=regime, end=end)


def _regimes(start: Regime, leave: FloatArray, choice: FloatArray) -> npt.NDArray[np.int8]:
    out = np.empty(len(leave), dtype=np.int8)
    r = int(start)
    for i, (u, c) in enumerate(zip(leave.tolist(), choice.tolist(), strict=True)):
        if u >= STAY[r]:
            if r == Regime.RANGING:
                r = Regime.TRENDING_UP if c < 0.5 else Regime.TRENDING_DOWN
            elif c < TREND_TO_RANGE:
                r = Regime.RANGING
            else:
                r = Regime.TRENDING_DOWN if r == Regime.TRENDING_UP else Regime.TRENDING_UP
        out[i] = r
    return out
