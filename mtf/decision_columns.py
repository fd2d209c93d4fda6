"""The multi-timeframe decision at many moments at once: `decide` over whole columns.

The same steps as `mtf.decision` (timeframes, context consolidation, execution candidates, the
execution selector with its metrics), each a few array operations over every moment, on top of
`mtf.rules.columns`. It gives, per moment, what `decide` gives at that moment: status, side,
execution timeframe, reason and blocking timeframe (the traces are the per-moment path's job:
`mtf diagnose`). With `check_data`, moments whose candles a live cycle would find stale or
holed are SKIPPED with the validator's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtf.decision import Reason
from mtf.rules import columns as c
from mtf.rules.frame import Frame
from mtf.rules.profile import CompiledProfile
from mtf.rules.selector import PIVOT_LEVELS, MetricCondition, metric_fields
from providers.timeframes import DESCENDING, Timeframe
from tradeentry import metrics as tm

READY, INVALID, SKIPPED = 0, 1, 2
STATUSES = ("READY", "INVALID", "SKIPPED")
#: Reason codes: index into this tuple (0: none).
REASONS: tuple[str | None, ...] = (None, *(r.value for r in Reason), "candle_gap", "no_candles")
_CODE = {reason: i for i, reason in enumerate(REASONS)}
#: Timeframe codes: index into DESCENDING (-1: none).
_TF = {tf: i for i, tf in enumerate(DESCENDING)}


def _tf_name(code: int) -> str | None:
    return DESCENDING[code].value if code >= 0 else None


@dataclass(frozen=True)
class DecisionColumns:
    """Per moment: status (READY/INVALID/SKIPPED code), side (+1 long, -1 short, 0), execution
    timeframe and blocking timeframe (index into `DESCENDING`, -1 none), reason code."""

    symbol: str
    moments: c.IntArray
    status: np.ndarray
    side: np.ndarray
    execution: np.ndarray
    reason: np.ndarray
    blocking: np.ndarray

    def __len__(self) -> int:
        return len(self.moments)

    def at(self, i: int) -> tuple[str, str | None, str | None, str | None, str | None]:
        """(status, side, execution timeframe, reason, blocking timeframe) of moment `i`."""
        side = int(self.side[i])
        return (
            STATUSES[int(self.status[i])],
            "long" if side > 0 else "short" if side < 0 else None,
            _tf_name(int(self.execution[i])),
            REASONS[int(self.reason[i])],
            _tf_name(int(self.blocking[i])),
        )

    def ready(self) -> np.ndarray:
        """Indices of the READY moments."""
        return np.flatnonzero(self.status == READY)


@dataclass(frozen=True)
class _Tf:
    tf: Timeframe
    signal: np.ndarray  # int8
    reason: np.ndarray  # int16 code, 0 when valid

    @property
    def valid(self) -> np.ndarray:
        return np.asarray(self.reason == 0)


def _timeframe(profile: CompiledProfile, tf: Timeframe, view: c.ColumnView) -> _Tf:
    count = len(view.moments)
    sides = profile.sides[tf]
    tv = view.on(tf)
    long = c.evaluate(sides.long, tv) if sides.long is not None else None
    short = c.evaluate(sides.short, tv) if sides.short is not None else None
    no = np.zeros(count, dtype=bool)
    long_ok = long.passed if long is not None else no
    short_ok = short.passed if short is not None else no
    kinds = [o.miss for o in (long, short) if o is not None]
    kind = c._first(*kinds) if kinds else np.zeros(count, dtype=np.int8)
    signal = np.where(long_ok & ~short_ok, 1, np.where(short_ok & ~long_ok, -1, 0)).astype(np.int8)
    reason = np.zeros(count, dtype=np.int16)
    neither = ~long_ok & ~short_ok
    reason[long_ok & short_ok] = _CODE[Reason.LONG_AND_SHORT]
    reason[neither & (kind == c.NOT_ENOUGH)] = _CODE[Reason.NOT_ENOUGH_CANDLES]
    reason[neither & (kind != c.NOT_ENOUGH)] = _CODE[Reason.NO_LONG_NO_SHORT]
    if profile.filters is not None:
        filters = c.evaluate(profile.filters, tv)
        reason[(signal != 0) & ~filters.passed] = _CODE[Reason.FILTERS_MANDATORY_FAILED]
    return _Tf(tf, signal, reason)


def _metrics(
    profile: CompiledProfile,
    tf: Timeframe,
    view: c.ColumnView,
    spread: np.ndarray | None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per metric, its (long, short) columns; NaN where unavailable (`mtf.metrics`)."""
    tv = view.on(tf)
    pivot_tf = profile.pivot_timeframe
    fields = {
        ref.text: ref
        for name in ("expected_r_multiple", "entry_zone_width_pct")
        for ref in metric_fields(name, pivot_tf)
    }

    def read(name: str) -> np.ndarray:
        return tv.value(fields[name]).values

    atr, close = read("atr"), read("close")
    vwap = read("vwap")
    anchor = np.where(np.isfinite(vwap), vwap, read("sma_21"))
    zone, stop = tm.ZoneParams(), tm.StopParams()
    with np.errstate(invalid="ignore", divide="ignore"):
        atr_bps = np.where(close > 0, atr / close * 10_000, np.nan)
        half = np.minimum(np.maximum(zone.k_atr * atr, zone.w_min * anchor), zone.w_max * anchor)
        width = np.where(anchor > 0, 2 * half / anchor * 100, np.nan)
        levels = np.vstack([read(f"pivot_{level}_{pivot_tf}") for level in PIVOT_LEVELS])
        risk = stop.atr_k * atr
        above = np.where(np.isfinite(levels) & (levels > close), levels, np.inf).min(axis=0)
        below = np.where(np.isfinite(levels) & (levels < close), levels, -np.inf).max(axis=0)
        ok = atr > 0
        r_long = np.where(ok & np.isfinite(above), np.abs(above - close) / risk, np.nan)
        r_short = np.where(ok & np.isfinite(below), np.abs(below - close) / risk, np.nan)
    spread_col = spread if spread is not None else np.full(len(view.moments), np.nan)
    return {
        "atr_bps": (atr_bps, atr_bps),
        "entry_zone_width_pct": (width, width),
        "expected_r_multiple": (r_long, r_short),
        "spread_bps": (spread_col, spread_col),
    }


