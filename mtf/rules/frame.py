"""Evaluation inputs: candles per timeframe with a lazy, shared indicator cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

import indicators as ind
from mtf.rules.fields import SETTLE, FieldDef, FieldRef
from providers.candles import Candles, FloatArray
from providers.timeframes import Timeframe

_TF_MS = {tf: tf.ms for tf in Timeframe}
_INF = float("inf")


def field_series(base: FieldDef, candles: Candles) -> FloatArray:
    """`base` over `candles`: settled fields from their anchors, so a value is the same
    whatever history the candles hold before it."""
    if base.anchor != SETTLE:
        return np.asarray(base.compute(candles), dtype=np.float64)

    def segment(lo: int, hi: int) -> FloatArray:
        return np.asarray(base.compute(candles.window(lo, hi)), dtype=np.float64)

    return ind.anchored(segment, candles.open_time, candles.timeframe.ms, base.needs)


class Frame:
    """Closed candles of one timeframe and the indicator series computed on them so far."""

    __slots__ = ("_cache", "candles")

    def __init__(self, candles: Candles) -> None:
        self.candles = candles
        self._cache: dict[str, FloatArray] = {}

    def series(self, ref: FieldRef) -> FloatArray:
        """The field's value at every candle of the frame (NaN where not computable)."""
        key = ref.base.key
        values = self._cache.get(key)
        if values is None:
            values = field_series(ref.base, self.candles)
            self._cache[key] = values
        return values

    def index_at(self, moment_ms: int) -> int:
        """Index of the newest candle closed at `moment_ms` (-1 if none)."""
        cutoff = moment_ms - self.candles.timeframe.ms
        return int(np.searchsorted(self.candles.open_time, cutoff, side="right")) - 1


@dataclass(frozen=True)
class Missing:
    """Why a value could not be read."""

    reason: str


@dataclass
class View:
    """What a rule sees: all frames, the timeframe being evaluated and the moment of decision."""

    frames: Mapping[Timeframe, Frame]
    timeframe: Timeframe
    as_of_ms: int
    offset: int = 0
    _index_cache: dict[tuple[Timeframe, int], int] = field(default_factory=dict)

    def at_offset(self, offset: int) -> View:
        """The same view `offset` bars (of the evaluated timeframe) earlier."""
        return View(self.frames, self.timeframe, self.as_of_ms, offset, self._index_cache)

    def on(self, timeframe: Timeframe) -> View:
        return View(self.frames, timeframe, self.as_of_ms, 0, self._index_cache)

    @property
    def moment_ms(self) -> int:
        return self.as_of_ms - self.offset * self.timeframe.ms

    def frame(self, timeframe: Timeframe | None = None) -> Frame | None:
        return self.frames.get(timeframe or self.timeframe)

    def value(self, ref: FieldRef, extra_shift: int = 0) -> float | Missing:
        """The field's value at this view's moment (NaN and short history become `Missing`)."""
        # The hot path of every evaluation: plain lookups, no helper calls when possible.
        tf = ref.timeframe or self.timeframe
        frame = self.frames.get(tf)
        if frame is None:
            return Missing(f"no candles loaded for {tf}")
        moment = (
            self.as_of_ms - self.offset * _TF_MS[self.timeframe] if self.offset else self.as_of_ms
        )
        key = (tf, moment)
        idx = self._index_cache.get(key)
        if idx is None:
            idx = frame.index_at(moment)
            self._index_cache[key] = idx
        shift = ref.shift + extra_shift
        base = ref.base
        if base.anchor is None:
            need = base.needs + shift
        else:
            need = base.needs_at(tf, moment - shift * _TF_MS[tf]) + shift
        if idx + 1 < need:
            have = idx + 1
            return Missing(f"not enough candles for {ref.text} on {tf} (have {have}, need {need})")
        series = frame._cache.get(base.key)
        if series is None:
            series = frame.series(ref)
        value = float(series[idx - shift])
        if value != value or value in (_INF, -_INF):
            return Missing(f"{ref.text} on {tf} is undefined at this candle")
        return value
