"""The metric source of the execution selector: trade metrics computed from the decision's
settled fields (`tradeentry.metrics`), and the spread from the exchange when a profile asks for
it. The fields each metric reads (`mtf.rules.selector.metric_fields`) are part of the
profile's history requirement, so a live window and a whole history give the same numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mtf.rules.fields import FieldRef, parse_field
from mtf.rules.frame import Frame, Missing, View
from mtf.rules.selector import PIVOT_LEVELS, MetricSource
from providers.timeframes import Timeframe
from tradeentry import metrics as tm

SpreadSource = Callable[[], float | None]

_ATR, _CLOSE, _VWAP, _SMA21 = (parse_field(name) for name in ("atr", "close", "vwap", "sma_21"))


def _pivot_refs(pivot_tf: Timeframe) -> tuple[FieldRef, ...]:
    return tuple(parse_field(f"pivot_{level}_{pivot_tf}") for level in PIVOT_LEVELS)


def metric_source(
    frames: Mapping[Timeframe, Frame],
    as_of_ms: int,
    spread: SpreadSource | None = None,
    *,
    pivot_tf: Timeframe,
    zone: tm.ZoneParams = tm.ZoneParams(),
    stop: tm.StopParams = tm.StopParams(),
) -> MetricSource:
    """Metrics per (timeframe, side), computed once each and only when asked for; pivots of
    the previous day are read on `pivot_tf` (the profile's `pivot_timeframe`)."""
    cache: dict[tuple[Timeframe, str], dict[str, float | None]] = {}
    spread_value: list[float | None] = []
    pivots = _pivot_refs(pivot_tf)

    def metrics(tf: Timeframe, side: str) -> dict[str, float | None]:
        key = (tf, side)
        if key in cache:
            return cache[key]
        view = View(frames, tf, as_of_ms)

        def read(ref: FieldRef) -> float | None:
            value = view.value(ref)
            return None if isinstance(value, Missing) else value

        atr, close = read(_ATR), read(_CLOSE)
        anchor = read(_VWAP)
        if anchor is None:
            anchor = read(_SMA21)
        levels = sorted(v for v in (read(ref) for ref in pivots) if v is not None)
        if spread is not None and not spread_value:
            spread_value.append(spread())
        out: dict[str, float | None] = {
            "atr_bps": tm.atr_bps(atr, close),
            "entry_zone_width_pct": tm.entry_zone_width_pct(atr, anchor, zone),
            "expected_r_multiple": tm.expected_r_multiple(close, atr, side, levels, stop),
            "spread_bps": spread_value[0] if spread_value else None,
        }
        cache[key] = out
        return out

    return metrics
