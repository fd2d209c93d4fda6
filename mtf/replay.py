"""Replay a profile over stored history: the decision at every step of a time range.

Indicators are computed once per timeframe over the whole history (settled values do not depend
on where it starts, see `indicators.anchored`) and the rule tree is evaluated over the whole
column of decision moments at once (`mtf.decision_columns`), so a month of minutes replays in
well under a second per symbol. `decisions` is the per-moment path, one `decide` at a time: the
reference the column evaluation is tested against. Used by `mtf replay`, the backtest and the
tests that check profiles against real candles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from mtf.decision import Status, SymbolDecision, decide
from mtf.decision_columns import READY, REASONS, STATUSES, DecisionColumns, decide_columns
from mtf.metrics import metric_source
from mtf.rules.frame import Frame
from mtf.rules.profile import CompiledProfile
from providers.candles import Candles
from providers.timeframes import DESCENDING, Timeframe


@dataclass
class ReplayReport:
    """What a profile decided over a range, for one or several symbols."""

    decisions: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    ready: Counter[str] = field(default_factory=Counter)  # "long 1m", "short 5m"
    reasons: Counter[str] = field(default_factory=Counter)  # "5m context_all_neutral"
    examples: list[tuple[str, int, str, str]] = field(default_factory=list)

    def add(self, decision: SymbolDecision, as_of_ms: int) -> None:
        self.decisions += 1
        self.statuses[decision.status.value] += 1
        if decision.status is Status.READY:
            assert decision.execution_tf is not None
            self.ready[f"{decision.side} {decision.execution_tf}"] += 1
            if len(self.examples) < 50:
                self.examples.append(
                    (decision.symbol, as_of_ms, str(decision.side), decision.execution_tf.value)
                )
        else:
            where = decision.blocking_tf.value + " " if decision.blocking_tf else ""
            self.reasons[f"{where}{decision.reason}"] += 1

    def add_columns(self, cols: DecisionColumns) -> None:
        """Every moment of a column evaluation."""
        status = cols.status
        self.decisions += len(cols)
        for code, name in enumerate(STATUSES):
            count = int(np.count_nonzero(status == code))
            if count:
                self.statuses[name] += count
        for i in cols.ready().tolist():
            _, side, tf, _, _ = cols.at(i)
            self.ready[f"{side} {tf}"] += 1
            if len(self.examples) < 50:
                self.examples.append((cols.symbol, int(cols.moments[i]), str(side), str(tf)))
        others = np.flatnonzero(status != READY)
        if len(others):
            pairs = np.stack([cols.blocking[others], cols.reason[others]], axis=1)
            keys, counts = np.unique(pairs, axis=0, return_counts=True)
            for (block, reason), count in zip(keys.tolist(), counts.tolist(), strict=True):
                where = DESCENDING[block].value + " " if block >= 0 else ""
                self.reasons[f"{where}{REASONS[reason]}"] += count

    def merge(self, other: ReplayReport) -> None:
        self.decisions += other.decisions
        self.statuses.update(other.statuses)
        self.ready.update(other.ready)
        self.reasons.update(other.reasons)
        self.examples.extend(other.examples[: max(0, 50 - len(self.examples))])

    def sides(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for key, count in self.ready.items():
            out[key.split()[0]] += count
        return out


def moments_of(start_ms: int, end_ms: int, step_ms: int) -> Iterator[int]:
    """Decision moments on the step grid in [start_ms, end_ms]."""
    first = -(-start_ms // step_ms) * step_ms
    yield from range(first, end_ms + 1, step_ms)


def covered_range(
    profile: CompiledProfile, candles: Mapping[Timeframe, Candles]
) -> tuple[int, int]:
    """The moments at which every timeframe of the profile has enough closed history (an empty
    range, start after end, when a timeframe holds fewer candles than the profile reads)."""
    start, end = 0, 2**62
    for first_ok, last_ok in timeframe_ranges(profile, candles).values():
        if first_ok is None:
            return 1, 0
        start = max(start, first_ok)
        end = min(end, last_ok)
    return start, end


def timeframe_ranges(
    profile: CompiledProfile, candles: Mapping[Timeframe, Candles]
) -> dict[Timeframe, tuple[int | None, int]]:
    """Per timeframe of the profile: the first moment its history allows a decision (None: too
    few candles for any) and the close of its newest candle."""
    out: dict[Timeframe, tuple[int | None, int]] = {}
    for tf in profile.timeframes:
        block = candles.get(tf)
        if block is None or not len(block):
            out[tf] = (None, 0)
            continue
        need = max(1, profile.minimum_candles(tf))
        last_ok = int(block.open_time[-1]) + tf.ms
        first_ok = int(block.open_time[need - 1]) + tf.ms if len(block) >= need else None
        out[tf] = (first_ok, last_ok)
    return out


def decisions(
    profile: CompiledProfile,
    symbol: str,
    candles: Mapping[Timeframe, Candles],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    step: Timeframe = Timeframe.M1,
) -> Iterator[tuple[int, SymbolDecision]]:
    """The decision at every `step` close in the range (default: all the history allows),
    one moment at a time through `decide`: the reference the column evaluation is held to."""
    frames = {tf: Frame(block) for tf, block in candles.items()}
    lo, hi = covered_range(profile, candles)
    start = max(lo, start_ms) if start_ms is not None else lo
    end = min(hi, end_ms) if end_ms is not None else hi
    for as_of in moments_of(start, end, step.ms):
        metrics = metric_source(frames, as_of, pivot_tf=profile.pivot_timeframe)
        yield as_of, decide(profile, symbol, frames, as_of, metrics=metrics)


def replay(
    profile: CompiledProfile,
    symbol: str,
    candles: Mapping[Timeframe, Candles],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    step: Timeframe = Timeframe.M1,
    on_decision: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Decide `symbol` at every `step` close in the range (default: all the history allows),
    over whole columns; moments a live cycle would skip for stale or holed candles are
    SKIPPED. `on_decision(n)` is told how many decisions were made (progress)."""
    report = ReplayReport()
    cols = replay_columns(profile, symbol, candles, start_ms=start_ms, end_ms=end_ms, step=step)
    report.add_columns(cols)
    if on_decision is not None:
        on_decision(len(cols))
    return report


def replay_columns(
    profile: CompiledProfile,
    symbol: str,
    candles: Mapping[Timeframe, Candles],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    step: Timeframe = Timeframe.M1,
) -> DecisionColumns:
    """The decisions at every `step` close in the range, as columns."""
    frames = {tf: Frame(block) for tf, block in candles.items()}
    lo, hi = covered_range(profile, candles)
    start = max(lo, start_ms) if start_ms is not None else lo
    end = min(hi, end_ms) if end_ms is not None else hi
    moments = np.fromiter(moments_of(start, end, step.ms), dtype=np.int64)
    return decide_columns(profile, symbol, frames, moments, check_data=True)
