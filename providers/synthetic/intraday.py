"""One UTC day of one-minute bars, from the day's opening level to its closing level.

The path is built from minute log-returns with

* Student-t shocks (fat tails) scaled by a minute-level log-AR(1) volatility state (clustering);
* an intraday volatility and volume profile: busier around 00:00, 08:00 and 13:30-16:00 UTC,
  with a little extra at the start of each hour and quarter hour;
* short trend segments whose direction leans towards the day's regime, and on ranging days a
  pull back towards the day's open (an AR(1) level), so the day chops instead of wandering;
* a bridge correction, spread in proportion to each minute's variance, so the path ends exactly
  at the next day's opening level and consecutive days join without a gap.

Prices are kept as whole numbers of ticks and volumes as whole contracts (int32), which makes
cached days small and aggregation exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from providers.synthetic.daily import Day, Regime, day
from providers.synthetic.numeric import FloatArray, ar1, stream
from providers.synthetic.universe import SymbolProfile

MINUTES = 1440
INTRADAY_STREAM = 3

T_DOF = 4.0  # degrees of freedom of the shocks: fat tails, finite variance
MINUTE_VOL_PERSISTENCE = 0.97
MINUTE_VOL_OF_VOL = 0.55
WICK = 0.6  # wick length in minute standard deviations (times a half-normal draw)
RANGE_REVERSION = 0.995  # AR(1) coefficient of a ranging day's minute level (~2 h half-life)
SEGMENT_MINUTES = 45  # mean length of a short trend segment
SEGMENT_DRIFT = (0.05, 0.30)  # segment drift per minute, in minute standard deviations
# Probabilities of a segment going down / flat / up, by regime (ranging, up, down).
SEGMENT_SIGNS = ((0.3, 0.4, 0.3), (0.15, 0.35, 0.5), (0.5, 0.35, 0.15))
_MAX_SEGMENTS = 128
VOLUME_NOISE = 0.45  # sd of the lognormal volume noise
VOLUME_VOL_ELASTICITY = 0.7  # volume grows as (volatility state) ** this
_INT32_MAX = np.iinfo(np.int32).max
# E|shock| of the unit-variance Student-t shocks.
_MEAN_ABS_SHOCK = (
    math.sqrt((T_DOF - 2.0) / T_DOF)
    * 2.0
    * math.sqrt(T_DOF)
    * math.gamma((T_DOF + 1.0) / 2.0)
    / (math.sqrt(math.pi) * (T_DOF - 1.0) * math.gamma(T_DOF / 2.0))
)

Int32Array = npt.NDArray[np.int32]


def _intraday_profiles() -> tuple[FloatArray, FloatArray]:
    hour = np.arange(MINUTES, dtype=np.float64) / 60.0

    def bump(center: float, width: float) -> FloatArray:
        distance = (hour - center + 12.0) % 24.0 - 12.0
        return np.exp(-0.5 * (distance / width) ** 2)

    us_session = 1.0 / (1.0 + np.exp(-(hour - 13.5) / 0.15)) / (1.0 + np.exp((hour - 16.0) / 0.4))
    minute = np.arange(MINUTES)
    vol = (
        0.75
        + 0.45 * bump(0.0, 1.0)
        + 0.30 * bump(8.0, 0.8)
        + 0.60 * us_session
        + 0.15 * bump(20.0, 1.5)
        + 0.25 * (minute % 60 == 0)
        + 0.10 * (minute % 15 == 0)
    )
    vol /= math.sqrt(float(np.mean(vol**2)))
    volume = vol**1.3
    volume /= float(np.mean(volume))
    vol.setflags(write=False)
    volume.setflags(write=False)
    return vol, volume


#: Relative volatility (mean square 1) and volume (mean 1) of each minute of the UTC day.
VOL_PROFILE, VOLUME_PROFILE = _intraday_profiles()


@dataclass(frozen=True, eq=False)
class DayBars:
    """One day of 1m bars in ticks and contracts; `close[i]` closes minute i-1, `close[0]` is
    the day's open."""

    close: Int32Array  # MINUTES + 1 values
    high: Int32Array
    low: Int32Array
    contracts: Int32Array

    @property
    def open(self) -> Int32Array:
        return self.close[:-1]


