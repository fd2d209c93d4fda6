"""Rule evaluation over whole columns of decision moments at once.

`evaluate(node, view)` gives, for every moment of a `ColumnView`, what `node.evaluate(View(...))`
gives at that moment alone: whether it passed, and the kind of the first value it could not
read (`Outcome.first_missing`: none, not enough candles, or undefined). Indicators are causal
series, so reading them at many moments is a gather; the per-moment path in `nodes.py` stays
the reference these functions are tested against (`tests/mtf/test_columns.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from indicators.anchored import windows
from mtf.rules import nodes as n
from mtf.rules.expr import Expr
from mtf.rules.fields import DAY_MS, SETTLE, FieldDef, FieldRef, parse_field
from mtf.rules.frame import Frame
from providers.timeframes import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
KindArray = npt.NDArray[np.int8]

#: Kinds of a missing value, as `Outcome.first_missing` would word them.
OK, NOT_ENOUGH, UNDEFINED = 0, 1, 2


@dataclass(frozen=True)
class Col:
    """Per moment: passed, and the kind of the first missing value (`OK` when none)."""

    passed: BoolArray
    miss: KindArray


@dataclass(frozen=True)
class Values:
    values: FloatArray
    miss: KindArray


def needs_many(base: FieldDef, tf: Timeframe, moments: IntArray) -> IntArray:
    """`base.needs_at(tf, m)` for every moment `m`."""
    last_open = (moments // tf.ms) * tf.ms - tf.ms
    if base.anchor is None:
        return np.full(len(moments), base.needs, dtype=np.int64)
    if base.anchor == SETTLE:
        out: IntArray = windows(last_open, tf.ms, base.needs)
        return out
    in_day = (last_open % DAY_MS) // tf.ms + 1
    whole_day = DAY_MS // tf.ms if base.anchor == "previous_day" else 0
    result: IntArray = np.maximum(base.needs, in_day + whole_day)
    return result


@dataclass
class _Shared:
    index: dict[tuple[Timeframe, int], IntArray] = field(default_factory=dict)
    reads: dict[tuple[Any, ...], Values] = field(default_factory=dict)


@dataclass
class ColumnView:
    """What rules see at many moments: the frames, the evaluated timeframe, the moments
    (decision times, epoch ms) and an offset in bars of the evaluated timeframe."""

    frames: Mapping[Timeframe, Frame]
    timeframe: Timeframe
    moments: IntArray
    offset: int = 0
    shared: _Shared = field(default_factory=_Shared)

    def at_offset(self, offset: int) -> ColumnView:
        return ColumnView(self.frames, self.timeframe, self.moments, offset, self.shared)

    def on(self, timeframe: Timeframe) -> ColumnView:
        return ColumnView(self.frames, timeframe, self.moments, 0, self.shared)

    def index(self, tf: Timeframe, delta_ms: int) -> IntArray:
        """Index of the newest candle of `tf` closed at every moment minus `delta_ms`."""
        key = (tf, delta_ms)
        idx = self.shared.index.get(key)
        if idx is None:
            frame = self.frames[tf]
            cutoff = self.moments - delta_ms - tf.ms
            idx = np.searchsorted(frame.candles.open_time, cutoff, side="right").astype(
                np.int64
            ) - np.int64(1)
            self.shared.index[key] = idx
        return idx

    def value(self, ref: FieldRef, extra_shift: int = 0) -> Values:
        """Like `View.value` at every moment."""
        tf = ref.timeframe or self.timeframe
        delta = self.offset * self.timeframe.ms
        shift = ref.shift + extra_shift
        key = (ref.base.key, ref.base.needs, tf, delta, shift)
        hit = self.shared.reads.get(key)
        if hit is not None:
            return hit
        count = len(self.moments)
        frame = self.frames.get(tf)
        if frame is None:
            out = Values(np.full(count, np.nan), np.full(count, UNDEFINED, dtype=np.int8))
            self.shared.reads[key] = out
            return out
        idx = self.index(tf, delta)
        need = needs_many(ref.base, tf, self.moments - delta - shift * tf.ms) + shift
        series = frame.series(ref)
        position = idx - shift
        values = series[np.clip(position, 0, max(len(series) - 1, 0))] if len(series) else None
        if values is None:
            values = np.full(count, np.nan)
        enough = idx + 1 >= need
        finite = np.isfinite(values)
        miss = np.where(enough, np.where(finite, OK, UNDEFINED), NOT_ENOUGH).astype(np.int8)
        out = Values(np.where(miss == OK, values, np.nan), miss)
        self.shared.reads[key] = out
        return out


def _first(*kinds: KindArray) -> KindArray:
    """The first non-OK kind, element-wise, in argument order."""
    out = kinds[-1]
    for kind in reversed(kinds[:-1]):
        out = np.where(kind != OK, kind, out)
    return out.astype(np.int8)


def _constant(view: ColumnView, value: float) -> Values:
    count = len(view.moments)
    return Values(np.full(count, value), np.zeros(count, dtype=np.int8))


def read(view: ColumnView, operand: n.Operand, shift: int = 0) -> Values:
    if isinstance(operand, FieldRef):
        return view.value(operand, shift)
    if isinstance(operand, Expr):
        return _expression(operand.text)(view, shift)
    return _constant(view, float(operand))


_VecExpr = Callable[[ColumnView, int], Values]
_BINOPS: dict[type[ast.operator], Callable[[FloatArray, FloatArray], FloatArray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
}


def _divide(a: FloatArray, b: FloatArray) -> FloatArray:
    out = np.full(len(a), np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


@lru_cache(maxsize=512)
def _expression(text: str) -> _VecExpr:
    """The column form of an arithmetic operand (`mtf.rules.expr`), same operations in the same
    order, so every value is the same float."""
    return _compile(ast.parse(text, mode="eval").body)


def _compile(node: ast.expr) -> _VecExpr:
    if isinstance(node, ast.Constant):
        value = float(node.value)  # type: ignore[arg-type]
        return lambda view, shift: _constant(view, value)
    if isinstance(node, ast.Name):
        ref = parse_field(node.id)
        return lambda view, shift: view.value(ref, shift)
    if isinstance(node, ast.UnaryOp):
        inner = _compile(node.operand)

        def negate(view: ColumnView, shift: int) -> Values:
            v = inner(view, shift)
            return Values(-v.values, v.miss)

        return negate
    assert isinstance(node, ast.BinOp)
    op = _divide if isinstance(node.op, ast.Div) else _BINOPS[type(node.op)]
    left, right = _compile(node.left), _compile(node.right)

    def binop(view: ColumnView, shift: int) -> Values:
        a, b = left(view, shift), right(view, shift)
        miss = _first(a.miss, b.miss)
        with np.errstate(invalid="ignore", over="ignore"):
            values = op(a.values, b.values)
        return Values(np.where(miss == OK, values, np.nan), miss)

    return binop


_OPS: dict[str, Callable[[FloatArray, FloatArray], BoolArray]] = {
    ">": lambda d, eps: d > eps,
    ">=": lambda d, eps: d >= -eps,
    "<": lambda d, eps: d < -eps,
    "<=": lambda d, eps: d <= eps,
}


def _result(passed: BoolArray, miss: KindArray) -> Col:
    return Col(passed & (miss == OK), miss)


def _compare(node: n.Compare, view: ColumnView) -> Col:
    left, right = read(view, node.left), read(view, node.right)
    miss = _first(left.miss, right.miss)
    tol = node.eps + node.eps_pct * np.abs(right.values)
    with np.errstate(invalid="ignore"):
        passed = _OPS[node.op](left.values - right.values, tol)
    return _result(passed, miss)


def _range(node: n.Range, view: ColumnView) -> Col:
    v = view.value(node.field)
    passed = np.ones(len(view.moments), dtype=bool)
    with np.errstate(invalid="ignore"):
        if node.low is not None:
            passed &= v.values >= node.low
        if node.high is not None:
            passed &= v.values <= node.high
    return _result(passed, v.miss)


def _near(node: n.Near, view: ColumnView) -> Col:
    a, b = view.value(node.left), read(view, node.right)
    miss = _first(a.miss, b.miss)
    miss = np.where((miss == OK) & (b.values == 0), UNDEFINED, miss).astype(np.int8)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.abs(a.values / b.values - 1.0)
        return _result(distance <= node.tolerance, miss)


def _slope(node: n.Slope, view: ColumnView) -> Col:
    now, then = view.value(node.field), view.value(node.field, node.lookback)
    miss = _first(now.miss, then.miss)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (now.values - then.values) / node.lookback
        if node.relative:
            miss = np.where((miss == OK) & (then.values == 0), UNDEFINED, miss).astype(np.int8)
            slope = slope / np.abs(then.values)
        passed = _OPS[node.op](slope - node.threshold, np.zeros(1))
    return _result(passed, miss)


def _monotonic(node: n.Monotonic, view: ColumnView) -> Col:
    reads = [view.value(node.field, shift) for shift in range(node.n + 1)]
    miss = _first(*(r.miss for r in reads))
    passed = np.ones(len(view.moments), dtype=bool)
    with np.errstate(invalid="ignore"):
        for i in range(node.n):
            d = reads[i].values - reads[i + 1].values
            if node.rising:
                passed &= (d > node.eps) if node.strict else (d >= -node.eps)
            else:
                passed &= (d < -node.eps) if node.strict else (d <= node.eps)
    return _result(passed, miss)


def _cross(node: n.Cross, view: ColumnView) -> Col:
    count = len(view.moments)
    passed = np.zeros(count, dtype=bool)
    miss = np.zeros(count, dtype=np.int8)
    decided = np.zeros(count, dtype=bool)
    gap: FloatArray = np.full(count, node.min_gap)
    if node.min_gap_pct and node.close is not None:
        close = view.value(node.close)
        decided |= close.miss != OK
        miss = close.miss.copy()
        gap = node.min_gap + node.min_gap_pct * close.values
    sign = 1.0 if node.upward else -1.0

    def diff(shift: int) -> Values:
        a, b = view.value(node.left, shift), read(view, node.right, shift)
        gone = _first(a.miss, b.miss)
        return Values(a.values - b.values, gone)

    now = diff(0)
    fresh = ~decided & (now.miss != OK)
    miss = np.where(fresh, now.miss, miss).astype(np.int8)
    decided |= fresh
    with np.errstate(invalid="ignore"):
        decided |= sign * now.values <= 0
        for j in range(node.cool_down_bars + 1):
            here, before = diff(j), diff(j + 1)
            gone = _first(here.miss, before.miss)
            fresh = ~decided & (gone != OK)
            miss = np.where(fresh, gone, miss).astype(np.int8)
            decided |= fresh
            crossed = (sign * before.values <= 0) & (sign * here.values > 0)
            ok = crossed & (sign * here.values >= gap)
            if node.require_prev:
                ok &= sign * before.values <= -gap
            fresh = ~decided & ok
            passed |= fresh
            decided |= fresh
    return Col(passed, miss)


def _group(node: n.AllOf | n.AnyOf, view: ColumnView) -> Col:
    count = len(view.moments)
    outs = [evaluate(child, view) for child in node.children]
    if not outs:
        return Col(np.full(count, isinstance(node, n.AllOf)), np.zeros(count, dtype=np.int8))
    passed = outs[0].passed.copy()
    for out in outs[1:]:
        passed = passed & out.passed if isinstance(node, n.AllOf) else passed | out.passed
    return Col(passed, _first(*(o.miss for o in outs)))


def _not(node: n.Not, view: ColumnView) -> Col:
    out = evaluate(node.child, view)
    return Col(~out.passed & (out.miss == OK), out.miss)


def _within(node: n.Within, view: ColumnView) -> Col:
    first = evaluate(node.child, view)
    found = first.passed.copy()
    miss = first.miss.copy()
    for offset in range(1, node.bars):
        out = evaluate(node.child, view.at_offset(view.offset + offset))
        fresh = ~found & out.passed
        miss = np.where(fresh, out.miss, miss).astype(np.int8)
        found |= fresh
    return Col(found, miss)


def evaluate(node: n.Node, view: ColumnView) -> Col:
    """`node` at every moment of `view`."""
    if isinstance(node, n.Named):
        return evaluate(node.body, view)
    if isinstance(node, n.AllOf | n.AnyOf):
        return _group(node, view)
    if isinstance(node, n.Compare):
        return _compare(node, view)
    if isinstance(node, n.Range):
        return _range(node, view)
    if isinstance(node, n.Near):
        return _near(node, view)
    if isinstance(node, n.Slope):
        return _slope(node, view)
    if isinstance(node, n.Monotonic):
        return _monotonic(node, view)
    if isinstance(node, n.Cross):
        return _cross(node, view)
    if isinstance(node, n.Not):
        return _not(node, view)
    if isinstance(node, n.Within):
        return _within(node, view)
    if isinstance(node, n.OnTimeframe):
        return evaluate(node.child, view.on(node.timeframe))
    raise TypeError(f"no column evaluation for {type(node).__name__}")
