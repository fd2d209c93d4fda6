"""Compile rule specs (parsed YAML) into nodes, collecting every problem with its YAML path.

Condition forms (see docs/rules.md for the full reference):

* ``name`` or ``{name: {param: value}}`` — a named rule (profile first, then the library)
* ``{all_of: [...]}``, ``{any_of: [...]}``, ``{not: cond}``
* ``{gt_fields: [a, b]}``, ``{lt_fields: ...}``, ``{gte_fields: ...}``, ``{lte_fields: ...}``
* ``{gt: x, field: f}``, ``lt``, ``gte``, ``lte`` (field defaults to ``rsi``)
* ``{op: '>', left: a, right: b, eps: e, eps_pct: p}`` (``eps_pct`` scales with |right|)
* ``{field: f, min: a, max: b}``
* ``{near: [a, b], tolerance: t}``
* ``{slope: f, lookback: n, gt: x}`` (or lt/gte/lte; ``relative: true``)
* ``{increasing: {field: f, n: 2, strict: true, eps: 0}}``, ``decreasing``
* ``{cross_up: [a, b], min_gap: g, min_gap_pct: p, cool_down_bars: k, require_prev_below: true}``,
  ``cross_down`` (``require_prev_above``)
* ``{atr_band: {min: a, max: b, use_atr_tf: 5m, period: 14}}``

Any mapping form also takes ``validity_bars: k`` (held within the last k closed bars) and
``timeframe: tf`` (evaluate on that timeframe). ``$name`` values read a named rule's parameter.
Operands may be arithmetic over fields, e.g. ``right: sma_21 + 2 * atr``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mtf.rules import nodes as n
from mtf.rules.expr import ExpressionError, looks_like_expression, parse_expression
from mtf.rules.fields import FieldRef, UnknownFieldError, is_number, parse_field
from providers.timeframes import Timeframe

DEFAULT_THRESHOLD_FIELD = "rsi"
MODIFIERS = ("validity_bars", "timeframe")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProfileError(ValueError):
    """A profile that cannot be used; `problems` lists every issue with its YAML path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid profile {source}: {len(problems)} problem(s)\n{lines}")


@dataclass(frozen=True)
class RuleDef:
    """A named rule: default parameters and an uncompiled body."""

    name: str
    body: Any
    params: Mapping[str, Any]
    path: str
    origin: str  # "profile" or "library"
    description: str = ""


def split_definition(
    name: str, raw: Any, path: str, origin: str
) -> tuple[RuleDef | None, list[Problem]]:
    """Turn a `rules:` entry into a `RuleDef` (strips `params` and `description`)."""
    if isinstance(raw, Mapping):
        body = dict(raw)
        params = body.pop("params", {}) or {}
        description = str(body.pop("description", "") or "")
        if not isinstance(params, Mapping):
            return None, [Problem(f"{path}.params", "must be a mapping of parameter defaults")]
        bad = [k for k, v in params.items() if not (is_number(v) or isinstance(v, str | bool))]
        if bad:
            return None, [Problem(f"{path}.params.{bad[0]}", "must be a number, a field or a bool")]
        return RuleDef(name, body, dict(params), path, origin, description), []
    if isinstance(raw, str | list):
        return RuleDef(name, raw, {}, path, origin), []
    return None, [Problem(path, "a rule must be a mapping, a list or a rule name")]


_FIELD_PAIR_OPS = {"gt_fields": ">", "lt_fields": "<", "gte_fields": ">=", "lte_fields": "<="}
_THRESHOLD_OPS = {"gt": ">", "lt": "<", "gte": ">=", "lte": "<="}


