"""Execution-timeframe selection: stay on a timeframe, drop to a lower one, or forbid the drop.

Candidates are the valid execution timeframes whose side agrees with the context, walked from
the longest to the shortest. For each, with the metrics its conditions name:

1. stay when every `stay_on_if` condition holds (no `stay_on_if`: stay unless a drop condition
   holds);
2. otherwise, if any `forbid_drop_to_lower_if_any` condition holds, select nothing
   (`execution_drop_forbidden`);
3. otherwise move to the next lower candidate.

A condition is ``{name: {gt|gte|lt|lte: x}}`` where ``name`` is a metric (see `METRICS`) or any
field (e.g. ``adx_1h``), read on the candidate timeframe. A missing metric fails its condition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from mtf.rules.fields import FieldRef, UnknownFieldError, is_number, parse_field
from mtf.rules.frame import Missing, View
from mtf.rules.nodes import Outcome
from providers.timeframes import DESCENDING, Timeframe

if TYPE_CHECKING:
    from mtf.rules.compiler import Compiler

#: Metrics computed outside the rule engine (by the trade planner and the order book).
METRICS = {
    "expected_r_multiple": "reward/risk of the trade the planner would place",
    "entry_zone_width_pct": "entry zone width in percent of its anchor",
    "atr_bps": "ATR(14) / close in basis points on the candidate timeframe",
    "spread_bps": "top-of-book spread in basis points",
}

MetricSource = Callable[[Timeframe, str], Mapping[str, float | None]]

PIVOT_LEVELS = ("p", "r1", "r2", "r3", "s1", "s2", "s3")


def metric_fields(name: str, pivot_tf: Timeframe) -> tuple[FieldRef, ...]:
    """The fields a metric is computed from, read on the candidate timeframe (pivots on
    `pivot_tf`)."""
    names = {
        "atr_bps": ["atr", "close"],
        "entry_zone_width_pct": ["atr", "vwap", "sma_21"],
        "expected_r_multiple": ["atr", "close"]
        + [f"pivot_{level}_{pivot_tf}" for level in PIVOT_LEVELS],
    }.get(name, [])
    return tuple(parse_field(text) for text in names)


_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class RulesPerTimeframe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stay_on_if: list[dict[str, Any]] = []
    drop_to_lower_if_any: list[dict[str, Any]] = []
    forbid_drop_to_lower_if_any: list[dict[str, Any]] = []


class SelectorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_timeframe: dict[Timeframe, RulesPerTimeframe] = {}


@dataclass(frozen=True)
class MetricCondition:
    name: str
    op: str
    threshold: float
    field: FieldRef | None

    @property
    def label(self) -> str:
        return f"{self.name} {self.op} {self.threshold:g}"

    def evaluate(self, view: View, metrics: Mapping[str, float | None]) -> Outcome:
        if self.field is not None:
            value = view.value(self.field)
            if isinstance(value, Missing):
                return Outcome(self.label, False, None, self.threshold, value.reason)
        else:
            raw = metrics.get(self.name)
            if raw is None:
                return Outcome(self.label, False, None, self.threshold, f"{self.name} unavailable")
            value = float(raw)
        return Outcome(self.label, _OPS[self.op](value, self.threshold), value, self.threshold)


@dataclass(frozen=True)
class TimeframeRules:
    stay: tuple[MetricCondition, ...] = ()
    drop: tuple[MetricCondition, ...] = ()
    forbid: tuple[MetricCondition, ...] = ()

    def metric_names(self) -> set[str]:
        return {c.name for c in (*self.stay, *self.drop, *self.forbid) if c.field is None}


@dataclass(frozen=True)
class Selection:
    timeframe: Timeframe | None
    reason: str | None
    trace: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ExecutionSelector:
    rules: Mapping[Timeframe, TimeframeRules] = field(default_factory=dict)

    def reads(self, pivot_tf: Timeframe) -> list[tuple[FieldRef, Timeframe]]:
        """Every field the selector reads, with the candidate timeframe it is read on: its
        field conditions, and the fields its metrics are computed from."""
        out: list[tuple[FieldRef, Timeframe]] = []
        for tf, rules in self.rules.items():
            for cond in (*rules.stay, *rules.drop, *rules.forbid):
                if cond.field is not None:
                    out.append((cond.field, tf))
            for name in sorted(rules.metric_names()):
                out.extend((ref, tf) for ref in metric_fields(name, pivot_tf))
        return out

    def metric_names(self, timeframe: Timeframe) -> set[str]:
        rules = self.rules.get(timeframe)
        return rules.metric_names() if rules else set()

    def select(
        self, candidates: list[Timeframe], side: str, view: View, metrics: MetricSource | None
    ) -> Selection:
        """Pick the execution timeframe among `candidates` (valid, side-agreeing)."""
        trace: list[dict[str, Any]] = []
        ordered = [tf for tf in DESCENDING if tf in candidates]
        for tf in ordered:
            rules = self.rules.get(tf)
            if rules is None:
                trace.append({"timeframe": tf.value, "action": "stay", "why": "no selector rules"})
                return Selection(tf, None, tuple(trace))
            values = metrics(tf, side) if metrics and rules.metric_names() else {}
            tf_view = view.on(tf)
            stay = [c.evaluate(tf_view, values) for c in rules.stay]
            drop = [c.evaluate(tf_view, values) for c in rules.drop]
            forbid = [c.evaluate(tf_view, values) for c in rules.forbid]
            entry: dict[str, Any] = {
                "timeframe": tf.value,
                "stay_on_if": [o.to_dict() for o in stay],
                "drop_to_lower_if_any": [o.to_dict() for o in drop],
                "forbid_drop_to_lower_if_any": [o.to_dict() for o in forbid],
            }
            stays = all(o.passed for o in stay) if stay else not any(o.passed for o in drop)
            if stays:
                trace.append({**entry, "action": "stay"})
                return Selection(tf, None, tuple(trace))
            if any(o.passed for o in forbid):
                trace.append({**entry, "action": "forbid_drop"})
                return Selection(None, "execution_drop_forbidden", tuple(trace))
            trace.append({**entry, "action": "drop"})
        return Selection(None, "no_execution_timeframe_selected", tuple(trace))


def compile_selector(
    model: SelectorModel | None, execution: list[Timeframe], compiler: Compiler
) -> ExecutionSelector:
    """Validate selector conditions (metric or field names, operators, numbers)."""
    if model is None:
        return ExecutionSelector()
    rules: dict[Timeframe, TimeframeRules] = {}
    for tf, spec in model.per_timeframe.items():
        base = f"execution_selector.per_timeframe.{tf}"
        if tf not in execution:
            compiler._problem(base, f"{tf} is not an execution timeframe ({', '.join(execution)})")
            continue
        groups = {}
        for key in ("stay_on_if", "drop_to_lower_if_any", "forbid_drop_to_lower_if_any"):
            conds = []
            for i, item in enumerate(getattr(spec, key)):
                cond = _condition(item, f"{base}.{key}[{i}]", compiler)
                if cond is not None:
                    conds.append(cond)
            groups[key] = tuple(conds)
        rules[tf] = TimeframeRules(
            groups["stay_on_if"],
            groups["drop_to_lower_if_any"],
            groups["forbid_drop_to_lower_if_any"],
        )
    return ExecutionSelector(rules)


def _condition(item: Mapping[str, Any], path: str, compiler: Compiler) -> MetricCondition | None:
    if len(item) != 1:
        compiler._problem(path, "write one condition per item: {metric: {gt|gte|lt|lte: value}}")
        return None
    ((name, spec),) = item.items()
    ref: FieldRef | None = None
    if name not in METRICS:
        try:
            ref = parse_field(name)
        except UnknownFieldError:
            compiler._problem(
                path,
                f"unknown metric {name!r}; metrics: {', '.join(METRICS)}; "
                "or any field such as adx_1h",
            )
            return None
    if not isinstance(spec, Mapping) or len(spec) != 1:
        compiler._problem(f"{path}.{name}", "expected {gt|gte|lt|lte: number}")
        return None
    ((op, threshold),) = spec.items()
    if op not in _OPS or not is_number(threshold):
        compiler._problem(
            f"{path}.{name}",
            f"expected one of {', '.join(_OPS)} with a number, got {op}: {threshold!r}",
        )
        return None
    return MetricCondition(name, op, float(threshold), ref)
