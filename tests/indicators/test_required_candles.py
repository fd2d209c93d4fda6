"""`required_candles` against the first defined bar on real candles and TA-Lib's lookbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from talib import abstract

import indicators as ind
from tests.indicators.conftest import Market

DAY = 86_400_000

Outputs = tuple[np.ndarray, ...]


def _outputs(result: Any) -> Outputs:
    return tuple(result) if isinstance(result, tuple) else (result,)


# name -> (compute on a market, parameter sets to check)
SERIES_CASES: dict[str, tuple[Callable[..., Outputs], list[dict[str, Any]]]] = {
    "sma": (lambda m, **p: _outputs(ind.sma(m.close, **p)), [{"period": 1}, {"period": 20}]),
    "ema": (
        lambda m, **p: _outputs(ind.ema(m.close, **p)),
        [{"period": 1}, {"period": 9}, {"period": 200}],
    ),
    "rsi": (lambda m, **p: _outputs(ind.rsi(m.close, **p)), [{}, {"period": 2}, {"period": 21}]),
    "stoch_rsi": (
        lambda m, **p: _outputs(ind.stoch_rsi(m.close, **p)),
        [{}, {"rsi_period": 5, "stoch_period": 10, "k_smoothing": 1, "d_smoothing": 4}],
    ),
    "macd": (
        lambda m, **p: _outputs(ind.macd(m.close, **p)),
        [{}, {"fast": 5, "slow": 13, "signal": 1}],
    ),
    "adx": (
        lambda m, **p: _outputs(ind.adx(m.high, m.low, m.close, **p)),
        [{}, {"period": 2}, {"period": 5}],
    ),
    "true_range": (lambda m: _outputs(ind.true_range(m.high, m.low, m.close)), [{}]),
    "atr": (
        lambda m, **p: _outputs(ind.atr(m.high, m.low, m.close, **p)),
        [{}, {"period": 1}, {"period": 7}],
    ),
    "bollinger": (
        lambda m, **p: _outputs(ind.bollinger(m.close, **p)),
        [{}, {"period": 2, "deviations": 1.5}],
    ),
    "typical_price": (lambda m: _outputs(ind.typical_price(m.high, m.low, m.close)), [{}]),
    "vwap_daily": (
        lambda m: _outputs(ind.vwap_daily(m.open_time, m.high, m.low, m.close, m.volume)),
        [{}],
    ),
    "vwap_rolling": (
        lambda m, **p: _outputs(ind.vwap_rolling(m.high, m.low, m.close, m.volume, **p)),
        [{}, {"window": 1}, {"window": 60}],
    ),
    "volume_ratio": (
        lambda m, **p: _outputs(ind.volume_ratio(m.volume, **p)),
        [{}, {"window": 1}, {"window": 50}],
    ),
    "shift": (lambda m, **p: _outputs(ind.shift(m.close, **p)), [{}, {"n": 0}, {"n": 5}]),
    "slope": (
        lambda m, **p: _outputs(ind.slope(m.close, **p)),
        [{"lookback": 1}, {"lookback": 10}],
    ),
}

# Boolean helpers have no NaN: "defined" means able to be True. They are checked on a
# series that rises every bar, where each one is True as soon as it can be.
RISING = np.arange(1.0, 301.0)
FLAG_CASES: dict[str, tuple[Callable[..., np.ndarray], list[dict[str, Any]]]] = {
    "increasing": (lambda **p: ind.increasing(RISING, **p), [{"n": 1}, {"n": 4, "strict": False}]),
    "decreasing": (lambda **p: ind.decreasing(-RISING, **p), [{"n": 1}, {"n": 6}]),
    "crossed_above": (lambda: ind.crossed_above(RISING, 1.5), [{}]),
    "crossed_below": (lambda: ind.crossed_below(-RISING, -1.5), [{}]),
}

TALIB_LOOKBACKS: dict[str, Callable[..., int]] = {
    "sma": lambda period: _lookback("SMA", timeperiod=period),
    "ema": lambda period: _lookback("EMA", timeperiod=period),
    "rsi": lambda period=14: _lookback("RSI", timeperiod=period),
    "macd": lambda fast=12, slow=26, signal=9: _lookback(
        "MACD", fastperiod=fast, slowperiod=slow, signalperiod=signal
    ),
    "atr": lambda period=14: _lookback("ATR", timeperiod=period),
    "adx": lambda period=14: max(
        _lookback(name, timeperiod=period) for name in ("ADX", "PLUS_DI", "MINUS_DI")
    ),
    "bollinger": lambda period=20, deviations=2.0: _lookback("BBANDS", timeperiod=period),
    "true_range": lambda: _lookback("TRANGE"),
    # TA-Lib's fast %D is our %K; our %D adds d_smoothing - 1 bars.
    "stoch_rsi": lambda rsi_period=14, stoch_period=14, k_smoothing=3, d_smoothing=3: (
        _lookback(
            "STOCHRSI", timeperiod=rsi_period, fastk_period=stoch_period, fastd_period=k_smoothing
        )
        + d_smoothing
        - 1
    ),
}


def _lookback(name: str, **params: Any) -> int:
    function = abstract.Function(name)  # type: ignore[attr-defined]
    function.set_parameters(params)
    return int(function.lookback)


def test_every_indicator_has_a_case() -> None:
    covered = set(SERIES_CASES) | set(FLAG_CASES) | {"daily_floor_pivots"}
    assert covered == set(ind.INDICATORS)


def _cases() -> list[tuple[str, dict[str, Any]]]:
    return [(name, params) for name, (_, sets) in SERIES_CASES.items() for params in sets]


@pytest.mark.parametrize(("name", "params"), _cases(), ids=lambda v: str(v))
def test_required_is_first_defined_bar_plus_one(market: Market, name: str, params: dict) -> None:
    compute, _ = SERIES_CASES[name]
    m = market.head(3_000)
    outputs = compute(m, **params)
    all_defined = np.logical_and.reduce([np.isfinite(out) for out in outputs])
    first = int(np.argmax(all_defined))
    assert all_defined[first:].all(), "gap after the first defined bar"
    required = ind.required_candles(name, **params)
    assert required == first + 1
    # That many candles define every output at the last bar. With one fewer, no exception,
    # and the slowest output (MACD signal, ADX, %D...) is NaN throughout.
    tail = _outputs(compute(m.head(required), **params))
    assert all(np.isfinite(out[-1]) for out in tail)
    short = _outputs(compute(m.head(required - 1), **params))
    assert all(len(out) == required - 1 for out in short)
    assert any(np.isnan(out).all() for out in short)


@pytest.mark.parametrize(("name", "params"), _cases(), ids=lambda v: str(v))
def test_no_candles_gives_empty_outputs(btc_1m: Market, name: str, params: dict) -> None:
    compute, _ = SERIES_CASES[name]
    assert all(len(out) == 0 for out in compute(btc_1m.head(0), **params))


@pytest.mark.parametrize(
    ("name", "params"),
    [(name, params) for name, (_, sets) in FLAG_CASES.items() for params in sets],
    ids=lambda v: str(v),
)
def test_flags_first_possible_true_is_required_minus_one(name: str, params: dict) -> None:
    compute, _ = FLAG_CASES[name]
    flags = compute(**params)
    assert int(np.argmax(flags)) + 1 == ind.required_candles(name, **params)


@pytest.mark.parametrize(
    ("name", "params"),
    [(name, params) for name, params in _cases() if name in TALIB_LOOKBACKS],
    ids=lambda v: str(v),
)
def test_required_is_talib_lookback_plus_one(name: str, params: dict) -> None:
    assert ind.required_candles(name, **params) == TALIB_LOOKBACKS[name](**params) + 1


@pytest.mark.parametrize(
    "relative",
    ["binance-usdm-futures_2023-07/BTCUSDT-1m.csv", "binance-usdm-futures_2023-07/ETHUSDT-5m.csv"],
)
def test_daily_pivots_required_for_a_bar_in_the_last_slot_of_its_day(
    load: Callable[[str], Market], relative: str
) -> None:
    m = load(relative)
    required = ind.required_candles("daily_floor_pivots", interval_ms=m.interval_ms)
    assert required == 2 * DAY // m.interval_ms
    last_slots = np.flatnonzero((m.open_time + m.interval_ms) % DAY == 0)
    end = int(last_slots[last_slots >= required][2]) + 1
    for count, defined in ((required, True), (required - 1, False)):
        s = slice(end - count, end)
        pivots = ind.daily_floor_pivots(
            m.open_time[s], m.high[s], m.low[s], m.close[s], interval_ms=m.interval_ms
        )
        assert np.isfinite(pivots.p[-1]) == defined
        if not defined:
            assert np.isnan(np.array(pivots)).all()


def test_daily_pivots_required_suffices_at_any_time_of_day(btc_1m: Market) -> None:
    required = ind.required_candles("daily_floor_pivots", interval_ms=60_000)
    # Tails ending at every minute of one day, starting after a complete day is present.
    for end in range(5_000, 5_000 + 1_440, 97):
        s = slice(end - required, end)
        m = btc_1m
        pivots = ind.daily_floor_pivots(
            m.open_time[s], m.high[s], m.low[s], m.close[s], interval_ms=60_000
        )
        assert np.isfinite(pivots.p[-1])


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="unknown indicator 'wma'; known: adx, atr"):
        ind.required_candles("wma")
    with pytest.raises(ValueError, match="rsi: parameters window do not fit; accepted: period"):
        ind.required_candles("rsi", window=14)
    with pytest.raises(ValueError, match="daily_floor_pivots: parameters none do not fit"):
        ind.required_candles("daily_floor_pivots")
    with pytest.raises(ValueError, match="ema: period must be between 1 and 100000, got 0"):
        ind.required_candles("ema", period=0)
    with pytest.raises(ValueError, match="macd: fast must be < slow"):
        ind.required_candles("macd", fast=26, slow=12)
    with pytest.raises(ValueError, match="must divide a day"):
        ind.required_candles("daily_floor_pivots", interval_ms=7 * 60_000)
