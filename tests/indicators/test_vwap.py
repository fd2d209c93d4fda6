"""VWAP anchored at the UTC day, rolling VWAP and volume ratio, against pandas and by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import indicators as ind
from tests.indicators.conftest import Market

DAY = 86_400_000
HOUR = 3_600_000


def pandas_daily_vwap(frame: pd.DataFrame) -> np.ndarray:
    day = frame["open_time_ms"] // DAY
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3.0
    cum_pv = (typical * frame["volume"]).groupby(day).cumsum()
    cum_v = frame["volume"].groupby(day).cumsum()
    return (cum_pv / cum_v).where(cum_v > 0).to_numpy()


def test_vwap_daily_matches_pandas_groupby_by_utc_day(market: Market) -> None:
    frame = market.frame()
    actual = ind.vwap_daily(market.open_time, market.high, market.low, market.close, market.volume)
    expected = pandas_daily_vwap(frame)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-9)


def test_vwap_daily_restarts_at_midnight_utc(btc_1m: Market) -> None:
    m = btc_1m
    vwap = ind.vwap_daily(m.open_time, m.high, m.low, m.close, m.volume)
    midnight = np.flatnonzero(m.open_time % DAY == 0)
    assert len(midnight) >= 25
    typical = (m.high + m.low + m.close) / 3.0
    # The first bar of a day averages only itself; the bar before it, the whole day.
    # Running totals over the month leave rounding of ~1e-11 relative, hence 1e-9.
    np.testing.assert_allclose(vwap[midnight], typical[midnight], rtol=1e-9)
    before = midnight[midnight > 1440] - 1
    for end in before[:3]:
        day = slice(end - 1439, end + 1)
        expected = np.sum(typical[day] * m.volume[day]) / np.sum(m.volume[day])
        assert vwap[end] == pytest.approx(expected, rel=1e-9)


def test_vwap_daily_hand_example() -> None:
    # Day 1: two bars, typical prices 10 and 13 with volumes 1 and 2 -> (10 + 26) / 3 = 12.
    # Day 2 starts over: typical 21 with volume 4.
    times = np.array([DAY - 2 * HOUR, DAY - HOUR, DAY], dtype=np.int64)
    high = np.array([11.0, 14.0, 22.0])
    low = np.array([9.0, 12.0, 20.0])
    close = np.array([10.0, 13.0, 21.0])
    volume = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(
        ind.vwap_daily(times, high, low, close, volume), [10.0, 12.0, 21.0], rtol=1e-15
    )


def test_vwap_daily_is_nan_until_the_day_trades() -> None:
    # Day 0 trades nothing at all; day 1 opens with two idle bars.
    price = np.array([5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    volume = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 3.0])
    times = np.array([0, HOUR, 2 * HOUR, DAY, DAY + HOUR, DAY + 2 * HOUR], dtype=np.int64)
    vwap = ind.vwap_daily(times, price, price, price, volume)
    assert np.isnan(vwap[:5]).all()
    assert vwap[5] == 10.0


def test_vwap_daily_of_a_partial_first_day_uses_the_bars_present() -> None:
    times = np.array([DAY + 20 * HOUR, DAY + 21 * HOUR], dtype=np.int64)
    price = np.array([4.0, 6.0])
    vwap = ind.vwap_daily(times, price, price, price, np.array([1.0, 1.0]))
    np.testing.assert_allclose(vwap, [4.0, 5.0])


def test_vwap_daily_rejects_unordered_or_float_times() -> None:
    price = np.ones(3)
    with pytest.raises(ValueError, match="strictly increasing; row 2"):
        ind.vwap_daily(np.array([0, 60_000, 60_000]), price, price, price, price)
    with pytest.raises(ValueError, match="integer epoch milliseconds"):
        ind.vwap_daily(np.array([0.0, 1.0, 2.0]), price, price, price, price)
    with pytest.raises(ValueError, match="open_time_ms has 2 values"):
        ind.vwap_daily(np.array([0, 1]), price, price, price, price)
    with pytest.raises(ValueError, match="volume must be >= 0; row 1"):
        ind.vwap_daily(np.array([0, 1, 2]), price, price, price, np.array([1.0, -1.0, 1.0]))


def test_vwap_rolling_hand_example_and_idle_window() -> None:
    price = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    volume = np.array([1.0, 3.0, 0.0, 0.0, 2.0])
    vwap = ind.vwap_rolling(price, price, price, volume, window=2)
    # (10 + 60) / 4, then 20 alone, then an idle window, then 50 alone.
    expected = [np.nan, 17.5, 20.0, np.nan, 50.0]
    np.testing.assert_allclose(vwap, expected, rtol=1e-15)


def test_volume_ratio_matches_pandas(market: Market) -> None:
    volume = pd.Series(market.volume)
    for window in (5, 20):
        mean_before = volume.rolling(window).mean().shift(1)
        expected = (volume / mean_before).where(mean_before > 0).to_numpy()
        actual = ind.volume_ratio(market.volume, window)
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
        np.testing.assert_allclose(actual, expected, rtol=1e-9)


def test_volume_ratio_hand_example_and_idle_window() -> None:
    volume = np.array([2.0, 4.0, 9.0, 0.0, 0.0, 5.0, 1.0])
    ratio = ind.volume_ratio(volume, window=2)
    # 9 / mean(2, 4) = 3; 0 / mean(4, 9) = 0; 0 / 4.5 = 0; 5 / mean(0, 0) undefined;
    # 1 / mean(0, 5) = 0.4.
    np.testing.assert_allclose(ratio, [np.nan, np.nan, 3.0, 0.0, 0.0, np.nan, 0.4])
