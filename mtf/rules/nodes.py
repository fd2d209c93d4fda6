"""Compiled conditions. Each node evaluates on a `View` and returns an `Outcome` trace.

Nodes are immutable and hold parsed `FieldRef`s, so evaluation does no parsing. Every child is
evaluated (no short-circuit) so a trace always shows every rule's value and threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from mtf.rules.expr import Expr
from mtf.rules.fields import FieldRef
from mtf.rules.frame import Missing, View
from providers.timeframes import Timeframe


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one condition: passed or not, with what it read."""

    rule: str
    passed: bool
    value: float | None = None
    threshold: float | None = None
    missing: str | None = None
    children: tuple[Outcome, ...] = ()
    named: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "passed": self.passed}
        if self.value is not None:
            out["value"] = _round(self.value)
        if self.threshold is not None:
            out["threshold"] = _round(self.threshold)
        if self.missing:
            out["missing"] = self.missing
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out

    def failed_rules(self) -> list[str]:
        """The failed named rules (or anonymous leaves), outermost names first."""
        if self.passed:
            return []
        if self.named or not self.children:
            return [self.rule]
        names = [n for c in self.children for n in c.failed_rules()]
        return names or [self.rule]

    def first_missing(self) -> str | None:
        if self.missing:
            return self.missing
        for child in self.children:
            found = child.first_missing()
            if found:
                return found
        return None


def _round(value: float) -> float:
    return float(f"{value:.10g}")


class Node(Protocol):
    @property
    def label(self) -> str: ...

    def evaluate(self, view: View) -> Outcome: ...

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        """Fields read and how many extra bars back on their timeframe."""
        ...


Operand = FieldRef | float | Expr

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda d, eps: d > eps,
    ">=": lambda d, eps: d >= -eps,
    "<": lambda d, eps: d < -eps,
    "<=": lambda d, eps: d <= eps,
}
OPERATORS = tuple(_OPS)


def _missing(*values: float | Missing) -> Missing | None:
    """The first value that could not be read, if any."""
    return next((v for v in values if isinstance(v, Missing)), None)


def _read(view: View, operand: Operand, shift: int = 0) -> float | Missing:
    if isinstance(operand, FieldRef):
        return view.value(operand, shift)
    if isinstance(operand, Expr):
        return operand.evaluate(view, shift)
    return operand


def _text(operand: Operand) -> str:
    if isinstance(operand, FieldRef | Expr):
        return operand.text
    return f"{operand:g}"


def _refs(*operands: Operand, extra: int = 0) -> Iterator[tuple[FieldRef, int]]:
    for operand in operands:
        if isinstance(operand, FieldRef):
            yield operand, extra
        elif isinstance(operand, Expr):
            for ref in operand.refs():
                yield ref, extra


@dataclass(frozen=True)
class Compare:
    """left OP right with tolerance: d = left - right and tol = eps + eps_pct * |right|;
    `>` means d > tol, `>=` d >= -tol, `<` d < -tol, `<=` d <= tol."""

    left: Operand
    op: str
    right: Operand
    eps: float = 0.0
    eps_pct: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", f"{_text(self.left)} {self.op} {_text(self.right)}")

    def evaluate(self, view: View) -> Outcome:
        left, right = _read(view, self.left), _read(view, self.right)
        gone = _missing(left, right)
        if gone is not None:
            return Outcome(
                self.label,
                False,
                None if isinstance(left, Missing) else left,
                None if isinstance(right, Missing) else right,
                gone.reason,
            )
        assert not isinstance(left, Missing) and not isinstance(right, Missing)
        tol = self.eps + self.eps_pct * abs(right)
        return Outcome(self.label, _OPS[self.op](left - right, tol), left, right)

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return _refs(self.left, self.right)


