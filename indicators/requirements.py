"""How many candles each indicator needs: for a defined value, and for a settled one.

`required_candles(name, **params)` takes the indicator's function name and the same
keyword parameters as the function (defaults included; parameters that do not change the
count, such as Bollinger `deviations`, are accepted and ignored). The count is the TA-Lib
lookback + 1, i.e. the index of the first defined value + 1, for *every* output of the
function (for MACD that is the signal line and histogram, not just the MACD line). It
assumes TA-Lib's default unstable period of 0; `talib.set_unstable_period` would lengthen
the warm-up of EMA, RSI, ATR and ADX.

A defined value is not a converged one: EMA/RSI/ATR/ADX keep the memory of their seed (see
`indicators.moving_averages`), and `vwap_daily` on a tail that starts after 00:00 UTC is the
VWAP of that tail only. `daily_floor_pivots` needs `interval_ms` and counts the worst case,
a last bar in the final slot of its day: `2 * 86_400_000 / interval_ms` candles.

`settled_candles(name, **params)` is what the engine reads: the defined count plus, for every
recursive smoothing stage (EMA, Wilder), the bars after which what the stage still remembers
of its seed weighs less than `SETTLE_TOLERANCE` (1 %): `ceil(ln(0.01) / ln(1 - alpha))` bars,
about 2.3 * (n + 1) for an EMA(n) and 4.6 * n for a Wilder average of n. Window indicators
(SMA, Bollinger, rolling VWAP, volume ratio) have no seed: settled is defined. How a settled
value is then computed the same way whatever history is loaded: `indicators.anchored`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from indicators._arrays import check_period, check_positive
from indicators._days import DAY_MS


def _ema(period: object) -> int:
    return check_period("ema", "period", period)


def _sma(period: object) -> int:
    return check_period("sma", "period", period)


def _rsi(period: object = 14) -> int:
    return check_period("rsi", "period", period, minimum=2) + 1


def _stoch_rsi(
    rsi_period: object = 14,
    stoch_period: object = 14,
    k_smoothing: object = 3,
    d_smoothing: object = 3,
) -> int:
    owner = "stoch_rsi"
    return (
        check_period(owner, "rsi_period", rsi_period, minimum=2)
        + check_period(owner, "stoch_period", stoch_period, minimum=2)
        + check_period(owner, "k_smoothing", k_smoothing)
        + check_period(owner, "d_smoothing", d_smoothing)
        - 2
    )


def _macd(fast: object = 12, slow: object = 26, signal: object = 9) -> int:
    f = check_period("macd", "fast", fast, minimum=2)
    s = check_period("macd", "slow", slow, minimum=2)
    if f >= s:
        raise ValueError(f"macd: fast must be < slow, got fast={f}, slow={s}")
    return s + check_period("macd", "signal", signal) - 1


def _true_range() -> int:
    return 2


def _atr(period: object = 14) -> int:
    return check_period("atr", "period", period) + 1


def _adx(period: object = 14) -> int:
    return 2 * check_period("adx", "period", period, minimum=2)


def _bollinger(period: object = 20, deviations: object = 2.0) -> int:
    check_positive("bollinger", "deviations", deviations)
    return check_period("bollinger", "period", period, minimum=2)


def _typical_price() -> int:
    return 1


def _vwap_daily() -> int:
    return 1


def _vwap_rolling(window: object = 14) -> int:
    return check_period("vwap_rolling", "window", window)


def _volume_ratio(window: object = 20) -> int:
    return check_period("volume_ratio", "window", window) + 1


def _daily_floor_pivots(interval_ms: object) -> int:
    step = check_period("daily_floor_pivots", "interval_ms", interval_ms, maximum=DAY_MS)
    if DAY_MS % step:
        raise ValueError(
            f"daily_floor_pivots: interval_ms must divide a day ({DAY_MS} ms), got {step}"
        )
    return 2 * (DAY_MS // step)


def _shift(n: object = 1) -> int:
    return check_period("shift", "n", n, minimum=0) + 1


def _slope(lookback: object) -> int:
    return check_period("slope", "lookback", lookback) + 1


def _increasing(n: object, strict: object = True) -> int:
    return check_period("increasing", "n", n) + 1


def _decreasing(n: object, strict: object = True) -> int:
    return check_period("decreasing", "n", n) + 1


def _crossed() -> int:
    return 2


_RULES: dict[str, Callable[..., int]] = {
    "sma": _sma,
    "ema": _ema,
    "rsi": _rsi,
    "stoch_rsi": _stoch_rsi,
    "macd": _macd,
    "adx": _adx,
    "true_range": _true_range,
    "atr": _atr,
    "bollinger": _bollinger,
    "typical_price": _typical_price,
    "vwap_daily": _vwap_daily,
    "vwap_rolling": _vwap_rolling,
    "volume_ratio": _volume_ratio,
    "daily_floor_pivots": _daily_floor_pivots,
    "shift": _shift,
    "slope": _slope,
    "increasing": _increasing,
    "decreasing": _decreasing,
    "crossed_above": _crossed,
    "crossed_below": _crossed,
}

#: Names accepted by `required_candles`, one per series-producing function.
INDICATORS: tuple[str, ...] = tuple(_RULES)


def required_candles(name: str, **params: object) -> int:
    """Candles needed for `name(..., **params)` to be defined at the last bar."""
    try:
        rule = _RULES[name]
    except KeyError:
        known = ", ".join(sorted(_RULES))
        raise ValueError(f"unknown indicator {name!r}; known: {known}") from None
    signature = inspect.signature(rule)
    try:
        signature.bind(**params)
    except TypeError:
        allowed = ", ".join(signature.parameters) or "none"
        given = ", ".join(sorted(params)) or "none"
        raise ValueError(
            f"{name}: parameters {given} do not fit; accepted: {allowed} "
            "(those without a default are required)"
        ) from None
    return rule(**params)


#: Weight a recursive indicator may still give its seed once settled (see the module doc).
SETTLE_TOLERANCE = 0.01


def memory_bars(alpha: float, tolerance: float = SETTLE_TOLERANCE) -> int:
    """Bars after which a recursive average of weight `alpha` keeps under `tolerance` of its
    starting value: the smallest m with (1 - alpha) ** m <= tolerance."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if alpha == 1:
        return 0
    return math.ceil(math.log(tolerance) / math.log1p(-alpha))