@lru_cache(maxsize=1024)
def day_bars(seed: int, profile: SymbolProfile, index: int) -> DayBars:
    """The 1m bars of day `index` (0 = 2020-01-01) of `profile`'s symbol."""
    d = day(seed, profile, index)
    rng = stream(seed, profile.key, INTRADAY_STREAM, index)
    base = d.vol / math.sqrt(MINUTES)  # typical minute volatility of the day
    mult = _volatility_state(rng)
    sigma = base * VOL_PROFILE * mult
    shocks = rng.standard_t(T_DOF, MINUTES) * math.sqrt((T_DOF - 2.0) / T_DOF)
    steps = sigma * shocks + _segment_drift(rng, d.regime) * base * VOL_PROFILE
    level = _bridged_levels(steps, sigma, d)

    tick = float(profile.tick_size)
    close = np.maximum(np.rint(np.exp(level) / tick), 1.0)
    top = np.maximum(close[:-1], close[1:])
    bottom = np.minimum(close[:-1], close[1:])
    high = np.floor(top * np.exp(WICK * sigma * np.abs(rng.standard_normal(MINUTES))))
    low = np.ceil(bottom * np.exp(-WICK * sigma * np.abs(rng.standard_normal(MINUTES))))

    per_minute = profile.turnover_per_minute / (np.exp(level[:-1]) * float(profile.contract_size))
    activity = (
        (0.4 + 0.6 * np.abs(shocks) / _MEAN_ABS_SHOCK)
        * mult**VOLUME_VOL_ELASTICITY
        / _mean_power(VOLUME_VOL_ELASTICITY, MINUTE_VOL_OF_VOL)
        * (d.vol / profile.daily_vol)
    )
    noise = np.exp(VOLUME_NOISE * rng.standard_normal(MINUTES) - 0.5 * VOLUME_NOISE**2)
    contracts = np.rint(per_minute * VOLUME_PROFILE * activity * noise)

    return DayBars(
        close=_int32(close),
        high=_int32(high),
        low=_int32(np.maximum(low, 1.0)),
        contracts=_int32(contracts),
    )


def _volatility_state(rng: np.random.Generator) -> FloatArray:
    """Minute volatility multipliers with mean square 1, clustered by a log-AR(1)."""
    s, phi = MINUTE_VOL_OF_VOL, MINUTE_VOL_PERSISTENCE
    # The state starts in its stationary law, so midnight is not special.
    state = ar1(
        phi,
        rng.standard_normal(MINUTES) * s * math.sqrt(1.0 - phi**2),
        float(rng.standard_normal()) * s,
    )
    return np.exp(state - s * s)


def _segment_drift(rng: np.random.Generator, regime: Regime) -> FloatArray:
    """Per-minute drift of the short trend segments, in minute standard deviations."""
    lengths = rng.geometric(1.0 / SEGMENT_MINUTES, _MAX_SEGMENTS)
    segment = np.minimum(
        np.searchsorted(np.cumsum(lengths), np.arange(MINUTES), side="right"), _MAX_SEGMENTS - 1
    )
    signs = rng.choice(np.array([-1.0, 0.0, 1.0]), _MAX_SEGMENTS, p=SEGMENT_SIGNS[regime])
    strength = rng.uniform(*SEGMENT_DRIFT, _MAX_SEGMENTS)
    drift: FloatArray = (signs * strength)[segment]
    return drift


def _bridged_levels(steps: FloatArray, sigma: FloatArray, d: Day) -> FloatArray:
    """Log levels at the MINUTES + 1 minute boundaries, from the day's open to its close."""
    path = ar1(RANGE_REVERSION, steps) if d.regime == Regime.RANGING else np.cumsum(steps)
    # Bridge: remove the miss at the end, spread like the variance so calm minutes stay calm.
    weight = np.cumsum(sigma**2)
    path = path + (d.level_close - d.level_open - path[-1]) * (weight / weight[-1])
    level = np.empty(MINUTES + 1, dtype=np.float64)
    level[0] = d.level_open
    level[1:MINUTES] = d.level_open + path[:-1]
    level[MINUTES] = d.level_close  # exactly the next day's opening level
    return level


def _mean_power(power: float, vol_of_vol: float) -> float:
    """E[mult ** power] for mult = exp(h - s**2), h ~ N(0, s**2)."""
    s2 = vol_of_vol**2
    return math.exp(-power * s2 + 0.5 * power**2 * s2)


def _int32(values: FloatArray) -> Int32Array:
    out = np.clip(values, 0, _INT32_MAX).astype(np.int32)
    out.setflags(write=False)
    return out
