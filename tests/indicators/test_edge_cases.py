"""Degenerate input: constant prices, flat RSI, too few candles, and parameter validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import indicators as ind
from tests.indicators.conftest import Market

PRICE = 123.45
N = 120
MINUTE = 60_000


@pytest.fixture
def flat() -> dict[str, np.ndarray]:
    return {
        "time": np.arange(N, dtype=np.int64) * MINUTE,
        "price": np.full(N, PRICE),
        "volume": np.full(N, 2.0),
    }


def defined(values: np.ndarray) -> np.ndarray:
    out = values[np.isfinite(values)]
    assert len(out), "no defined value"
    return out


def test_constant_prices_averages_and_bands(flat: dict[str, np.ndarray]) -> None:
    p = flat["price"]
    for values in (ind.sma(p, 20), ind.ema(p, 20), *ind.bollinger(p)):
        np.testing.assert_allclose(defined(values), PRICE, rtol=1e-12)


def test_constant_prices_oscillators(flat: dict[str, np.ndarray]) -> None:
    p = flat["price"]
    # Nothing moved: RSI is neutral, MACD and ranges are zero, no trend.
    np.testing.assert_array_equal(defined(ind.rsi(p)), 50.0)
    for values in ind.macd(p):
        np.testing.assert_allclose(defined(values), 0.0, atol=1e-9)
    for values in (ind.true_range(p, p, p), ind.atr(p, p, p), *ind.adx(p, p, p)):
        np.testing.assert_array_equal(defined(values), 0.0)
    # The RSI window never moves, so the stochastic is undefined everywhere.
    k, d = ind.stoch_rsi(p)
    assert np.isnan(k).all() and np.isnan(d).all()


def test_constant_prices_volume_and_rules(flat: dict[str, np.ndarray]) -> None:
    t, p, v = flat["time"], flat["price"], flat["volume"]
    np.testing.assert_allclose(ind.vwap_daily(t, p, p, p, v), PRICE, rtol=1e-12)
    np.testing.assert_allclose(defined(ind.vwap_rolling(p, p, p, v)), PRICE, rtol=1e-12)
    np.testing.assert_allclose(defined(ind.volume_ratio(v)), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(defined(ind.slope(p, 5)), 0.0)
    assert not ind.increasing(p, 3).any() and not ind.decreasing(p, 3).any()
    assert ind.increasing(p, 3, strict=False)[3:].all()
    assert not ind.crossed_above(p, p).any() and not ind.crossed_below(p, PRICE).any()


def test_constant_prices_pivots() -> None:
    times = np.arange(3 * 24, dtype=np.int64) * 3_600_000
    p = np.full(len(times), PRICE)
    pivots = ind.daily_floor_pivots(times, p, p, p, interval_ms=3_600_000)
    for level in pivots:
        np.testing.assert_allclose(defined(level), PRICE, rtol=1e-12)
        assert np.isnan(level[:24]).all() and np.isfinite(level[24:]).all()


def test_rsi_is_neutral_only_until_the_first_move() -> None:
    close = np.concatenate((np.full(20, 10.0), [11.0, 12.0]))
    r = ind.rsi(close, 14)
    np.testing.assert_array_equal(r[14:20], 50.0)
    # Only gains since the start: 100 (TA-Lib), and a fall-only series stays at 0.
    np.testing.assert_array_equal(r[20:], 100.0)
    np.testing.assert_array_equal(defined(ind.rsi(np.arange(30.0, 0.0, -1.0), 14)), 0.0)


def test_stoch_rsi_is_nan_exactly_where_the_close_sat_still(btc_1m: Market) -> None:
    # With a 3-bar stochastic window the RSI window is flat iff the close did not change
    # over the last 2 steps (Wilder's averages then scale together); real 1m data has
    # hundreds of such bars. %K without smoothing shows the raw stochastic.
    close = btc_1m.close[:10_000]
    k = ind.stoch_rsi(close, rsi_period=14, stoch_period=3, k_smoothing=1, d_smoothing=1).k
    still = (pd.Series(close).diff().eq(0).rolling(2).sum() == 2).to_numpy()
    warm = slice(16, None)
    assert still[warm].sum() > 50
    np.testing.assert_array_equal(np.isnan(k[warm]), still[warm])


TOO_FEW: dict[str, Callable[[np.ndarray, np.ndarray], Any]] = {
    "sma": lambda t, x: ind.sma(x, 20),
    "ema": lambda t, x: ind.ema(x, 20),
    "rsi": lambda t, x: ind.rsi(x),
    "stoch_rsi": lambda t, x: ind.stoch_rsi(x),
    "macd": lambda t, x: ind.macd(x),
    "atr": lambda t, x: ind.atr(x, x, x),
    "adx": lambda t, x: ind.adx(x, x, x),
    "bollinger": lambda t, x: ind.bollinger(x),
    "vwap_rolling": lambda t, x: ind.vwap_rolling(x, x, x, x),
    "volume_ratio": lambda t, x: ind.volume_ratio(x),
    "daily_floor_pivots": lambda t, x: ind.daily_floor_pivots(t, x, x, x, interval_ms=MINUTE),
    "slope": lambda t, x: ind.slope(x, 10),
    "shift": lambda t, x: ind.shift(x, 10),
}


@pytest.mark.parametrize("name", sorted(TOO_FEW))
@pytest.mark.parametrize("length", [1, 5])
def test_too_few_candles_give_all_nan(name: str, length: int) -> None:
    t = np.arange(length, dtype=np.int64) * MINUTE
    x = np.linspace(1.0, 2.0, length)
    result = TOO_FEW[name](t, x)
    for values in result if isinstance(result, tuple) else (result,):
        assert len(values) == length
        assert np.isnan(values).all()


def test_integer_and_list_inputs_are_converted() -> None:
    values = ind.sma([1, 2, 3, 4], 2)
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [np.nan, 1.5, 2.5, 3.5])


X = np.linspace(1.0, 2.0, 50)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ind.ema(X, 0), ValueError, r"ema: period must be between 1 and 100000, got 0"),
        (lambda: ind.sma(X, 100_001), ValueError, r"sma: period must be between 1 and 100000"),
        (lambda: ind.rsi(X, 1), ValueError, r"rsi: period must be between 2 and 100000, got 1"),
        (lambda: ind.atr(X, X, X, 0), ValueError, r"atr: period must be between 1"),
        (lambda: ind.adx(X, X, X, 1), ValueError, r"adx: period must be between 2"),
        (lambda: ind.bollinger(X, 1), ValueError, r"bollinger: period must be between 2"),
        (lambda: ind.bollinger(X, 20, 0.0), ValueError, r"deviations must be a finite number > 0"),
        (lambda: ind.bollinger(X, 20, np.nan), ValueError, r"deviations must be a finite number"),
        (lambda: ind.macd(X, 26, 12), ValueError, r"macd: fast must be < slow, got fast=26"),
        (lambda: ind.macd(X, 12, 26, 0), ValueError, r"macd: signal must be between 1"),
        (lambda: ind.stoch_rsi(X, stoch_period=1), ValueError, r"stoch_period must be between 2"),
        (lambda: ind.stoch_rsi(X, k_smoothing=0), ValueError, r"k_smoothing must be between 1"),
        (lambda: ind.vwap_rolling(X, X, X, X, 0), ValueError, r"vwap_rolling: window must be"),
        (lambda: ind.volume_ratio(X, 0), ValueError, r"volume_ratio: window must be between 1"),
        (lambda: ind.ema(X, True), TypeError, r"ema: period must be an integer, got True"),
        (
            lambda: ind.ema(X, 2.0),  # type: ignore[arg-type]
            TypeError,
            r"ema: period must be an integer, got 2.0",
        ),
        (lambda: ind.ema(X.reshape(5, 10), 3), ValueError, r"series must be a 1-D array, got 2"),
        (lambda: ind.ema(5.0, 3), ValueError, r"series must be a 1-D array, got 0 dimension"),
        (
            lambda: ind.atr(X[:5], X, X),
            ValueError,
            r"same length, got high=5, low=50, close=50",
        ),
        (
            lambda: ind.volume_ratio(X - 1.5),
            ValueError,
            r"volume must be >= 0; row 0 is -0.5",
        ),
    ],
)
def test_bad_arguments_fail_fast(call: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