def _ema_alpha(n: int) -> float:
    return 2.0 / (n + 1)


def _settle_ema(period: object) -> int:
    return _ema(period) + memory_bars(_ema_alpha(check_period("ema", "period", period)))


def _settle_rsi(period: object = 14) -> int:
    return _rsi(period) + memory_bars(1.0 / check_period("rsi", "period", period, minimum=2))


def _settle_stoch_rsi(
    rsi_period: object = 14,
    stoch_period: object = 14,
    k_smoothing: object = 3,
    d_smoothing: object = 3,
) -> int:
    defined = _stoch_rsi(rsi_period, stoch_period, k_smoothing, d_smoothing)
    return defined + memory_bars(1.0 / check_period("stoch_rsi", "rsi_period", rsi_period, 2))


def _settle_macd(fast: object = 12, slow: object = 26, signal: object = 9) -> int:
    defined = _macd(fast, slow, signal)
    # Two stages remember a seed: the slow EMA of the line, then the signal EMA.
    slow_n = check_period("macd", "slow", slow, minimum=2)
    signal_n = check_period("macd", "signal", signal)
    return defined + memory_bars(_ema_alpha(slow_n)) + memory_bars(_ema_alpha(signal_n))


def _settle_atr(period: object = 14) -> int:
    return _atr(period) + memory_bars(1.0 / check_period("atr", "period", period))


def _settle_adx(period: object = 14) -> int:
    # Wilder-smoothed directional movement, then a Wilder average of DX: two seeds.
    n = check_period("adx", "period", period, minimum=2)
    return _adx(period) + 2 * memory_bars(1.0 / n)


_SETTLED: dict[str, Callable[..., int]] = {
    **_RULES,
    "ema": _settle_ema,
    "rsi": _settle_rsi,
    "stoch_rsi": _settle_stoch_rsi,
    "macd": _settle_macd,
    "atr": _settle_atr,
    "adx": _settle_adx,
}


def settled_candles(name: str, **params: object) -> int:
    """Candles after which `name(..., **params)` at the last bar is settled: defined, and no
    longer giving its seed more than `SETTLE_TOLERANCE` of weight. `required_candles` for
    indicators without a seed."""
    required_candles(name, **params)  # validates the name and parameters
    return _SETTLED[name](**params)