@dataclass(frozen=True)
class Range:
    """min <= field <= max (either bound optional)."""

    field: FieldRef
    low: float | None
    high: float | None
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            lo = "" if self.low is None else f"{self.low:g} <= "
            hi = "" if self.high is None else f" <= {self.high:g}"
            object.__setattr__(self, "label", f"{lo}{self.field.text}{hi}")

    def evaluate(self, view: View) -> Outcome:
        value = view.value(self.field)
        if isinstance(value, Missing):
            return Outcome(self.label, False, missing=value.reason)
        ok = (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        bound = self.low if self.low is not None and value < self.low else self.high
        return Outcome(self.label, ok, value, bound)

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return _refs(self.field)


@dataclass(frozen=True)
class Near:
    """|a / b - 1| <= tolerance."""

    left: FieldRef
    right: Operand
    tolerance: float
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(
                self, "label", f"|{self.left.text}/{_text(self.right)}-1| <= {self.tolerance:g}"
            )

    def evaluate(self, view: View) -> Outcome:
        a, b = view.value(self.left), _read(view, self.right)
        gone = _missing(a, b)
        if gone is not None:
            return Outcome(self.label, False, missing=gone.reason)
        assert not isinstance(a, Missing) and not isinstance(b, Missing)
        if b == 0:
            return Outcome(self.label, False, missing=f"{_text(self.right)} is zero")
        distance = abs(a / b - 1.0)
        return Outcome(self.label, distance <= self.tolerance, distance, self.tolerance)

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return _refs(self.left, self.right)


@dataclass(frozen=True)
class Slope:
    """(f[t] - f[t-n]) / n compared with a threshold; `relative` divides by |f[t-n]|."""

    field: FieldRef
    lookback: int
    op: str
    threshold: float
    relative: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            kind = "rel_slope" if self.relative else "slope"
            object.__setattr__(
                self,
                "label",
                f"{kind}({self.field.text}, {self.lookback}) {self.op} {self.threshold:g}",
            )

    def evaluate(self, view: View) -> Outcome:
        now, then = view.value(self.field), view.value(self.field, self.lookback)
        gone = _missing(now, then)
        if gone is not None:
            return Outcome(self.label, False, missing=gone.reason)
        assert not isinstance(now, Missing) and not isinstance(then, Missing)
        slope = (now - then) / self.lookback
        if self.relative:
            if then == 0:
                return Outcome(self.label, False, missing=f"{self.field.text} is zero")
            slope /= abs(then)
        return Outcome(
            self.label, _OPS[self.op](slope - self.threshold, 0.0), slope, self.threshold
        )

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return _refs(self.field, extra=self.lookback)


@dataclass(frozen=True)
class Monotonic:
    """Each of the last `n` steps rose (increasing) or fell (decreasing) by more than `eps`."""

    field: FieldRef
    n: int
    rising: bool
    strict: bool = True
    eps: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            word = "increasing" if self.rising else "decreasing"
            bars = "bar" if self.n == 1 else f"{self.n} bars"
            object.__setattr__(self, "label", f"{self.field.text} {word} over {bars}")

    def evaluate(self, view: View) -> Outcome:
        values: list[float] = []
        for shift in range(self.n + 1):
            v = view.value(self.field, shift)
            if isinstance(v, Missing):
                return Outcome(self.label, False, missing=v.reason)
            values.append(v)
        steps = [values[i] - values[i + 1] for i in range(self.n)]  # newest step first
        if self.rising:
            ok = all((d > self.eps) if self.strict else (d >= -self.eps) for d in steps)
        else:
            ok = all((d < -self.eps) if self.strict else (d <= self.eps) for d in steps)
        worst = min(steps) if self.rising else max(steps)
        return Outcome(
            self.label, ok, worst, self.eps if self.rising or not self.eps else -self.eps
        )

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return _refs(self.field, extra=self.n)


@dataclass(frozen=True)
class Cross:
    """`left` crossed `right` upwards (or downwards) within the last `cool_down_bars` + 1 bars.

    With d = left - right: a bar t-j is a cross if d[t-j] >= gap (<= -gap downwards) and, when
    `require_prev` is set, d[t-j-1] <= -gap (>= gap) — the hysteresis that ignores wiggles
    around the line. The cross must still hold now (d[t] > 0, resp. < 0). `gap` is `min_gap`
    in field units plus `min_gap_pct` of the close.
    """

    left: FieldRef
    right: Operand
    upward: bool
    min_gap: float = 0.0
    min_gap_pct: float = 0.0
    cool_down_bars: int = 0
    require_prev: bool = True
    close: FieldRef | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            word = "crossed above" if self.upward else "crossed below"
            object.__setattr__(self, "label", f"{self.left.text} {word} {_text(self.right)}")

    def _diff(self, view: View, shift: int) -> float | Missing:
        a, b = view.value(self.left, shift), _read(view, self.right, shift)
        gone = _missing(a, b)
        if gone is not None:
            return gone
        assert not isinstance(a, Missing) and not isinstance(b, Missing)
        return a - b

    def evaluate(self, view: View) -> Outcome:
        gap = self.min_gap
        if self.min_gap_pct and self.close is not None:
            close = view.value(self.close)
            if isinstance(close, Missing):
                return Outcome(self.label, False, missing=close.reason)
            gap += self.min_gap_pct * close
        sign = 1.0 if self.upward else -1.0
        now = self._diff(view, 0)
        if isinstance(now, Missing):
            return Outcome(self.label, False, missing=now.reason)
        if sign * now <= 0:
            return Outcome(self.label, False, sign * now, gap)
        for j in range(self.cool_down_bars + 1):
            here, before = self._diff(view, j), self._diff(view, j + 1)
            gone = _missing(here, before)
            if gone is not None:
                return Outcome(self.label, False, sign * now, gap, gone.reason)
            assert not isinstance(here, Missing) and not isinstance(before, Missing)
            crossed = sign * before <= 0 < sign * here
            if not crossed:
                continue
            if sign * here >= gap and (not self.require_prev or sign * before <= -gap):
                return Outcome(self.label, True, sign * here, gap)
        return Outcome(self.label, False, sign * now, gap)

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        refs = list(_refs(self.left, self.right, extra=self.cool_down_bars + 1))
        if self.close is not None:
            refs.append((self.close, 0))
        return iter(refs)


@dataclass(frozen=True)
class AllOf:
    children: tuple[Node, ...]
    label: str = "all_of"

    def evaluate(self, view: View) -> Outcome:
        outs = tuple(c.evaluate(view) for c in self.children)
        return Outcome(self.label, all(o.passed for o in outs), children=outs)

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        for child in self.children:
            yield from child.refs()


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]
    label: str = "any_of"

    def evaluate(self, view: View) -> Outcome:
        outs = tuple(c.evaluate(view) for c in self.children)
        return Outcome(self.label, any(o.passed for o in outs), children=outs)

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        for child in self.children:
            yield from child.refs()