_CMP = {
    "gt": np.greater,
    "gte": np.greater_equal,
    "lt": np.less,
    "lte": np.less_equal,
}


def _condition(
    cond: MetricCondition,
    tv: c.ColumnView,
    metrics: dict[str, tuple[np.ndarray, np.ndarray]] | None,
    side: np.ndarray,
) -> np.ndarray:
    if cond.field is not None:
        value = tv.value(cond.field)
        values, ok = value.values, value.miss == c.OK
    else:
        assert metrics is not None
        long, short = metrics[cond.name]
        values = np.where(side > 0, long, short)
        ok = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        return np.asarray(ok & _CMP[cond.op](values, cond.threshold))


def decide_columns(
    profile: CompiledProfile,
    symbol: str,
    frames: dict[Timeframe, Frame],
    moments: c.IntArray,
    *,
    skip_context: bool = False,
    only_execution_tf: Timeframe | None = None,
    mode: str | None = None,
    spread: np.ndarray | None = None,
    check_data: bool = False,
) -> DecisionColumns:
    """`decide` at every moment of `moments` (epoch ms, ascending)."""
    moments = np.asarray(moments, dtype=np.int64)
    count = len(moments)
    view = c.ColumnView(frames, profile.execution[0], moments)
    status = np.full(count, INVALID, dtype=np.int8)
    reason = np.zeros(count, dtype=np.int16)
    blocking = np.full(count, -1, dtype=np.int8)
    side = np.zeros(count, dtype=np.int8)
    execution = np.full(count, -1, dtype=np.int8)
    open_ = np.ones(count, dtype=bool)  # moments not decided yet

    def settle(mask: np.ndarray, code: str, block: Timeframe | np.ndarray | None) -> None:
        nonlocal open_
        reason[mask] = _CODE[code]
        if isinstance(block, np.ndarray):
            blocking[mask] = block[mask]
        elif block is not None:
            blocking[mask] = _TF[block]
        open_ = open_ & ~mask

    context_side = np.zeros(count, dtype=np.int8)
    if not skip_context and profile.context:
        ctx = [_timeframe(profile, tf, view) for tf in profile.context]
        strict = (mode or profile.mode) == "strict"
        bad = np.zeros(count, dtype=bool)
        bad_tf = np.full(count, -1, dtype=np.int8)
        for d in ctx:
            invalid = ~d.valid
            if not strict:
                invalid &= d.reason != _CODE[Reason.NO_LONG_NO_SHORT]
            fresh = invalid & ~bad
            bad_tf[fresh] = _TF[d.tf]
            bad |= fresh
        longs = np.zeros(count, dtype=bool)
        shorts = np.zeros(count, dtype=bool)
        last_signal = np.full(count, -1, dtype=np.int8)
        for d in ctx:
            longs |= d.valid & (d.signal > 0)
            shorts |= d.valid & (d.signal < 0)
            last_signal[d.signal != 0] = _TF[d.tf]
        settle(bad, Reason.CONTEXT_INVALID_TIMEFRAME, bad_tf)
        settle(open_ & ~longs & ~shorts, Reason.CONTEXT_ALL_NEUTRAL, ctx[-1].tf)
        settle(open_ & longs & shorts, Reason.CONTEXT_SIDE_CONFLICT, last_signal)
        context_side = np.where(longs, 1, np.where(shorts, -1, 0)).astype(np.int8)

    exe = [
        _timeframe(profile, tf, view) for tf in profile.execution if only_execution_tf in (None, tf)
    ]
    any_valid = np.zeros(count, dtype=bool)
    any_candidate = np.zeros(count, dtype=bool)
    first_valid = np.full(count, -1, dtype=np.int8)
    candidate: dict[Timeframe, np.ndarray] = {}
    for d in exe:
        fresh = d.valid & ~any_valid
        first_valid[fresh] = _TF[d.tf]
        any_valid |= d.valid
        candidate[d.tf] = d.valid & ((context_side == 0) | (d.signal == context_side))
        any_candidate |= candidate[d.tf]
    settle(open_ & ~any_candidate & any_valid, Reason.EXECUTION_SIDE_CONFLICT, first_valid)
    settle(open_ & ~any_candidate, Reason.NO_EXECUTION_TIMEFRAME_VALID, exe[0].tf if exe else None)

    by_tf = {d.tf: d for d in exe}
    walk = [tf for tf in DESCENDING if tf in by_tf]
    chosen = context_side.copy()
    for tf in walk:  # without a context side, the longest candidate sets it
        fill = open_ & (chosen == 0) & candidate[tf]
        chosen[fill] = by_tf[tf].signal[fill]
    last_walked = np.full(count, -1, dtype=np.int8)
    for tf in walk:
        here = open_ & candidate[tf] & (by_tf[tf].signal == chosen)
        rules = profile.selector.rules.get(tf)
        if rules is None:
            execution[here] = _TF[tf]
            side[here] = chosen[here]
            status[here] = READY
            open_ &= ~here
            continue
        tv = view.on(tf)
        metrics = _metrics(profile, tf, view, spread) if rules.metric_names() else None
        stay = [_condition(x, tv, metrics, chosen) for x in rules.stay]
        drop = [_condition(x, tv, metrics, chosen) for x in rules.drop]
        forbid = [_condition(x, tv, metrics, chosen) for x in rules.forbid]
        if stay:
            stays = np.logical_and.reduce(stay)
        else:
            stays = ~np.logical_or.reduce(drop) if drop else np.ones(count, dtype=bool)
        forbids = np.logical_or.reduce(forbid) if forbid else np.zeros(count, dtype=bool)
        picked = here & stays
        execution[picked] = _TF[tf]
        side[picked] = chosen[picked]
        status[picked] = READY
        open_ &= ~picked
        settle(here & ~stays & forbids, Reason.EXECUTION_DROP_FORBIDDEN, tf)
        last_walked[here & ~stays & ~forbids] = _TF[tf]
    settle(open_, Reason.NO_EXECUTION_TIMEFRAME_SELECTED, last_walked)

    if check_data:
        skipped, why = data_problems(profile, frames, moments)
        status[skipped] = SKIPPED
        reason[skipped] = why[skipped]
        for arr, empty in ((side, 0), (execution, -1), (blocking, -1)):
            arr[skipped] = empty
    return DecisionColumns(symbol, moments, status, side, execution, reason, blocking)


