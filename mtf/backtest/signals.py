"""A symbol's decisions over a backtest's range (pure): every minute through the column
evaluation (`mtf.decision_columns`, checked against the per-moment reference), the READY ones
kept as signals, the others counted by reason. This part depends only on the validation
profile and the symbol's candles, so a sweep computes it once per symbol and validation
variant, in parallel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtf.backtest.engine import BacktestSignal
from mtf.decision_columns import decide_columns
from mtf.replay import ReplayReport
from mtf.rules.frame import Frame
from mtf.rules.profile import CompiledProfile
from providers.candles import Candles
from providers.timeframes import Timeframe
from providers.types import PositionSide

MINUTE = Timeframe.M1.ms


def decision_minutes(start_ms: int, end_ms: int) -> np.ndarray:
    """Every minute close in [start_ms, end_ms]."""
    first = -(-start_ms // MINUTE) * MINUTE
    return np.arange(first, end_ms + 1, MINUTE, dtype=np.int64)


@dataclass(frozen=True)
class SymbolSignals:
    """READY moments of one symbol (moment, +1/-1, execution timeframe) and the counts."""

    symbol: str
    decisions: int
    statuses: dict[str, int]
    reasons: dict[str, int]
    ready: list[tuple[int, int, str]] = field(default_factory=list)

    def signals(self) -> list[BacktestSignal]:
        return [
            BacktestSignal(
                moment,
                self.symbol,
                PositionSide.LONG if side > 0 else PositionSide.SHORT,
                Timeframe(tf),
            )
            for moment, side, tf in self.ready
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "decisions": self.decisions,
            "statuses": self.statuses,
            "reasons": self.reasons,
            "ready": [list(r) for r in self.ready],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SymbolSignals:
        return cls(
            data["symbol"],
            int(data["decisions"]),
            dict(data["statuses"]),
            dict(data["reasons"]),
            [(int(m), int(s), str(tf)) for m, s, tf in data["ready"]],
        )


def symbol_signals(
    profile: CompiledProfile,
    symbol: str,
    candles: Mapping[Timeframe, Candles],
    start_ms: int,
    end_ms: int,
) -> SymbolSignals:
    """The decision at every minute of [start_ms, end_ms]; stale or holed data is SKIPPED as a
    live cycle would skip it."""
    frames = {tf: Frame(candles[tf]) for tf in profile.timeframes}
    cols = decide_columns(
        profile, symbol, frames, decision_minutes(start_ms, end_ms), check_data=True
    )
    report = ReplayReport()
    report.add_columns(cols)
    ready = [(int(cols.moments[i]), int(cols.side[i]), str(cols.at(i)[2])) for i in cols.ready()]
    return SymbolSignals(
        symbol,
        report.decisions,
        dict(report.statuses),
        dict(report.reasons.most_common()),
        ready,
    )
