"""The metric source of the execution selector: trade metrics computed from the decision's
candles (`tradeentry.metrics`), and the spread from the exchange when a profile asks for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mtf.rules.frame import Frame
from mtf.rules.selector import MetricSource
from providers.candles import Candles
from providers.timeframes import DESCENDING, Timeframe
from tradeentry import metrics as tm

SpreadSource = Callable[[], float | None]


DAY_MS = 86_400_000
#: Candles read for ATR-based metrics (Wilder smoothing settles well within this).
ATR_WINDOW = 300


def _window(candles: Candles, as_of_ms: int, bars: int) -> Candles:
    """The newest `bars` candles closed at `as_of_ms` (frames may hold long histories)."""
    return candles.until(as_of_ms).tail(bars)


def _pivot_levels(frames: Mapping[Timeframe, Frame], as_of_ms: int) -> list[float]:
    """Yesterday's floor pivots from the longest intraday timeframe that covers that day."""
    for tf in DESCENDING:
        frame = frames.get(tf)
        if frame is None or tf is Timeframe.D1:
            continue
        levels = tm.pivot_levels(_window(frame.candles, as_of_ms, 2 * DAY_MS // tf.ms + 1))
        if levels:
            return levels
    return []


def metric_source(
    frames: Mapping[Timeframe, Frame],
    as_of_ms: int,
    spread: SpreadSource | None = None,
    zone: tm.ZoneParams = tm.ZoneParams(),
    stop: tm.StopParams = tm.StopParams(),
) -> MetricSource:
    """Metrics per (timeframe, side), computed once each and only when asked for."""
    cache: dict[tuple[Timeframe, str], dict[str, float | None]] = {}
    spread_value: list[float | None] = []
    levels: list[list[float]] = []

    def metrics(tf: Timeframe, side: str) -> dict[str, float | None]:
        key = (tf, side)
        if key in cache:
            return cache[key]
        frame = frames.get(tf)
        bars = max(ATR_WINDOW, DAY_MS // tf.ms + 1)  # the zone's VWAP reaches back to midnight
        candles: Candles | None = _window(frame.candles, as_of_ms, bars) if frame else None
        if not levels:
            levels.append(_pivot_levels(frames, as_of_ms))
        if spread is not None and not spread_value:
            spread_value.append(spread())
        out: dict[str, float | None] = {
            "atr_bps": tm.atr_bps(candles) if candles is not None and len(candles) else None,
            "entry_zone_width_pct": (
                tm.entry_zone_width_pct(candles, zone) if candles is not None else None
            ),
            "expected_r_multiple": (
                tm.expected_r_multiple(candles, side, levels[0], stop)
                if candles is not None and len(candles)
                else None
            ),
            "spread_bps": spread_value[0] if spread_value else None,
        }
        cache[key] = out
        return out

    return metrics
