"""Field names a profile may read, and how each is computed from candles.

Grammar: ``BASE [_TF] [_prev[N]]`` — e.g. ``ema_20``, ``rsi_prev``, ``adx_1h``, ``close_5m_prev2``.
``BASE`` is one of the patterns in `BASES`; ``_TF`` reads the field on another timeframe (its last
candle closed at the same moment); ``_prev`` / ``_prevN`` reads the value 1 / N bars earlier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import indicators as ind
from providers.candles import Candles, FloatArray
from providers.timeframes import Timeframe

Compute = Callable[[Candles], FloatArray]
DAY_MS = 86_400_000
#: `FieldDef.anchor` of values computed from a fixed anchor (see `indicators.anchored`).
SETTLE = "settle"


@dataclass(frozen=True)
class FieldDef:
    """How to compute one base field: a cache key shared by fields of the same indicator call.

    `needs` is the number of candles after which the value is settled
    (`indicators.settled_candles`). Indicators with a seed or a running total are computed from
    a fixed anchor (`anchor="settle"`, see `indicators.anchored`), so they read between `needs`
    and `needs + step - 1` candles depending on the bar. Fields anchored to the UTC day
    (`anchor="day"`: VWAP) need every candle since 00:00 of the bar they are read on, and
    `anchor="previous_day"` (floor pivots) the whole previous day as well. What a field needs
    therefore depends on the moment (`needs_at`); `needs_on` is the worst case.
    """

    name: str
    key: str
    compute: Compute
    needs: int
    description: str
    anchor: str | None = None

    def needs_at(self, timeframe: Timeframe, moment_ms: int) -> int:
        """Candles needed to read the value of the bar last closed at `moment_ms`."""
        if self.anchor is None:
            return self.needs
        last_open = timeframe.last_closed_open_ms(moment_ms)
        if self.anchor == SETTLE:
            return ind.window_at(last_open, timeframe.ms, self.needs)
        in_day = (last_open % DAY_MS) // timeframe.ms + 1
        whole_day = DAY_MS // timeframe.ms if self.anchor == "previous_day" else 0
        return max(self.needs, in_day + whole_day)

    def needs_on(self, timeframe: Timeframe) -> int:
        """Worst case of `needs_at`."""
        if self.anchor is None:
            return self.needs
        if self.anchor == SETTLE:
            return ind.worst_window(timeframe.ms, self.needs)
        days = 2 if self.anchor == "previous_day" else 1
        return max(self.needs, days * DAY_MS // timeframe.ms)


@dataclass(frozen=True)
class FieldRef:
    """A parsed field reference."""

    text: str
    base: FieldDef
    timeframe: Timeframe | None
    shift: int

    def needs_on(self, evaluated: Timeframe) -> int:
        """Worst-case candles needed on the field's own timeframe, evaluated on `evaluated`."""
        return self.base.needs_on(self.timeframe or evaluated) + self.shift

    def needs_at(self, evaluated: Timeframe, moment_ms: int, extra: int = 0) -> int:
        """Candles required at `moment_ms`, reading up to `shift + extra` bars back."""
        tf = self.timeframe or evaluated
        back = self.shift + extra
        if self.base.anchor == SETTLE:
            # Anchors never move back in time: the oldest bar read has the oldest anchor.
            return self.base.needs_at(tf, moment_ms - back * tf.ms) + back
        return max(
            self.base.needs_at(tf, moment_ms) + back,
            self.base.needs_at(tf, moment_ms - back * tf.ms) + back,
        )


class UnknownFieldError(ValueError):
    pass


def _ohlcv(col: str) -> Compute:
    return lambda c: np.asarray(getattr(c, col), dtype=np.float64)


def _pick(compute: Callable[[Candles], tuple[FloatArray, ...]], index: int) -> Compute:
    return lambda c: compute(c)[index]


_Builder = Callable[[re.Match[str]], FieldDef]


def _ema(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1))
    return FieldDef(
        m.group(0),
        f"ema:{n}",
        lambda c: ind.ema(c.close, n),
        ind.settled_candles("ema", period=n),
        f"EMA({n}) of close",
        anchor=SETTLE,
    )


