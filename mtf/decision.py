"""The multi-timeframe decision for one symbol: a pure function of profile, candles and time.

1. Each context timeframe gives long / short / none (`evaluate_timeframe`); `filters_mandatory`
   veto any timeframe they fail on.
2. The context is consolidated by mode:
   * strict — every context timeframe must be valid and all must agree;
   * pragmatic — no context timeframe may be invalid for a reason other than being neutral,
     at least one must give a side, and all sides given must agree.
3. Only with a valid context are execution timeframes evaluated; a candidate must be valid and
   take the context's side (unless the context is skipped).
4. The execution selector picks among candidates (`mtf.rules.selector`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mtf.rules.frame import Frame, View
from mtf.rules.nodes import Outcome
from mtf.rules.profile import CompiledProfile
from mtf.rules.selector import MetricSource
from providers.timeframes import DESCENDING, Timeframe


class Status(StrEnum):
    READY = "READY"
    INVALID = "INVALID"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"


class Reason(StrEnum):
    """Machine-readable reasons (timeframe, context, execution, data)."""

    NO_LONG_NO_SHORT = "no_long_no_short"
    LONG_AND_SHORT = "long_and_short"
    FILTERS_MANDATORY_FAILED = "filters_mandatory_failed"
    NOT_ENOUGH_CANDLES = "not_enough_candles"
    STALE_CANDLES = "stale_candles"
    CONTEXT_INVALID_TIMEFRAME = "context_invalid_timeframe"
    CONTEXT_ALL_NEUTRAL = "context_all_neutral"
    CONTEXT_SIDE_CONFLICT = "context_side_conflict"
    CONTEXT_REQUIRES_SIDE_ON_ALL = "context_requires_side_on_all"
    EXECUTION_SIDE_CONFLICT = "execution_side_conflict"
    NO_EXECUTION_TIMEFRAME_VALID = "no_execution_timeframe_valid"
    NO_EXECUTION_TIMEFRAME_SELECTED = "no_execution_timeframe_selected"
    EXECUTION_DROP_FORBIDDEN = "execution_drop_forbidden"
    SYMBOL_ERROR = "symbol_error"


@dataclass(frozen=True)
class TimeframeDecision:
    timeframe: Timeframe
    phase: str  # context | execution
    signal: str | None  # long | short | None
    valid: bool
    reason: str | None
    long: Outcome | None
    short: Outcome | None
    filters: Outcome | None = None
    detail: str | None = None

    def failed_rules(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for side, outcome in (
            ("long", self.long),
            ("short", self.short),
            ("filters", self.filters),
        ):
            if outcome is not None and not outcome.passed:
                out[side] = outcome.failed_rules()
        return out

    def summary(self) -> dict[str, Any]:
        """Compact form for run responses."""
        out: dict[str, Any] = {
            "phase": self.phase,
            "signal": self.signal,
            "valid": self.valid,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.detail:
            out["detail"] = self.detail
        failed = self.failed_rules()
        if failed and not self.valid:
            out["failed"] = failed
        return out

    def trace(self) -> dict[str, Any]:
        """Full form: every rule with its value and threshold."""
        out = self.summary()
        for side, outcome in (
            ("long", self.long),
            ("short", self.short),
            ("filters", self.filters),
        ):
            if outcome is not None:
                out[side] = outcome.to_dict()
        return out


@dataclass(frozen=True)
class SymbolDecision:
    symbol: str
    status: Status
    side: str | None
    execution_tf: Timeframe | None
    reason: str | None
    detail: str | None
    context_valid: bool
    context_side: str | None
    timeframes: Mapping[Timeframe, TimeframeDecision] = field(default_factory=dict)
    selection: tuple[dict[str, Any], ...] = ()
    blocking_tf: Timeframe | None = None  # the timeframe that stopped the symbol, if one did

    @property
    def last_validated(self) -> tuple[Timeframe, str] | None:
        """The deepest timeframe (in evaluation order) that validated, with its side."""
        last = None
        for tf, decision in self.timeframes.items():
            if decision.valid and decision.signal:
                last = (tf, decision.signal)
        return last


def _side_outcome(view: View, node: Any) -> Outcome | None:
    return None if node is None else node.evaluate(view)


def evaluate_timeframe(
    profile: CompiledProfile, timeframe: Timeframe, phase: str, view: View
) -> TimeframeDecision:
    """long / short / none on one timeframe, with every rule's trace."""
    sides = profile.sides[timeframe]
    tf_view = view.on(timeframe)
    long = _side_outcome(tf_view, sides.long)
    short = _side_outcome(tf_view, sides.short)
    filters = _side_outcome(tf_view, profile.filters)
    long_ok = bool(long and long.passed)
    short_ok = bool(short and short.passed)
    if long_ok and short_ok:
        return TimeframeDecision(
            timeframe, phase, None, False, Reason.LONG_AND_SHORT, long, short, filters
        )
    if not long_ok and not short_ok:
        missing = next((o.first_missing() for o in (long, short) if o and o.first_missing()), None)
        if missing and "not enough candles" in missing:
            return TimeframeDecision(
                timeframe,
                phase,
                None,
                False,
                Reason.NOT_ENOUGH_CANDLES,
                long,
                short,
                filters,
                missing,
            )
        return TimeframeDecision(
            timeframe, phase, None, False, Reason.NO_LONG_NO_SHORT, long, short, filters, missing
        )
    signal = "long" if long_ok else "short"
    if filters is not None and not filters.passed:
        return TimeframeDecision(
            timeframe,
            phase,
            signal,
            False,
            Reason.FILTERS_MANDATORY_FAILED,
            long,
            short,
            filters,
            ", ".join(filters.failed_rules()),
        )
    return TimeframeDecision(timeframe, phase, signal, True, None, long, short, filters)