@dataclass
class Compiler:
    """Compiles specs against a table of named rules; collects problems instead of raising."""

    definitions: Mapping[str, RuleDef]
    problems: list[Problem] = field(default_factory=list)
    _cache: dict[tuple[str, tuple[tuple[str, Any], ...]], n.Node] = field(default_factory=dict)
    _stack: list[str] = field(default_factory=list)

    # --- entry points ----------------------------------------------------------------------

    def compile_list(
        self, specs: Any, path: str, params: Mapping[str, Any] | None = None
    ) -> n.Node | None:
        """A side's list of conditions: all must pass."""
        if not isinstance(specs, list):
            self._problem(path, "must be a list of conditions")
            return None
        if not specs:
            self._problem(path, "an empty list would always pass; omit the key to disable it")
            return None
        children = [self.compile(s, f"{path}[{i}]", params or {}) for i, s in enumerate(specs)]
        if any(c is None for c in children):
            return None
        if len(children) == 1:
            return children[0]
        return n.AllOf(tuple(c for c in children if c is not None))

    def compile(self, spec: Any, path: str, params: Mapping[str, Any]) -> n.Node | None:
        if isinstance(spec, str):
            return self.named(spec, None, path)
        if isinstance(spec, list):
            return self.compile_list(spec, path, params)
        if not isinstance(spec, Mapping) or not spec:
            self._problem(path, f"a condition must be a rule name or a mapping, got {spec!r}")
            return None
        body = {k: v for k, v in spec.items() if k not in MODIFIERS}
        node = self._form(body, path, params)
        if node is None:
            return None
        if "timeframe" in spec:
            tf = self._timeframe(
                self._param(spec["timeframe"], params, f"{path}.timeframe"), f"{path}.timeframe"
            )
            if tf is None:
                return None
            node = n.OnTimeframe(node, tf)
        if "validity_bars" in spec:
            bars = self._int(spec["validity_bars"], f"{path}.validity_bars", params, low=1)
            if bars is None:
                return None
            if bars > 1:
                node = n.Within(node, bars)
        return node

    def named(self, name: str, overrides: Mapping[str, Any] | None, path: str) -> n.Node | None:
        definition = self.definitions.get(name)
        if definition is None:
            self._problem(
                path,
                f"unknown rule {name!r}{self._did_you_mean([name])}; known rules: "
                f"{', '.join(sorted(self.definitions))}",
            )
            return None
        values = dict(definition.params)
        for key, value in (overrides or {}).items():
            if key not in definition.params:
                declared = ", ".join(sorted(definition.params)) or "none"
                self._problem(
                    f"{path}.{name}.{key}",
                    f"rule {name!r} has no parameter {key!r}; its parameters: {declared}",
                )
                return None
            values[key] = value
        cache_key = (name, tuple(sorted((k, repr(v)) for k, v in values.items())))
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        if name in self._stack:
            cycle = " -> ".join([*self._stack[self._stack.index(name) :], name])
            self._problem(path, f"rules reference each other in a cycle: {cycle}")
            return None
        before = len(self.problems)
        self._stack.append(name)
        try:
            body = self.compile(definition.body, definition.path, values)
        finally:
            self._stack.pop()
        if overrides and len(self.problems) > before:
            # The values came from here: say so, or the problem points at the rule's own body.
            given = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            self.problems[before:] = [
                Problem(f"{path}.{name}", f"with {given}: {p}") for p in self.problems[before:]
            ]
        if body is None:
            return None
        node = n.Named(name, body, tuple(sorted(values.items())))
        self._cache[cache_key] = node
        return node

    # --- forms -----------------------------------------------------------------------------

    def _form(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        keys = set(body)
        for key, builder in self._builders().items():
            if key in keys:
                return builder(body, path, params)
        if keys & set(_THRESHOLD_OPS):
            return self._threshold(body, path, params)
        if "op" in keys:
            return self._op(body, path, params)
        if "field" in keys and keys & {"min", "max"}:
            return self._range(body, path, params)
        if len(body) == 1:
            ((name, overrides),) = body.items()
            if name in self.definitions:
                if overrides is None or overrides is True:
                    return self.named(name, None, path)
                if not isinstance(overrides, Mapping):
                    self._problem(f"{path}.{name}", "parameter overrides must be a mapping")
                    return None
                resolved = {
                    k: self._param(v, params, f"{path}.{name}.{k}") for k, v in overrides.items()
                }
                return self.named(name, resolved, path)
        forms = ", ".join([*self._builders(), *_THRESHOLD_OPS, "op", "field+min/max"])
        self._problem(
            path,
            f"unknown rule or operator {', '.join(sorted(keys))!r}{self._did_you_mean(keys)}; "
            "operators: "
            f"{forms}; rules: {', '.join(sorted(self.definitions))}",
        )
        return None

    def _builders(
        self,
    ) -> dict[str, Callable[[dict[str, Any], str, Mapping[str, Any]], n.Node | None]]:
        return {
            "all_of": self._group,
            "any_of": self._group,
            "not": self._not,
            **{k: self._field_pair for k in _FIELD_PAIR_OPS},
            "near": self._near,
            "slope": self._slope,
            "increasing": self._monotonic,
            "decreasing": self._monotonic,
            "cross_up": self._cross,
            "cross_down": self._cross,
            "atr_band": self._atr_band,
        }

    def _group(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        kind = "all_of" if "all_of" in body else "any_of"
        if not self._only(body, {kind}, path):
            return None
        items = body[kind]
        if not isinstance(items, list) or not items:
            self._problem(f"{path}.{kind}", "must be a non-empty list of conditions")
            return None
        children = [self.compile(s, f"{path}.{kind}[{i}]", params) for i, s in enumerate(items)]
        if any(c is None for c in children):
            return None
        kids = tuple(c for c in children if c is not None)
        return n.AllOf(kids) if kind == "all_of" else n.AnyOf(kids)

    def _not(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        if not self._only(body, {"not"}, path):
            return None
        child = self.compile(body["not"], f"{path}.not", params)
        return None if child is None else n.Not(child)

    def _field_pair(
        self, body: dict[str, Any], path: str, params: Mapping[str, Any]
    ) -> n.Node | None:
        kind = next(k for k in _FIELD_PAIR_OPS if k in body)
        if not self._only(body, {kind, "eps", "eps_pct"}, path):
            return None
        pair = self._pair(body[kind], f"{path}.{kind}", params)
        tol = self._tolerance(body, path, params)
        if pair is None or tol is None:
            return None
        return n.Compare(pair[0], _FIELD_PAIR_OPS[kind], pair[1], *tol)

    def _threshold(
        self, body: dict[str, Any], path: str, params: Mapping[str, Any]
    ) -> n.Node | None:
        ops = [k for k in _THRESHOLD_OPS if k in body]
        if len(ops) != 1:
            self._problem(path, f"give exactly one of gt, lt, gte, lte (got {', '.join(ops)})")
            return None
        kind = ops[0]
        if not self._only(body, {kind, "field", "eps", "eps_pct"}, path):
            return None
        left = self._operand(body.get("field", DEFAULT_THRESHOLD_FIELD), f"{path}.field", params)
        right = self._operand(body[kind], f"{path}.{kind}", params)
        tol = self._tolerance(body, path, params)
        if left is None or right is None or tol is None:
            return None
        return n.Compare(left, _THRESHOLD_OPS[kind], right, *tol)

    def _op(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        if not self._only(body, {"op", "left", "right", "eps", "eps_pct"}, path):
            return None
        op = self._param(body["op"], params, f"{path}.op")
        if op not in n.OPERATORS:
            self._problem(
                f"{path}.op", f"unknown operator {op!r}; allowed: {', '.join(n.OPERATORS)}"
            )
            return None
        for key in ("left", "right"):
            if key not in body:
                self._problem(path, f"missing {key!r}")
                return None
        left = self._operand(body["left"], f"{path}.left", params)
        right = self._operand(body["right"], f"{path}.right", params)
        tol = self._tolerance(body, path, params)
        if left is None or right is None or tol is None:
            return None
        return n.Compare(left, str(op), right, *tol)

    def _range(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        if not self._only(body, {"field", "min", "max"}, path):
            return None
        ref = self._field(body["field"], f"{path}.field", params)
        low = self._number(body["min"], f"{path}.min", params) if "min" in body else None
        high = self._number(body["max"], f"{path}.max", params) if "max" in body else None
        if ref is None or ("min" in body and low is None) or ("max" in body and high is None):
            return None
        if low is not None and high is not None and low > high:
            self._problem(path, f"min {low:g} is above max {high:g}")
            return None
        return n.Range(ref, low, high)

    def _near(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        if not self._only(body, {"near", "tolerance"}, path):
            return None
        pair = self._pair(body["near"], f"{path}.near", params)
        tol = self._number(body.get("tolerance", 0.0015), f"{path}.tolerance", params, low=0.0)
        if pair is None or tol is None:
            return None
        if not isinstance(pair[0], FieldRef):
            self._problem(f"{path}.near[0]", "must be a field")
            return None
        return n.Near(pair[0], pair[1], tol)

    def _slope(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        if not self._only(body, {"slope", "lookback", "relative", *_THRESHOLD_OPS}, path):
            return None
        ref = self._field(body["slope"], f"{path}.slope", params)
        lookback = self._int(body.get("lookback", 1), f"{path}.lookback", params, low=1)
        ops = [k for k in _THRESHOLD_OPS if k in body]
        if len(ops) > 1:
            self._problem(path, "give at most one of gt, lt, gte, lte")
            return None
        kind = ops[0] if ops else "gt"
        threshold = self._number(body.get(kind, 0.0), f"{path}.{kind}", params)
        relative = self._bool(body.get("relative", False), f"{path}.relative", params)
        if ref is None or lookback is None or threshold is None or relative is None:
            return None
        return n.Slope(ref, lookback, _THRESHOLD_OPS[kind], threshold, relative)

    def _monotonic(
        self, body: dict[str, Any], path: str, params: Mapping[str, Any]
    ) -> n.Node | None:
        kind = "increasing" if "increasing" in body else "decreasing"
        if not self._only(body, {kind}, path):
            return None
        spec = body[kind]
        if isinstance(spec, str):
            spec = {"field": spec}
        if not isinstance(spec, Mapping) or "field" not in spec:
            self._problem(f"{path}.{kind}", "must be a field or {field, n, strict, eps}")
            return None
        if not self._only(dict(spec), {"field", "n", "strict", "eps"}, f"{path}.{kind}"):
            return None
        p = f"{path}.{kind}"
        ref = self._field(spec["field"], f"{p}.field", params)
        count = self._int(spec.get("n", 1), f"{p}.n", params, low=1)
        strict = self._bool(spec.get("strict", True), f"{p}.strict", params)
        eps = self._number(spec.get("eps", 0.0), f"{p}.eps", params, low=0.0)
        if ref is None or count is None or strict is None or eps is None:
            return None
        return n.Monotonic(ref, count, kind == "increasing", strict, eps)

    def _cross(self, body: dict[str, Any], path: str, params: Mapping[str, Any]) -> n.Node | None:
        upward = "cross_up" in body
        kind = "cross_up" if upward else "cross_down"
        prev_key = "require_prev_below" if upward else "require_prev_above"
        allowed = {kind, "min_gap", "min_gap_pct", "cool_down_bars", prev_key}
        if not self._only(body, allowed, path):
            return None
        pair = self._pair(body[kind], f"{path}.{kind}", params)
        gap = self._number(body.get("min_gap", 0.0), f"{path}.min_gap", params, low=0.0)
        gap_pct = self._number(body.get("min_gap_pct", 0.0), f"{path}.min_gap_pct", params, low=0.0)
        cool = self._int(body.get("cool_down_bars", 0), f"{path}.cool_down_bars", params, low=0)
        prev = self._bool(body.get(prev_key, True), f"{path}.{prev_key}", params)
        if pair is None or gap is None or gap_pct is None or cool is None or prev is None:
            return None
        if not isinstance(pair[0], FieldRef):
            self._problem(f"{path}.{kind}[0]", "must be a field")
            return None
        close = parse_field("close") if gap_pct else None
        return n.Cross(pair[0], pair[1], upward, gap, gap_pct, cool, prev, close)

    def _atr_band(
        self, body: dict[str, Any], path: str, params: Mapping[str, Any]
    ) -> n.Node | None:
        if not self._only(body, {"atr_band"}, path):
            return None
        spec = body["atr_band"]
        p = f"{path}.atr_band"
        if not isinstance(spec, Mapping) or not self._only(
            dict(spec), {"min", "max", "use_atr_tf", "period"}, p
        ):
            if not isinstance(spec, Mapping):
                self._problem(p, "must be a mapping {min, max, use_atr_tf, period}")
            return None
        period = self._int(spec.get("period", 14), f"{p}.period", params, low=1)
        low = self._number(spec["min"], f"{p}.min", params, low=0.0) if "min" in spec else None
        high = self._number(spec["max"], f"{p}.max", params, low=0.0) if "max" in spec else None
        if period is None or ("min" in spec and low is None) or ("max" in spec and high is None):
            return None
        if low is None and high is None:
            self._problem(p, "give min, max or both")
            return None
        ref = self._field(f"atr_pct_{period}", p, params)
        if ref is None:
            return None
        node: n.Node = n.Range(ref, low, high, label=f"atr_pct in [{low}, {high}]")
        if "use_atr_tf" in spec:
            tf = self._timeframe(
                self._param(spec["use_atr_tf"], params, f"{p}.use_atr_tf"), f"{p}.use_atr_tf"
            )
            if tf is None:
                return None
            node = n.OnTimeframe(node, tf, label=f"atr band on {tf}")
        return node

    # --- values ----------------------------------------------------------------------------

    def _only(self, body: Mapping[str, Any], allowed: set[str], path: str) -> bool:
        extra = sorted(set(body) - allowed)
        if extra:
            self._problem(
                path,
                f"unexpected key(s) {', '.join(extra)}; allowed here: "
                f"{', '.join(sorted(allowed | set(MODIFIERS)))}",
            )
            return False
        return True

    def _param(self, value: Any, params: Mapping[str, Any], path: str) -> Any:
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in params:
                declared = ", ".join(sorted(params)) or "none"
                self._problem(path, f"unknown parameter {value!r}; declared parameters: {declared}")
                return _INVALID
            return params[name]
        return value

    def _tolerance(
        self, body: Mapping[str, Any], path: str, params: Mapping[str, Any]
    ) -> tuple[float, float] | None:
        eps = self._number(body.get("eps", 0.0), f"{path}.eps", params, low=0.0)
        eps_pct = self._number(body.get("eps_pct", 0.0), f"{path}.eps_pct", params, low=0.0)
        return None if eps is None or eps_pct is None else (eps, eps_pct)

    def _operand(self, value: Any, path: str, params: Mapping[str, Any]) -> n.Operand | None:
        value = self._param(value, params, path)
        if value is _INVALID:
            return None
        if is_number(value):
            return float(value)
        if isinstance(value, str) and "$" in value:
            value = self._substitute(value, params, path)
            if value is _INVALID:
                return None
        if isinstance(value, str) and looks_like_expression(value):
            try:
                return parse_expression(value)
            except ExpressionError as exc:
                self._problem(path, str(exc))
                return None
        if isinstance(value, str):
            return self._field(value, path, params)
        self._problem(path, f"expected a field name or a number, got {value!r}")
        return None

    def _substitute(self, text: str, params: Mapping[str, Any], path: str) -> Any:
        """Replace `$name` inside an expression by the parameter's value."""
        names = re.findall(r"\$(\w+)", text)
        unknown = [name for name in names if name not in params]
        if unknown:
            declared = ", ".join(sorted(params)) or "none"
            self._problem(path, f"unknown parameter ${unknown[0]}; declared parameters: {declared}")
            return _INVALID
        return re.sub(r"\$(\w+)", lambda m: str(params[m.group(1)]), text)

    def _field(self, value: Any, path: str, params: Mapping[str, Any]) -> FieldRef | None:
        value = self._param(value, params, path)
        if value is _INVALID:
            return None
        if not isinstance(value, str):
            self._problem(path, f"expected a field name, got {value!r}")
            return None
        try:
            return parse_field(value)
        except UnknownFieldError as exc:
            self._problem(path, str(exc))
            return None

    def _pair(
        self, value: Any, path: str, params: Mapping[str, Any]
    ) -> tuple[n.Operand, n.Operand] | None:
        if not isinstance(value, list) or len(value) != 2:
            self._problem(path, f"expected a list of two operands, got {value!r}")
            return None
        a = self._operand(value[0], f"{path}[0]", params)
        b = self._operand(value[1], f"{path}[1]", params)
        return None if a is None or b is None else (a, b)

    def _number(
        self, value: Any, path: str, params: Mapping[str, Any], low: float | None = None
    ) -> float | None:
        value = self._param(value, params, path)
        if value is _INVALID:
            return None
        if not is_number(value):
            self._problem(path, f"expected a number, got {value!r}")
            return None
        if low is not None and float(value) < low:
            self._problem(path, f"must be >= {low:g}, got {value!r}")
            return None
        return float(value)

    def _int(self, value: Any, path: str, params: Mapping[str, Any], low: int) -> int | None:
        value = self._param(value, params, path)
        if value is _INVALID:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self._problem(path, f"expected an integer >= {low}, got {value!r}")
            return None
        return int(value)

    def _bool(self, value: Any, path: str, params: Mapping[str, Any]) -> bool | None:
        value = self._param(value, params, path)
        if not isinstance(value, bool):
            if value is not _INVALID:
                self._problem(path, f"expected true or false, got {value!r}")
            return None
        return value

    def _timeframe(self, value: Any, path: str) -> Timeframe | None:
        if value is _INVALID:
            return None
        try:
            return Timeframe.parse(value)
        except ValueError as exc:
            self._problem(path, str(exc))
            return None

    def _did_you_mean(self, names: Iterable[str]) -> str:
        """` (did you mean x?)` for a misspelt rule or operator name, else nothing."""
        known = [*self.definitions, *self._builders(), *_THRESHOLD_OPS, "op"]
        close = [m for name in names for m in difflib.get_close_matches(name, known, 2, 0.8)]
        return f" (did you mean {' or '.join(close)}?)" if close else ""

    def _problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))


_INVALID = object()