def _sma(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1))
    return FieldDef(
        m.group(0),
        f"sma:{n}",
        lambda c: ind.sma(c.close, n),
        ind.settled_candles("sma", period=n),
        f"SMA({n}) of close",
        anchor=SETTLE,
    )


def _rsi(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1) or 14)
    return FieldDef(
        m.group(0),
        f"rsi:{n}",
        lambda c: ind.rsi(c.close, n),
        ind.settled_candles("rsi", period=n),
        f"RSI({n}), Wilder",
        anchor=SETTLE,
    )


def _atr(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1) or 14)
    return FieldDef(
        m.group(0),
        f"atr:{n}",
        lambda c: ind.atr(c.high, c.low, c.close, n),
        ind.settled_candles("atr", period=n),
        f"ATR({n}), Wilder",
        anchor=SETTLE,
    )


def _atr_pct(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1) or 14)
    return FieldDef(
        m.group(0),
        f"atr_pct:{n}",
        lambda c: ind.atr(c.high, c.low, c.close, n) / c.close,
        ind.settled_candles("atr", period=n),
        f"ATR({n}) / close",
        anchor=SETTLE,
    )


def _macd(m: re.Match[str]) -> FieldDef:
    part = m.group(1) or "line"
    index = {"line": 0, "signal": 1, "hist": 2}[part]
    return FieldDef(
        m.group(0),
        f"macd:{part}",
        _pick(lambda c: tuple(ind.macd(c.close)), index),
        ind.settled_candles("macd"),
        f"MACD(12,26,9) {part}",
        anchor=SETTLE,
    )


def _adx(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1) or 14)
    return FieldDef(
        m.group(0),
        f"adx:{n}",
        _pick(lambda c: tuple(ind.adx(c.high, c.low, c.close, n)), 0),
        ind.settled_candles("adx", period=n),
        f"ADX({n})",
        anchor=SETTLE,
    )


def _di(m: re.Match[str]) -> FieldDef:
    index = 1 if m.group(1) == "plus" else 2
    return FieldDef(
        m.group(0),
        f"di:{m.group(1)}",
        _pick(lambda c: tuple(ind.adx(c.high, c.low, c.close, 14)), index),
        ind.settled_candles("adx", period=14),
        f"{m.group(1)} DI(14)",
        anchor=SETTLE,
    )


def _bollinger(m: re.Match[str]) -> FieldDef:
    part = m.group(1)
    compute: Compute
    if part == "width":

        def width(c: Candles) -> FloatArray:
            upper, middle, lower = ind.bollinger(c.close)
            return np.asarray((upper - lower) / middle, dtype=np.float64)

        compute = width
    else:
        index = {"upper": 0, "middle": 1, "lower": 2}[part]
        compute = _pick(lambda c: tuple(ind.bollinger(c.close)), index)
    return FieldDef(
        m.group(0),
        f"bb:{part}",
        compute,
        ind.settled_candles("bollinger"),
        f"Bollinger(20, 2) {part}",
        anchor=SETTLE,
    )


def _stoch_rsi(m: re.Match[str]) -> FieldDef:
    index = 0 if m.group(1) == "k" else 1
    return FieldDef(
        m.group(0),
        f"stochrsi:{m.group(1)}",
        _pick(lambda c: tuple(ind.stoch_rsi(c.close)), index),
        ind.settled_candles("stoch_rsi"),
        f"Stochastic RSI %{m.group(1).upper()}",
        anchor=SETTLE,
    )


def _vwap(m: re.Match[str]) -> FieldDef:
    return FieldDef(
        m.group(0),
        "vwap:day",
        lambda c: ind.vwap_daily(c.open_time, c.high, c.low, c.close, c.volume),
        ind.required_candles("vwap_daily"),
        "VWAP anchored at 00:00 UTC",
        anchor="day",
    )


def _vwap_rolling(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1))
    return FieldDef(
        m.group(0),
        f"vwap:{n}",
        lambda c: ind.vwap_rolling(c.high, c.low, c.close, c.volume, n),
        ind.settled_candles("vwap_rolling", window=n),
        f"VWAP over {n} bars",
        anchor=SETTLE,
    )


