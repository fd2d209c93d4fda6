"""shift, slope, increasing/decreasing and crosses: hand cases, pandas and brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import indicators as ind
from tests.indicators.conftest import Market

NAN = np.nan


def test_shift_and_slope_match_pandas(market: Market) -> None:
    close = pd.Series(market.close)
    for n in (1, 3, 10):
        np.testing.assert_array_equal(ind.shift(market.close, n), close.shift(n).to_numpy())
        expected = ((close - close.shift(n)) / n).to_numpy()
        np.testing.assert_allclose(ind.slope(market.close, n), expected, rtol=1e-12)


def test_shift_hand_cases() -> None:
    np.testing.assert_array_equal(ind.shift([1.0, 2.0, 3.0]), [NAN, 1.0, 2.0])
    np.testing.assert_array_equal(ind.shift([1.0, 2.0, 3.0], 0), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ind.shift([1.0, 2.0], 5), [NAN, NAN])


def test_slope_hand_case() -> None:
    # (s[t] - s[t-2]) / 2: (7 - 1) / 2 = 3 and (4 - 3) / 2 = 0.5.
    np.testing.assert_array_equal(ind.slope([1.0, 3.0, 7.0, 4.0], 2), [NAN, NAN, 3.0, 0.5])


def test_increasing_and_decreasing_hand_cases() -> None:
    s = [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 5.0]
    # Strict: a flat step breaks the run.
    np.testing.assert_array_equal(
        ind.increasing(s, 2), [False, False, True, False, False, True, True, False]
    )
    np.testing.assert_array_equal(
        ind.increasing(s, 2, strict=False), [False, False, True, True, True, True, True, False]
    )
    np.testing.assert_array_equal(ind.decreasing(s, 1), [False] * 7 + [True])
    np.testing.assert_array_equal(
        ind.decreasing([3.0, 3.0, 2.0], 2, strict=False), [False, False, True]
    )


def test_increasing_treats_nan_steps_as_not_rising() -> None:
    s = [NAN, 1.0, 2.0, 3.0]
    np.testing.assert_array_equal(ind.increasing(s, 2), [False, False, False, True])
    np.testing.assert_array_equal(ind.increasing(s, 3, strict=False), [False] * 4)


def test_increasing_matches_pandas_rolling(market: Market) -> None:
    close = pd.Series(market.close)
    for n in (1, 3, 5):
        up = (close.diff() > 0).astype(float).rolling(n).sum() == n
        down = (close.diff() < 0).astype(float).rolling(n).sum() == n
        np.testing.assert_array_equal(ind.increasing(market.close, n), up.to_numpy())
        np.testing.assert_array_equal(ind.decreasing(market.close, n), down.to_numpy())


def brute_run(x: np.ndarray, n: int, strict: bool, rising: bool) -> np.ndarray:
    out = np.zeros(len(x), dtype=bool)
    for t in range(n, len(x)):
        steps = [x[i + 1] - x[i] if rising else x[i] - x[i + 1] for i in range(t - n, t)]
        out[t] = all((d > 0) if strict else (d >= 0) for d in steps)
    return out


@given(
    x=arrays(
        np.float64,
        st.integers(0, 40),
        elements=st.sampled_from([1.0, 2.0, 3.0, np.nan]),
    ),
    n=st.integers(1, 6),
    strict=st.booleans(),
)
def test_runs_match_brute_force(x: np.ndarray, n: int, strict: bool) -> None:
    np.testing.assert_array_equal(ind.increasing(x, n, strict), brute_run(x, n, strict, True))
    np.testing.assert_array_equal(ind.decreasing(x, n, strict), brute_run(x, n, strict, False))


def test_crosses_hand_cases() -> None:
    a = [1.0, 2.0, 3.0, 3.0, 2.0, 4.0, NAN, 5.0]
    b = [2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    # Touching then leaving counts (a[t-1] <= b[t-1]); NaN on either side never crosses.
    np.testing.assert_array_equal(
        ind.crossed_above(a, b), [False, False, True, False, False, True, False, False]
    )
    np.testing.assert_array_equal(
        ind.crossed_below(a, b), [False, False, False, False, True, False, False, False]
    )


def test_crosses_of_a_constant_level() -> None:
    rsi = [25.0, 29.0, 31.0, 35.0, 28.0]
    np.testing.assert_array_equal(ind.crossed_above(rsi, 30.0), [False, False, True, False, False])
    np.testing.assert_array_equal(ind.crossed_below(rsi, 30), [False, False, False, False, True])


def test_crosses_match_pandas_on_real_emas(market: Market) -> None:
    fast, slow = pd.Series(ind.ema(market.close, 9)), pd.Series(ind.ema(market.close, 21))
    above = (fast.shift(1) <= slow.shift(1)) & (fast > slow)
    below = (fast.shift(1) >= slow.shift(1)) & (fast < slow)
    got_above = ind.crossed_above(fast.to_numpy(), slow.to_numpy())
    np.testing.assert_array_equal(got_above, above.to_numpy())
    np.testing.assert_array_equal(
        ind.crossed_below(fast.to_numpy(), slow.to_numpy()), below.to_numpy()
    )
    assert got_above.any()


def test_helper_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"shift: n must be between 0 and 100000, got -1"):
        ind.shift([1.0], -1)
    with pytest.raises(ValueError, match=r"slope: lookback must be between 1 and 100000, got 0"):
        ind.slope([1.0], 0)
    with pytest.raises(ValueError, match=r"increasing: n must be between 1"):
        ind.increasing([1.0], 0)
    with pytest.raises(TypeError, match=r"decreasing: n must be an integer, got 2.5"):
        ind.decreasing([1.0], 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a and b must have the same length, got 2 and 3"):
        ind.crossed_above([1.0, 2.0], [1.0, 2.0, 3.0])
