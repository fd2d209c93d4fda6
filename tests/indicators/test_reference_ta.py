"""Indicators against the `ta` library on real candles.

Tolerance: 1e-6 relative, compared only after a warm-up long enough for seeding
differences to vanish. TA-Lib seeds its EMA with an SMA and its Wilder averages with the
mean of the first `period` values; `ta` seeds `ewm(adjust=False)` with the first value
(EMA with alpha = 2/(p+1), RSI with alpha = 1/p) and ATR/ADX with its own sums. A seed gap
shrinks by (1 - alpha) per bar, so after `k` bars it is `gap * (1 - alpha)**k`. We wait
until that factor is below ATTENUATION = 1e-9: the tolerance 1e-6 times 1e-3, i.e. seed
gaps up to 1000 times the compared value still end up inside tolerance. For EMA(200)
(alpha = 2/201) that is ln(1e-9) / ln(199/201) = 2073 bars after its first value; for
Wilder 14 it is 280 bars. Chained smoothings (MACD signal, ADX of smoothed DX) add their
decays. The warm-up is never below 200 bars.

Quantities that cross zero (MACD line, signal, histogram, +DI - -DI) are compared with an
absolute tolerance of 1e-6 times the scale of the quantity (the close for MACD, 100 for
DI), since a relative error is meaningless near zero.

Files shorter than 5000 bars (BitMart, ~260 bars) use shorter periods so that the same
decay rule leaves bars to compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import talib
from ta.momentum import RSIIndicator, StochRSIIndicator
from ta.trend import MACD as TaMACD
from ta.trend import ADXIndicator, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands
from ta.volume import VolumeWeightedAveragePrice

import indicators as ind
from tests.indicators.conftest import Market

RTOL = 1e-6
ATTENUATION = 1e-9
MIN_WARMUP = 200
MIN_COMPARED = 30


@dataclass(frozen=True)
class Periods:
    ema: tuple[int, ...]
    wilder: int
    adx: int
    macd: tuple[int, int, int]


STANDARD = Periods(ema=(9, 20, 50, 200), wilder=14, adx=14, macd=(12, 26, 9))
SHORT = Periods(ema=(5, 9, 12), wilder=7, adx=5, macd=(5, 13, 4))


def periods(market: Market) -> Periods:
    return STANDARD if market.long else SHORT


def decay_bars(alpha: float, attenuation: float = ATTENUATION) -> int:
    """Bars after which a seed gap is multiplied by at most `attenuation`."""
    return math.ceil(math.log(attenuation) / math.log(1.0 - alpha))


def warmup(first_defined: int, *decays: int) -> int:
    return max(MIN_WARMUP, first_defined + sum(decays))


def series(values: npt.NDArray[np.float64]) -> pd.Series:
    return pd.Series(values)


def assert_rel(
    name: str, actual: npt.ArrayLike, expected: npt.ArrayLike, start: int, rtol: float = RTOL
) -> None:
    a = np.asarray(actual, dtype=np.float64)[start:]
    e = np.asarray(expected, dtype=np.float64)[start:]
    assert len(e) >= MIN_COMPARED, f"{name}: only {len(e)} bars after a warm-up of {start}"
    assert np.isfinite(e).all(), f"{name}: reference undefined after bar {start}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=0, err_msg=f"{name} from bar {start}")


def assert_scaled(
    name: str,
    actual: npt.ArrayLike,
    expected: npt.ArrayLike,
    scale: npt.ArrayLike,
    start: int,
    tol: float = RTOL,
) -> None:
    """|actual - expected| <= tol * scale, for quantities that cross zero."""
    a = np.asarray(actual, dtype=np.float64)[start:]
    e = np.asarray(expected, dtype=np.float64)[start:]
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), np.shape(actual))[start:]
    assert len(e) >= MIN_COMPARED, f"{name}: only {len(e)} bars after a warm-up of {start}"
    assert np.isfinite(e).all(), f"{name}: reference undefined after bar {start}"
    excess = np.abs(a - e) - tol * s
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, (
        f"{name}: bar {start + worst}: ours {a[worst]!r}, ta {e[worst]!r}, "
        f"allowed {tol * s[worst]!r}"
    )


def test_sma_matches_ta_from_first_value(market: Market) -> None:
    close = series(market.close)
    for p in (5, 20, 50):
        # No seeding in an SMA: equal from the first defined bar.
        expected = SMAIndicator(close, window=p).sma_indicator()
        assert_rel(f"sma({p})", ind.sma(market.close, p), expected, start=p - 1)


def test_ema_matches_ta_after_seed_decay(market: Market) -> None:
    close = series(market.close)
    for p in periods(market).ema:
        start = warmup(p - 1, decay_bars(2.0 / (p + 1)))
        expected = EMAIndicator(close, window=p).ema_indicator()
        assert_rel(f"ema({p})", ind.ema(market.close, p), expected, start)


def test_ema_is_seeded_with_the_sma_of_the_first_period(market: Market) -> None:
    # pandas ewm started from the SMA of the first p closes is the documented definition,
    # so it must agree from the very first value, with no warm-up.
    for p in (9, 20):
        seed = market.close[:p].mean()
        path = pd.Series(np.concatenate(([seed], market.close[p:])))
        expected = np.concatenate((np.full(p - 1, np.nan), path.ewm(span=p, adjust=False).mean()))
        actual = ind.ema(market.close, p)
        assert np.isnan(actual[: p - 1]).all()
        np.testing.assert_allclose(actual[p - 1 :], expected[p - 1 :], rtol=1e-12)


def test_rsi_matches_ta_after_seed_decay(market: Market) -> None:
    p = periods(market).wilder
    start = warmup(p, decay_bars(1.0 / p))
    expected = RSIIndicator(series(market.close), window=p).rsi()
    assert_rel(f"rsi({p})", ind.rsi(market.close, p), expected, start)


def test_stoch_rsi_matches_ta_times_100(market: Market) -> None:
    # The stochastic divides RSI differences by the RSI range of its window, amplifying a
    # residual seed gap by up to 100 / range. Windows with a range of at least 1 RSI point
    # are compared (100x amplification, covered by decaying two decades further); every
    # window on these files qualifies, which the coverage assertion checks.
    p = periods(market).wilder
    ref = StochRSIIndicator(series(market.close), window=p, smooth1=3, smooth2=3)
    ref_rsi = RSIIndicator(series(market.close), window=p).rsi()
    rsi_range = (ref_rsi.rolling(p).max() - ref_rsi.rolling(p).min()).to_numpy()
    start = warmup(2 * p + 4, decay_bars(1.0 / p, ATTENUATION * 1e-2))
    compared = np.zeros(len(market), dtype=bool)
    compared[start:] = True
    # %D spans 5 raw values (3 for %K, then 3 %K values): every window involved must qualify.
    wide = pd.Series(rsi_range >= 1.0).rolling(5).min().to_numpy() == 1.0
    assert wide[start:].mean() > 0.99
    mask = compared & wide
    ours = ind.stoch_rsi(market.close, p, p, 3, 3)
    for name, actual, expected in (
        ("k", ours.k, ref.stochrsi_k().to_numpy() * 100),
        ("d", ours.d, ref.stochrsi_d().to_numpy() * 100),
    ):
        assert mask.sum() >= MIN_COMPARED
        # Values near 0 exist (oversold), so the tolerance is 1e-6 of the 0..100 scale.
        np.testing.assert_allclose(
            actual[mask], expected[mask], rtol=RTOL, atol=RTOL * 100, err_msg=name
        )


def test_stoch_rsi_k_matches_talib_stochrsi_fastd(market: Market) -> None:
    # TA-Lib's STOCHRSI fast %D is the SMA(3) of the raw stochastic: our %K.
    p = periods(market).wilder
    _, fastd = talib.STOCHRSI(market.close, timeperiod=p, fastk_period=p, fastd_period=3)
    k = ind.stoch_rsi(market.close, p, p, 3, 3).k
    first = 2 * p + 1
    np.testing.assert_allclose(k[first:], fastd[first:], rtol=1e-9, atol=1e-9)


def test_macd_matches_ta_within_price_scaled_tolerance(market: Market) -> None:
    fast, slow, signal = periods(market).macd
    start = warmup(slow + signal - 2, decay_bars(2.0 / (slow + 1)), decay_bars(2.0 / (signal + 1)))
    ref = TaMACD(series(market.close), window_slow=slow, window_fast=fast, window_sign=signal)
    ours = ind.macd(market.close, fast, slow, signal)
    assert_scaled("macd line", ours.line, ref.macd(), market.close, start)
    assert_scaled("macd signal", ours.signal, ref.macd_signal(), market.close, start)
    assert_scaled("macd hist", ours.hist, ref.macd_diff(), market.close, start)


def test_atr_matches_ta_after_seed_decay(market: Market) -> None:
    p = periods(market).wilder
    start = warmup(p, decay_bars(1.0 / p))
    h, lo, c = series(market.high), series(market.low), series(market.close)
    expected = AverageTrueRange(h, lo, c, window=p).average_true_range()
    assert_rel(f"atr({p})", ind.atr(market.high, market.low, market.close, p), expected, start)


def test_adx_and_directional_indicators_match_ta(market: Market) -> None:
    p = periods(market).adx
    # DI smooths once; ADX smooths DX again, so two decays.
    start = warmup(2 * p - 1, 2 * decay_bars(1.0 / p))
    h, lo, c = series(market.high), series(market.low), series(market.close)
    ref = ADXIndicator(h, lo, c, window=p)
    ours = ind.adx(market.high, market.low, market.close, p)
    assert_rel("adx", ours.adx, ref.adx(), start)
    assert_rel("+di", ours.plus_di, ref.adx_pos(), start)
    assert_rel("-di", ours.minus_di, ref.adx_neg(), start)
    spread = ref.adx_pos().to_numpy() - ref.adx_neg().to_numpy()
    assert_scaled("+di - -di", ours.plus_di - ours.minus_di, spread, 100.0, start)


def test_bollinger_matches_ta_from_first_value(market: Market) -> None:
    ref = BollingerBands(series(market.close), window=20, window_dev=2)
    ours = ind.bollinger(market.close, 20, 2.0)
    assert_rel("upper", ours.upper, ref.bollinger_hband(), start=19)
    assert_rel("middle", ours.middle, ref.bollinger_mavg(), start=19)
    assert_rel("lower", ours.lower, ref.bollinger_lband(), start=19)
    # The band width is small next to the price: check it against the price scale too.
    width = ref.bollinger_hband().to_numpy() - ref.bollinger_lband().to_numpy()
    assert_scaled("width", ours.upper - ours.lower, width, market.close, start=19)


@pytest.mark.parametrize("window", [14, 20])
def test_vwap_rolling_matches_ta_vwap(market: Market, window: int) -> None:
    h, lo, c, v = (series(x) for x in (market.high, market.low, market.close, market.volume))
    expected = VolumeWeightedAveragePrice(h, lo, c, v, window=window)
    actual = ind.vwap_rolling(market.high, market.low, market.close, market.volume, window)
    assert np.isnan(actual[: window - 1]).all()
    assert_rel("vwap", actual, expected.volume_weighted_average_price(), start=window - 1)
