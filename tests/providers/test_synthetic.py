"""The synthetic market: determinism, window algebra, aggregation, validity and realism."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest

from providers.candles import Candles
from providers.synthetic import END_MS, ORIGIN_MS, Regime, SyntheticMarket
from providers.synthetic.daily import epoch, epoch_start
from providers.synthetic.intraday import day_bars
from providers.synthetic.numeric import ar1, grid_values
from providers.timeframes import MINUTE_MS, Timeframe, to_ms

DAY = 86_400_000
HOUR = 3_600_000
# 2024-03-10 00:00 UTC: an ordinary day well inside the horizon.
T0 = to_ms(datetime(2024, 3, 10, tzinfo=UTC))
# Day 256 after the origin starts a new epoch of the day-level process.
EPOCH_EDGE = ORIGIN_MS + 256 * DAY


def columns(c: Candles) -> npt.NDArray[np.float64]:
    return np.vstack([c.open_time, c.open, c.high, c.low, c.close, c.volume])


def assert_same(a: Candles, b: Candles) -> None:
    assert (a.symbol, a.timeframe) == (b.symbol, b.timeframe)
    np.testing.assert_array_equal(columns(a), columns(b))


def clear_caches() -> None:
    for cached in (day_bars, epoch, epoch_start):
        cached.cache_clear()


def acf(x: npt.NDArray[np.float64], lag: int) -> float:
    x = x - x.mean()
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_same_candles_even_from_cold_caches() -> None:
    first = SyntheticMarket(7).candles("ETHUSDT", Timeframe.M1, T0, T0 + 3 * HOUR)
    clear_caches()
    # Asking for a later epoch first changes which epochs are computed in which order.
    SyntheticMarket(7).candles("ETHUSDT", Timeframe.H1, T0 + 400 * DAY, T0 + 401 * DAY)
    again = SyntheticMarket(7).candles("ETHUSDT", Timeframe.M1, T0, T0 + 3 * HOUR)
    assert len(first) == 180
    assert_same(first, again)


def test_different_seed_or_symbol_gives_different_candles() -> None:
    a = SyntheticMarket(7).candles("S0009USDT", Timeframe.M5, T0, T0 + DAY).close
    b = SyntheticMarket(8).candles("S0009USDT", Timeframe.M5, T0, T0 + DAY).close
    assert not np.array_equal(a, b)
    btc = SyntheticMarket(7).candles("BTCUSDT", Timeframe.M1, T0, T0 + HOUR).close
    eth = SyntheticMarket(7).candles("ETHUSDT", Timeframe.M1, T0, T0 + HOUR).close
    assert not np.allclose(btc / btc[0], eth / eth[0])


def test_negative_and_huge_seeds_are_valid_and_distinct() -> None:
    closes = {
        seed: SyntheticMarket(seed).candles("BTCUSDT", Timeframe.M1, T0, T0 + HOUR).close[-1]
        for seed in (-1, 0, 1, 2**70)
    }
    assert len(set(closes.values())) == 4


def test_seed_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        SyntheticMarket("42")  # type: ignore[arg-type]


# --- windows ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeframe", "start", "cut", "end"),
    [
        (Timeframe.M1, T0 - 2 * HOUR, T0 + 17 * MINUTE_MS, T0 + 3 * HOUR),
        (Timeframe.M1, EPOCH_EDGE - HOUR, EPOCH_EDGE + 1 * MINUTE_MS, EPOCH_EDGE + HOUR),
        (Timeframe.M5, T0 - DAY, T0 + 35 * MINUTE_MS, T0 + DAY),
        (Timeframe.H1, EPOCH_EDGE - 3 * DAY, EPOCH_EDGE + 5 * HOUR, EPOCH_EDGE + 2 * DAY),
        (Timeframe.D1, T0 - 20 * DAY, T0, T0 + 10 * DAY),
    ],
)
def test_window_cut_anywhere_on_the_grid_gives_the_same_candles(
    timeframe: Timeframe, start: int, cut: int, end: int
) -> None:
    m = SyntheticMarket(3)
    whole = m.candles("SOLUSDT", timeframe, start, end)
    clear_caches()
    left = m.candles("SOLUSDT", timeframe, start, cut)
    right = m.candles("SOLUSDT", timeframe, cut, end)
    assert len(whole) == (end - start) // timeframe.ms
    np.testing.assert_array_equal(columns(whole), np.hstack([columns(left), columns(right)]))


def test_each_minute_opens_at_the_previous_close_across_midnight_and_epochs() -> None:
    m = SyntheticMarket(11)
    for edge in (T0, EPOCH_EDGE):
        c = m.candles("XRPUSDT", Timeframe.M1, edge - HOUR, edge + HOUR)
        np.testing.assert_array_equal(c.open[1:], c.close[:-1])


def test_only_candles_wholly_inside_the_window_are_returned() -> None:
    m = SyntheticMarket(5)
    c = m.candles("BTCUSDT", "5m", T0 + 2 * MINUTE_MS, T0 + 58 * MINUTE_MS)
    # Buckets 00:05 .. 00:50 lie inside [00:02, 00:58); 00:00 starts too early, 00:55 ends late.
    assert c.open_time[0] == T0 + 5 * MINUTE_MS
    assert c.open_time[-1] == T0 + 50 * MINUTE_MS
    assert len(c) == 10
    assert len(m.candles("BTCUSDT", "1h", T0 + MINUTE_MS, T0 + HOUR + 59 * MINUTE_MS)) == 0


def test_nothing_before_the_origin_and_an_error_after_the_horizon() -> None:
    m = SyntheticMarket(5)
    c = m.candles("BTCUSDT", Timeframe.H4, ORIGIN_MS - 10 * DAY, ORIGIN_MS + DAY)
    assert c.open_time[0] == ORIGIN_MS
    assert len(c) == 6
    assert len(m.candles("BTCUSDT", Timeframe.H4, 0, ORIGIN_MS)) == 0
    with pytest.raises(ValueError, match="ends at 2040-01-01"):
        m.candles("BTCUSDT", Timeframe.M1, END_MS - HOUR, END_MS + HOUR)


# --- aggregation and validity -----------------------------------------------------------------


@pytest.mark.parametrize(
    "timeframe", [Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.H4, Timeframe.D1]
)
def test_higher_timeframes_aggregate_the_one_minute_candles(timeframe: Timeframe) -> None:
    m = SyntheticMarket(21)
    start, end = T0 - 2 * DAY, T0 + DAY
    ones = m.candles("LINKUSDT", Timeframe.M1, start, end)
    agg = m.candles("LINKUSDT", timeframe, start, end)
    k = timeframe.minutes
    assert len(agg) * k == len(ones)
    np.testing.assert_array_equal(agg.open_time, ones.open_time[::k])
    np.testing.assert_array_equal(agg.open, ones.open[::k])
    np.testing.assert_array_equal(agg.close, ones.close[k - 1 :: k])
    np.testing.assert_array_equal(agg.high, ones.high.reshape(-1, k).max(axis=1))
    np.testing.assert_array_equal(agg.low, ones.low.reshape(-1, k).min(axis=1))
    np.testing.assert_allclose(agg.volume, ones.volume.reshape(-1, k).sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("symbol", ["BTCUSDT", "DOGEUSDT", "S0009USDT", "S0042USDT"])
def test_candles_are_valid_and_on_the_tick_grid(symbol: str) -> None:
    m = SyntheticMarket(9)
    spec = m.spec(symbol)
    for timeframe in Timeframe:
        c = m.candles(symbol, timeframe, T0 - 3 * DAY, T0 + DAY)
        c.validate()
        assert np.all(c.low > 0)
        assert np.all(c.high >= c.low)
    c = m.candles(symbol, Timeframe.M1, T0, T0 + 6 * HOUR)
    for price in np.concatenate([c.open, c.high, c.low, c.close]):
        assert Decimal(repr(float(price))) % spec.tick_size == 0, price
    for volume in c.volume:
        assert Decimal(repr(float(volume))) % spec.contract_size == 0, volume
    assert np.any(c.high > np.maximum(c.open, c.close))  # wicks exist
    assert np.any(c.low < np.minimum(c.open, c.close))


# --- realism ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "symbol"), [(1, "BTCUSDT"), (2, "XRPUSDT"), (3, "S0030USDT")])
def test_minute_returns_have_fat_tails_and_volatility_clustering(seed: int, symbol: str) -> None:
    c = SyntheticMarket(seed).candles(symbol, Timeframe.M1, T0, T0 + 5 * DAY)
    r = np.diff(np.log(c.close))
    excess_kurtosis = float(np.mean((r - r.mean()) ** 4) / np.var(r) ** 2 - 3.0)
    assert excess_kurtosis > 1.0
    assert acf(np.abs(r), 1) > 0.05
    assert abs(acf(r, 1)) < 0.1


def test_majors_move_a_few_percent_a_day() -> None:
    m = SyntheticMarket(4)
    for symbol in ("BTCUSDT", "ETHUSDT", "BNBUSDT"):
        d = m.candles(symbol, Timeframe.D1, T0 - 120 * DAY, T0)
        daily_vol = float(np.std(np.diff(np.log(d.close))))
        assert 0.01 < daily_vol < 0.08, (symbol, daily_vol)


def test_volume_follows_the_intraday_sessions() -> None:
    m = SyntheticMarket(6)
    c = m.candles("ETHUSDT", Timeframe.M1, T0, T0 + 30 * DAY)
    by_minute = c.volume.reshape(30, 1440).mean(axis=0)
    us_session = by_minute[14 * 60 : 15 * 60].mean()  # 14:00-15:00 UTC
    quiet = by_minute[4 * 60 : 5 * 60].mean()  # 04:00-05:00 UTC
    assert us_session > 1.3 * quiet


def test_trending_and_ranging_days_look_different_on_one_hour_candles() -> None:
    m = SyntheticMarket(12)
    days = 90
    trend_ratio: list[float] = []
    range_ratio: list[float] = []
    for symbol in ("BTCUSDT", "ETHUSDT", "S0011USDT", "S0012USDT"):
        h = m.candles(symbol, Timeframe.H1, T0, T0 + days * DAY)
        opens, closes = h.open.reshape(days, 24), h.close.reshape(days, 24)
        # Efficiency ratio: net move of the day over the path length of its hours.
        ratio = np.abs(closes[:, -1] - opens[:, 0]) / np.abs(closes - opens).sum(axis=1)
        for i in range(days):
            regime = m.regime(symbol, T0 + i * DAY)
            (range_ratio if regime is Regime.RANGING else trend_ratio).append(float(ratio[i]))
    assert trend_ratio and range_ratio
    assert np.mean(trend_ratio) > 1.3 * np.mean(range_ratio)
    assert np.std(trend_ratio + range_ratio) > 0.05  # trend strength varies from day to day


def test_regimes_persist_for_days_and_all_occur() -> None:
    m = SyntheticMarket(13)
    regimes = [m.regime("SOLUSDT", T0 + i * DAY) for i in range(365)]
    assert set(regimes) == set(Regime)
    changes = sum(a is not b for a, b in itertools.pairwise(regimes))
    assert 365 / (changes + 1) > 3.0  # mean run length in days


def test_price_scales_are_realistic_and_distinct() -> None:
    bases = {
        "BTCUSDT": 60_000,
        "ETHUSDT": 3_000,
        "SOLUSDT": 150,
        "BNBUSDT": 600,
        "XRPUSDT": 0.5,
        "DOGEUSDT": 0.15,
        "ADAUSDT": 0.45,
        "LINKUSDT": 15,
    }
    for seed in (1, 2):
        m = SyntheticMarket(seed)
        assert m.universe(8) == list(bases)
        medians = []
        for symbol, base in bases.items():
            c = m.candles(symbol, Timeframe.H4, T0 - 60 * DAY, T0)
            assert base / 5 < c.low.min() and c.high.max() < base * 5, symbol
            medians.append(float(np.median(c.close)))
        assert len(set(medians)) == len(medians)


def test_generated_symbols_spread_over_many_price_scales() -> None:
    m = SyntheticMarket(8)
    prices = [m.profile(s).base_price for s in m.universe(108)[8:]]
    assert min(prices) >= 0.001 and max(prices) <= 5000
    assert min(prices) < 0.01 and max(prices) > 500
    vols = [m.profile(s).daily_vol for s in m.universe(108)[8:]]
    assert max(vols) > 1.5 * min(vols)


# --- universe and specs -----------------------------------------------------------------------


def test_universe_lists_majors_then_generated_names() -> None:
    m = SyntheticMarket(1)
    assert m.universe(0) == []
    assert m.universe(3) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    names = m.universe(600)
    assert names[7:10] == ["LINKUSDT", "S0009USDT", "S0010USDT"]
    assert names[-1] == "S0600USDT"
    assert len(set(names)) == 600
    assert m.universe(10_001)[-1] == "S10001USDT"


@pytest.mark.parametrize("symbol", ["FOOUSDT", "S0005USDT", "S09USDT", "S00009USDT", "btcusdt"])
def test_unknown_symbols_are_rejected_naming_the_universe(symbol: str) -> None:
    with pytest.raises(ValueError, match=r"unknown synthetic symbol .*S0009USDT, S0010USDT"):
        SyntheticMarket(1).candles(symbol, Timeframe.M1, T0, T0 + HOUR)


@pytest.mark.parametrize(
    ("symbol", "tick", "contract", "leverage"),
    [
        ("BTCUSDT", "0.1", "0.001", 100),
        ("ETHUSDT", "0.01", "0.01", 100),
        ("XRPUSDT", "0.0001", "10", 50),
        ("DOGEUSDT", "0.00001", "100", 50),
    ],
)
def test_major_specs_follow_bitmart(symbol: str, tick: str, contract: str, leverage: int) -> None:
    spec = SyntheticMarket(1).spec(symbol)
    assert spec.tick_size == Decimal(tick)
    assert spec.contract_size == Decimal(contract)
    assert spec.max_leverage == leverage
    assert (spec.volume_step, spec.min_volume, spec.min_leverage) == (1, 1, 1)
    assert spec.max_volume > spec.market_max_volume >= 1000
    assert spec.status == "Trading" and spec.is_trading
    assert spec.open_timestamp_ms is not None and spec.open_timestamp_ms <= T0 - 365 * DAY


def test_generated_spec_matches_its_price_scale() -> None:
    m = SyntheticMarket(1)
    for symbol in m.universe(40)[8:]:
        spec = m.spec(symbol)
        price = m.profile(symbol).base_price
        assert spec.base_currency + spec.quote_currency == symbol
        assert 1 <= float(spec.contract_size) * price <= 100
        assert 1e4 <= price / float(spec.tick_size) < 1e5  # five significant digits
        assert spec.max_leverage == 50


def test_spec_turnover_is_that_of_the_generated_candles() -> None:
    m = SyntheticMarket(2)
    as_of = T0 + 7 * HOUR + 30_000  # mid-minute: the forming minute is left out
    spec = m.spec("SOLUSDT", as_of_ms=as_of)
    c = m.candles("SOLUSDT", Timeframe.M1, as_of - DAY, as_of)
    assert len(c) == 1439 and c.open_time[-1] == T0 + 7 * HOUR - MINUTE_MS
    assert spec.last_price == Decimal(repr(float(c.close[-1])))
    assert spec.turnover_24h == Decimal(f"{float(np.sum(c.volume * c.close)):.2f}")
    expected = m.spec("SOLUSDT").turnover_24h
    assert spec.turnover_24h is not None and expected is not None
    assert expected / 4 < spec.turnover_24h < expected * 4


# --- history on demand (its speed: benchmarks/bench_synthetic.py) ------------------------------


def test_newest_500_candles_of_two_timeframes_again_and_again() -> None:
    m = SyntheticMarket(42)
    now = int(time.time() * 1000)

    def fetch() -> list[Candles]:
        out = []
        for tf in (Timeframe.M1, Timeframe.M5):
            end = tf.floor_ms(now)
            got = m.candles("S0100USDT", tf, end - 500 * tf.ms, end)
            assert len(got) == 500 and got.last_open_ms == end - tf.ms
            out.append(got)
        return out

    first, again = fetch(), fetch()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.close, b.close)


# --- building blocks --------------------------------------------------------------------------


@pytest.mark.parametrize("coef", [0.5, 0.85, 0.97, 0.995])
def test_ar1_filter_matches_the_plain_recursion(coef: float) -> None:
    shocks = np.random.default_rng(0).standard_normal(1000)
    expected, x = [], 0.3
    for u in shocks:
        x = coef * x + u
        expected.append(x)
    np.testing.assert_allclose(ar1(coef, shocks, 0.3), expected, rtol=1e-9, atol=1e-9)


def test_grid_values_are_the_exact_decimals() -> None:
    units = np.array([1, 3, 7, 600001, 123456789])
    for step in ("0.1", "0.00001", "1E-7", "10", "0.25"):
        values = grid_values(units, Decimal(step))
        assert [Decimal(repr(float(v))) for v in values] == [u * Decimal(step) for u in units]