@dataclass(frozen=True)
class Context:
    valid: bool
    side: str | None = None
    reason: str | None = None
    detail: str | None = None
    blocking: Timeframe | None = None


def consolidate_context(mode: str, decisions: list[TimeframeDecision]) -> Context:
    """The context timeframes consolidated under `mode`."""
    if not decisions:
        return Context(True)
    sides = {d.signal for d in decisions if d.valid and d.signal}
    invalid = [d for d in decisions if not d.valid]
    if mode != "strict":
        invalid = [d for d in invalid if d.reason != Reason.NO_LONG_NO_SHORT]
    if invalid:
        bad = invalid[0]
        return Context(
            False,
            None,
            Reason.CONTEXT_INVALID_TIMEFRAME,
            f"{bad.timeframe}: {bad.reason}",
            bad.timeframe,
        )
    if not sides:
        return Context(False, None, Reason.CONTEXT_ALL_NEUTRAL, None, decisions[-1].timeframe)
    if len(sides) > 1:
        detail = ", ".join(f"{d.timeframe}={d.signal}" for d in decisions if d.signal)
        # the shorter timeframe disagrees with the longer one
        shorter = next(d.timeframe for d in reversed(decisions) if d.signal)
        return Context(False, None, Reason.CONTEXT_SIDE_CONFLICT, detail, shorter)
    return Context(True, sides.pop())


def decide(
    profile: CompiledProfile,
    symbol: str,
    frames: Mapping[Timeframe, Frame],
    as_of_ms: int,
    *,
    skip_context: bool = False,
    only_execution_tf: Timeframe | None = None,
    mode: str | None = None,
    metrics: MetricSource | None = None,
) -> SymbolDecision:
    """Decide READY (side, execution timeframe) or INVALID (reason) for one symbol."""
    view = View(frames, profile.execution[0], as_of_ms)
    decisions: dict[Timeframe, TimeframeDecision] = {}

    context_side: str | None = None
    if not skip_context:
        ctx = [evaluate_timeframe(profile, tf, "context", view) for tf in profile.context]
        decisions.update({d.timeframe: d for d in ctx})
        context = consolidate_context(mode or profile.mode, ctx)
        if not context.valid:
            return SymbolDecision(
                symbol,
                Status.INVALID,
                None,
                None,
                context.reason,
                context.detail,
                False,
                None,
                decisions,
                blocking_tf=context.blocking,
            )
        context_side = context.side

    execution = [tf for tf in profile.execution if only_execution_tf in (None, tf)]
    exe = [evaluate_timeframe(profile, tf, "execution", view) for tf in execution]
    decisions.update({d.timeframe: d for d in exe})
    valid_exe = [d for d in exe if d.valid]
    candidates = [d for d in valid_exe if context_side in (None, d.signal)]
    if not candidates:
        if valid_exe:
            detail = ", ".join(f"{d.timeframe}={d.signal}" for d in valid_exe)
            return SymbolDecision(
                symbol,
                Status.INVALID,
                None,
                None,
                Reason.EXECUTION_SIDE_CONFLICT,
                f"context {context_side}; {detail}",
                True,
                context_side,
                decisions,
                blocking_tf=valid_exe[0].timeframe,
            )
        first = exe[0] if exe else None
        return SymbolDecision(
            symbol,
            Status.INVALID,
            None,
            None,
            Reason.NO_EXECUTION_TIMEFRAME_VALID,
            f"{first.timeframe}: {first.reason}" if first else None,
            True,
            context_side,
            decisions,
            blocking_tf=first.timeframe if first else None,
        )

    by_tf = {d.timeframe: d for d in candidates}
    side = context_side
    if side is None:
        # Without a context side, the longest valid execution timeframe sets the side.
        longest = next(tf for tf in DESCENDING if tf in by_tf)
        side = by_tf[longest].signal
        by_tf = {tf: d for tf, d in by_tf.items() if d.signal == side}
    selection = profile.selector.select(list(by_tf), side or "", view, metrics)
    if selection.timeframe is None:
        return SymbolDecision(
            symbol,
            Status.INVALID,
            None,
            None,
            selection.reason,
            None,
            True,
            context_side,
            decisions,
            selection.trace,
            blocking_tf=Timeframe(selection.trace[-1]["timeframe"]) if selection.trace else None,
        )
    chosen = by_tf[selection.timeframe]
    return SymbolDecision(
        symbol,
        Status.READY,
        chosen.signal,
        chosen.timeframe,
        None,
        None,
        True,
        context_side,
        decisions,
        selection.trace,
    )