def _volume_ratio(m: re.Match[str]) -> FieldDef:
    n = int(m.group(1) or 20)
    return FieldDef(
        m.group(0),
        f"volratio:{n}",
        lambda c: ind.volume_ratio(c.volume, n),
        ind.settled_candles("volume_ratio", window=n),
        f"volume / mean of the previous {n} volumes",
        anchor=SETTLE,
    )


def _pivot(m: re.Match[str]) -> FieldDef:
    level = m.group(1)

    def compute(c: Candles) -> FloatArray:
        pivots = ind.daily_floor_pivots(
            c.open_time, c.high, c.low, c.close, interval_ms=c.timeframe.ms
        )
        return np.asarray(getattr(pivots, level), dtype=np.float64)

    return FieldDef(
        m.group(0),
        f"pivot:{level}",
        compute,
        1,
        f"classic floor pivot {level.upper()} of the previous UTC day",
        anchor="previous_day",
    )


BASES: tuple[tuple[str, _Builder, str], ...] = (
    (
        r"(open|high|low|close|volume)",
        lambda m: FieldDef(m.group(0), m.group(0), _ohlcv(m.group(0)), 1, f"candle {m.group(0)}"),
        "open, close ...",
    ),
    (r"ema_(\d{1,4})", _ema, "ema_<n>"),
    (r"sma_(\d{1,4})", _sma, "sma_<n>"),
    (r"rsi(?:_(\d{1,3}))?", _rsi, "rsi, rsi_<n>"),
    (r"atr(?:_(\d{1,3}))?", _atr, "atr, atr_<n>"),
    (r"atr_pct(?:_(\d{1,3}))?", _atr_pct, "atr_pct, atr_pct_<n>"),
    (r"macd(?:_(signal|hist|line))?", _macd, "macd, macd_signal, macd_hist"),
    (r"adx(?:_(\d{1,3}))?", _adx, "adx, adx_<n>"),
    (r"(plus|minus)_di", _di, "plus_di, minus_di"),
    (r"bb_(upper|middle|lower|width)", _bollinger, "bb_upper, bb_middle, bb_lower, bb_width"),
    (r"stoch_rsi_(k|d)", _stoch_rsi, "stoch_rsi_k, stoch_rsi_d"),
    (r"vwap", _vwap, "vwap"),
    (r"vwap_(\d{1,4})", _vwap_rolling, "vwap_<n>"),
    (r"volume_ratio(?:_(\d{1,3}))?", _volume_ratio, "volume_ratio, volume_ratio_<n>"),
    (r"pivot_(p|r1|r2|r3|s1|s2|s3)", _pivot, "pivot_p, pivot_r1..r3, pivot_s1..s3"),
)
_COMPILED = tuple((re.compile(rf"^{pattern}$"), builder) for pattern, builder, _ in BASES)
_TF_SUFFIX = re.compile(r"^(?P<base>.+?)_(?P<tf>1m|5m|15m|1h|4h|1d)$")
_PREV_SUFFIX = re.compile(r"^(?P<base>.+?)_prev(?P<n>\d{0,3})$")


def known_fields() -> list[str]:
    """Human-readable list of field patterns, for error messages."""
    return [doc for _, _, doc in BASES] + ["<field>_<tf>", "<field>_prev[N]"]


def _base(name: str) -> FieldDef | None:
    for regex, builder in _COMPILED:
        match = regex.match(name)
        if match:
            return builder(match)
    return None


def parse_field(text: str) -> FieldRef:
    """Parse a field reference; `UnknownFieldError` names the known patterns."""
    name = text.strip().lower()
    shift = 0
    timeframe: Timeframe | None = None
    base = _base(name)
    rest = name
    if base is None:
        prev = _PREV_SUFFIX.match(rest)
        if prev:
            shift = int(prev.group("n") or 1)
            rest = prev.group("base")
        base = _base(rest)
    if base is None:
        tf = _TF_SUFFIX.match(rest)
        if tf:
            timeframe = Timeframe(tf.group("tf"))
            rest = tf.group("base")
            base = _base(rest)
    if base is None:
        raise UnknownFieldError(
            f"unknown field {text!r}; known fields: {', '.join(known_fields())}"
        )
    return FieldRef(text=text, base=base, timeframe=timeframe, shift=shift)


def is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and bool(np.isfinite(float(value)))
    )
