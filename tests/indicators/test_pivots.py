"""Floor pivots: hand-derived levels, and per-bar pivots against a pandas daily resample."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import indicators as ind
from tests.indicators.conftest import Market

DAY = 86_400_000
HOUR = 3_600_000
SIX_HOURS = 6 * HOUR
LEVELS = ("p", "r1", "s1", "r2", "s2", "r3", "s3")


def hand_levels(high: Fraction, low: Fraction, close: Fraction) -> dict[str, Fraction]:
    p = (high + low + close) / 3
    return {
        "p": p,
        "r1": 2 * p - low,
        "s1": 2 * p - high,
        "r2": p + (high - low),
        "s2": p - (high - low),
        "r3": high + 2 * (p - low),
        "s3": low - 2 * (high - p),
    }


def pandas_daily_pivots(frame: pd.DataFrame, interval_ms: int) -> pd.DataFrame:
    """Per-bar levels of the previous complete UTC day, via a daily groupby."""
    day = frame["open_time_ms"] // DAY
    daily = frame.groupby(day).agg(
        high=("high", "max"), low=("low", "min"), close=("close", "last"), bars=("close", "size")
    )
    daily = daily[daily["bars"] == DAY // interval_ms]
    h, lo, c = daily["high"], daily["low"], daily["close"]
    p = (h + lo + c) / 3.0
    levels = pd.DataFrame(
        {
            "p": p,
            "r1": 2 * p - lo,
            "s1": 2 * p - h,
            "r2": p + (h - lo),
            "s2": p - (h - lo),
            "r3": h + 2 * (p - lo),
            "s3": lo - 2 * (h - p),
        }
    )
    levels.index = levels.index + 1  # a day's levels serve the next calendar day
    return levels.reindex(day.to_numpy())


def test_floor_pivots_hand_values() -> None:
    h, lo, c = Fraction(12), Fraction(8), Fraction(11)
    expected = hand_levels(h, lo, c)
    # P = 31/3, R1 = 38/3, S1 = 26/3, R2 = 43/3, S2 = 19/3, R3 = 50/3, S3 = 14/3.
    assert expected["r3"] == Fraction(50, 3)
    pivots = ind.floor_pivots(12.0, 8.0, 11.0)
    for name in LEVELS:
        assert getattr(pivots, name) == pytest.approx(float(expected[name]), rel=1e-15), name


def test_floor_pivots_symmetric_day() -> None:
    assert ind.floor_pivots(110.0, 90.0, 100.0) == (100.0, 110.0, 90.0, 120.0, 80.0, 130.0, 70.0)


def test_floor_pivots_accepts_arrays() -> None:
    high, low, close = np.array([12.0, 110.0]), np.array([8.0, 90.0]), np.array([11.0, 100.0])
    pivots = ind.floor_pivots(high, low, close)
    np.testing.assert_allclose(pivots.r3, [50 / 3, 130.0])
    np.testing.assert_allclose(pivots.s2, [19 / 3, 80.0])


def test_floor_pivots_rejects_high_below_low() -> None:
    with pytest.raises(ValueError, match="high must be >= low"):
        ind.floor_pivots(8.0, 12.0, 10.0)
    with pytest.raises(ValueError, match="at row 1"):
        ind.floor_pivots(np.array([2.0, 1.0]), np.array([1.0, 2.0]), np.array([1.5, 1.5]))


def test_daily_floor_pivots_match_pandas_resample(market: Market) -> None:
    frame = market.frame()
    expected = pandas_daily_pivots(frame, market.interval_ms)
    actual = ind.daily_floor_pivots(
        market.open_time, market.high, market.low, market.close, interval_ms=market.interval_ms
    )
    if len(market) * market.interval_ms >= 3 * DAY:
        assert np.isfinite(actual.p).any()
    for name in LEVELS:
        np.testing.assert_allclose(
            getattr(actual, name), expected[name].to_numpy(), rtol=1e-12, err_msg=name
        )


def test_daily_floor_pivots_agree_across_timeframes(load: Callable[[str], Market]) -> None:
    # The 1h file of the same contract covers the same days; a bar of either series must
    # see the same previous-day levels.
    fine = load("binance-usdm-futures_2023-07/BTCUSDT-1m.csv")
    coarse = load("binance-usdm-futures_2023-07/BTCUSDT-1h.csv")
    a = ind.daily_floor_pivots(fine.open_time, fine.high, fine.low, fine.close, interval_ms=60_000)
    b = ind.daily_floor_pivots(
        coarse.open_time, coarse.high, coarse.low, coarse.close, interval_ms=HOUR
    )
    _, i, j = np.intersect1d(fine.open_time, coarse.open_time, return_indices=True)
    both = np.isfinite(a.p[i]) & np.isfinite(b.p[j])
    assert both.sum() >= 24 * 20
    for name in LEVELS:
        np.testing.assert_allclose(getattr(a, name)[i][both], getattr(b, name)[j][both], rtol=1e-12)


Bar = tuple[float, float, float] | None


def six_hour_bars(days: dict[int, list[Bar]]) -> tuple[np.ndarray, ...]:
    """Bars from {day: [(high, low, close) per 6h slot]}; a None slot is left out."""
    times, highs, lows, closes = [], [], [], []
    for day, slots in days.items():
        for slot, bar in enumerate(slots):
            if bar is None:
                continue
            times.append(day * DAY + slot * SIX_HOURS)
            highs.append(bar[0])
            lows.append(bar[1])
            closes.append(bar[2])
    return (np.array(times, dtype=np.int64), np.array(highs), np.array(lows), np.array(closes))


def test_daily_floor_pivots_need_the_whole_previous_day() -> None:
    full: list[Bar] = [(11.0, 9.0, 10.0), (12.0, 10.0, 11.0), (13.0, 8.0, 12.0), (12.5, 11.0, 11.5)]
    gap: list[Bar] = [(11.0, 9.0, 10.0), None, (13.0, 8.0, 12.0), (12.5, 11.0, 11.5)]
    times, high, low, close = six_hour_bars(
        {
            10: full[2:],  # starts at 12:00: not present in full
            11: full,  # levels NaN (day 10 partial), then serves day 12
            12: gap,  # day 11 complete -> defined; serves nobody (one slot missing)
            13: full,  # NaN (day 12 has a gap)
            15: full,  # NaN (day 14 absent altogether)
        }
    )
    pivots = ind.daily_floor_pivots(times, high, low, close, interval_ms=SIX_HOURS)
    day_of_bar = times // DAY
    defined = np.isfinite(pivots.p)
    assert (defined == (day_of_bar == 12)).all()
    # Day 11: high 13, low 8, close 11.5.
    expected = hand_levels(Fraction(13), Fraction(8), Fraction(23, 2))
    for name in LEVELS:
        np.testing.assert_allclose(getattr(pivots, name)[defined], float(expected[name]))


def test_daily_floor_pivots_on_daily_candles_use_the_previous_candle() -> None:
    times = np.array([0, DAY, 2 * DAY, 4 * DAY], dtype=np.int64)
    high = np.array([12.0, 110.0, 50.0, 60.0])
    low = np.array([8.0, 90.0, 40.0, 50.0])
    close = np.array([11.0, 100.0, 45.0, 55.0])
    pivots = ind.daily_floor_pivots(times, high, low, close, interval_ms=DAY)
    np.testing.assert_allclose(pivots.r3, [np.nan, 50 / 3, 130.0, np.nan])


def test_daily_floor_pivots_input_errors() -> None:
    times = np.array([0, HOUR, 2 * HOUR], dtype=np.int64)
    price = np.ones(3)
    with pytest.raises(ValueError, match="must divide a day"):
        ind.daily_floor_pivots(times, price, price, price, interval_ms=7 * 60_000)
    with pytest.raises(ValueError, match="between 1 and 86400000"):
        ind.daily_floor_pivots(times, price, price, price, interval_ms=0)
    with pytest.raises(ValueError, match=r"open time 3660000 \(row 1\) is not a multiple"):
        ind.daily_floor_pivots(
            np.array([0, HOUR + 60_000, 2 * HOUR]), price, price, price, interval_ms=HOUR
        )
    with pytest.raises(ValueError, match="strictly increasing"):
        ind.daily_floor_pivots(times[::-1], price, price, price, interval_ms=HOUR)