@dataclass(frozen=True)
class Not:
    child: Node
    label: str = "not"

    def evaluate(self, view: View) -> Outcome:
        out = self.child.evaluate(view)
        if out.first_missing():
            return Outcome(self.label, False, missing=out.first_missing(), children=(out,))
        return Outcome(self.label, not out.passed, children=(out,))

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return self.child.refs()


@dataclass(frozen=True)
class Within:
    """The condition held on at least one of the last `bars` closed bars (validity window)."""

    child: Node
    bars: int
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", f"within {self.bars} bars")

    def evaluate(self, view: View) -> Outcome:
        first: Outcome | None = None
        for offset in range(self.bars):
            out = self.child.evaluate(view.at_offset(view.offset + offset))
            if first is None:
                first = out
            if out.passed:
                return Outcome(self.label, True, float(offset), float(self.bars), children=(out,))
        assert first is not None
        return Outcome(self.label, False, None, float(self.bars), children=(first,))

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        for ref, extra in self.child.refs():
            yield ref, extra + self.bars - 1


@dataclass(frozen=True)
class OnTimeframe:
    """Evaluate the child on another timeframe (e.g. an ATR band on the timeframe it names)."""

    child: Node
    timeframe: Timeframe
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", f"on {self.timeframe}")

    def evaluate(self, view: View) -> Outcome:
        out = self.child.evaluate(view.on(self.timeframe))
        return Outcome(self.label, out.passed, out.value, out.threshold, out.missing, (out,))

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        for ref, extra in self.child.refs():
            if ref.timeframe is None:
                ref = FieldRef(ref.text, ref.base, self.timeframe, ref.shift)
            yield ref, extra


@dataclass(frozen=True)
class Named:
    """A named rule: its outcome carries the rule's name, the body's outcome as child."""

    name: str
    body: Node
    params: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def label(self) -> str:
        return self.name

    def evaluate(self, view: View) -> Outcome:
        out = self.body.evaluate(view)
        if isinstance(self.body, AllOf | AnyOf):
            return Outcome(self.name, out.passed, children=out.children, named=True)
        return Outcome(
            self.name, out.passed, out.value, out.threshold, out.missing, out.children, named=True
        )

    def refs(self) -> Iterator[tuple[FieldRef, int]]:
        return self.body.refs()


CONST_TRUE = AllOf((), label="true")