def candles_needed_many(profile: CompiledProfile, tf: Timeframe, moments: c.IntArray) -> c.IntArray:
    """`profile.candles_needed(tf, m)` for every moment `m`."""
    need = np.full(len(moments), 1 if tf in profile.requirements else 0, dtype=np.int64)
    for ref, _evaluated, extra in profile.reads.get(tf, ()):
        back = ref.shift + extra
        earliest = c.needs_many(ref.base, tf, moments - back * tf.ms) + back
        if ref.base.anchor != "settle":
            earliest = np.maximum(earliest, c.needs_many(ref.base, tf, moments) + back)
        need = np.maximum(need, earliest)
    return need


def data_problems(
    profile: CompiledProfile, frames: dict[Timeframe, Frame], moments: c.IntArray
) -> tuple[np.ndarray, np.ndarray]:
    """Moments a live cycle would skip, and their reason codes (`mtf.validator.load_frames`):
    the newest candle of a timeframe is not the one just closed (`stale_candles`), the window
    read has a hole (`candle_gap`), or no candle at all (`no_candles`)."""
    count = len(moments)
    stale = np.zeros(count, dtype=bool)
    holed = np.zeros(count, dtype=bool)
    empty = np.ones(count, dtype=bool)
    for tf in profile.timeframes:
        times = frames[tf].candles.open_time
        idx = np.searchsorted(times, moments - tf.ms, side="right") - 1
        expected = (moments // tf.ms) * tf.ms - tf.ms
        has = idx >= 0
        empty &= ~has
        present = has & (times[np.maximum(idx, 0)] == expected) if len(times) else has
        stale |= ~present
        if len(times) > 1:
            breaks = np.concatenate([[0], np.cumsum(np.diff(times) != tf.ms)])
            need = candles_needed_many(profile, tf, moments)
            first = np.maximum(idx - need + 1, 0)
            holed |= present & (breaks[np.maximum(idx, 0)] - breaks[first] > 0)
    skipped = stale | holed
    why = np.where(
        empty,
        _CODE["no_candles"],
        np.where(stale, _CODE[Reason.STALE_CANDLES], _CODE["candle_gap"]),
    ).astype(np.int16)
    return skipped, why
