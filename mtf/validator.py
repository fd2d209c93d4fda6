"""Per-symbol validation: load closed candles, refuse stale data, decide, serialise.

`validate_symbol` never raises for a symbol's own problem: it returns an ERROR result carrying
the message, so one symbol cannot sink a run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from infra.logging import bind
from mtf.context import RunContext
from mtf.decision import Reason, Status, SymbolDecision, decide
from mtf.metrics import metric_source
from mtf.rules.frame import Frame
from mtf.rules.profile import CompiledProfile
from mtf.versions import ProfileVersionMismatch, validation_profile
from providers.candles import Candles
from providers.marketdata import MarketData
from providers.timeframes import Timeframe, iso

log = logging.getLogger(__name__)


def _result(
    symbol: str,
    status: Status,
    reason: str | None,
    detail: str | None,
    started: float,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": status.value,
        "side": None,
        "execution_tf": None,
        "reason": reason,
        "detail": detail,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        **extra,
    }


def load_frames(
    profile: CompiledProfile,
    symbol: str,
    market: MarketData,
    as_of_ms: int,
    stored: Mapping[Timeframe, Candles] | None = None,
) -> tuple[dict[Timeframe, Frame], list[str]]:
    """Frames for every timeframe the profile reads, and a note per unusable timeframe
    (newest candle not the one just closed, or a hole in the series)."""
    frames: dict[Timeframe, Frame] = {}
    problems: list[str] = []
    for tf in profile.timeframes:
        candles = market.closed_candles(
            symbol,
            tf,
            as_of_ms,
            profile.candles_needed(tf, as_of_ms),
            stored=stored.get(tf) if stored else None,
        )
        expected = tf.last_closed_open_ms(as_of_ms)
        if candles.last_open_ms != expected:
            newest = iso(candles.last_open_ms) if candles.last_open_ms is not None else "none"
            problems.append(f"{tf} newest candle {newest}, expected {iso(expected)}")
        else:
            holes = np.flatnonzero(np.diff(candles.open_time) != tf.ms)
            if len(holes):
                after = iso(int(candles.open_time[holes[-1]]))
                problems.append(f"{tf} candles missing after {after}")
        frames[tf] = Frame(candles)
    return frames, problems


def serialise(decision: SymbolDecision, frames: dict[Timeframe, Frame]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "symbol": decision.symbol,
        "status": decision.status.value,
        "side": decision.side,
        "execution_tf": decision.execution_tf.value if decision.execution_tf else None,
        "reason": decision.reason,
        "detail": decision.detail,
        "context": {"valid": decision.context_valid, "side": decision.context_side},
        "timeframes": {tf.value: d.summary() for tf, d in decision.timeframes.items()},
        "trace": {tf.value: d.trace() for tf, d in decision.timeframes.items()},
    }
    blocking = decision.blocking_tf
    out["blocking_tf"] = blocking.value if blocking else None
    last = decision.last_validated
    out["last_validated"] = {"timeframe": last[0].value, "side": last[1]} if last else None
    if decision.selection:
        out["selection"] = list(decision.selection)
    if decision.execution_tf is not None:
        candles = frames[decision.execution_tf].candles
        out["candle_open_ms"] = candles.last_open_ms
        out["close"] = float(candles.close[-1])
    return out


SpreadLookup = Callable[[str], float | None]


def validate_symbol(
    symbol: str,
    ctx: RunContext,
    market: MarketData,
    stored: Mapping[Timeframe, Candles] | None = None,
    spread: SpreadLookup | None = None,
) -> dict[str, Any]:
    """Decide one symbol as of `ctx.as_of_ms`; always returns a result dict.

    `spread` gives a symbol's top-of-book spread in bps; it is called only when the profile's
    execution selector names `spread_bps`."""
    started = time.perf_counter()
    with bind(run_id=ctx.run_id, symbol=symbol):
        try:
            profile = validation_profile(ctx)
            frames, stale = load_frames(profile, symbol, market, ctx.as_of_ms, stored)
            if stale:
                empty = all(len(f.candles) == 0 for f in frames.values())
                reason = "no_candles" if empty else Reason.STALE_CANDLES.value
                if not empty and all("missing after" in note for note in stale):
                    reason = "candle_gap"
                return _result(symbol, Status.SKIPPED, reason, "; ".join(stale), started)
            decision = decide(
                profile,
                symbol,
                frames,
                ctx.as_of_ms,
                skip_context=ctx.skip_context,
                only_execution_tf=ctx.execution_tf,
                mode=ctx.validation_mode,
                metrics=metric_source(
                    frames,
                    ctx.as_of_ms,
                    (lambda: spread(symbol)) if spread else None,
                    pivot_tf=profile.pivot_timeframe,
                ),
            )
            out = serialise(decision, frames)
            out["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            return out
        except ProfileVersionMismatch:
            raise  # the run's problem, not the symbol's
        except Exception as exc:  # one symbol's failure must never sink the run
            log.exception("validation of %s failed", symbol)
            return _result(
                symbol,
                Status.ERROR,
                Reason.SYMBOL_ERROR.value,
                f"{type(exc).__name__}: {exc}",
                started,
            )


def validate_many(
    symbols: list[str],
    ctx: RunContext,
    market: MarketData,
    spread: SpreadLookup | None = None,
) -> list[dict[str, Any]]:
    """`validate_symbol` for several symbols, reading their stored candles in one query per
    timeframe. If that shared read fails, each symbol reads its own, so a problem stays the
    problem of the symbol it belongs to."""
    stored: dict[Timeframe, dict[str, Candles]] = {}
    profile = validation_profile(ctx)
    try:
        for tf in profile.timeframes:
            limit = profile.candles_needed(tf, ctx.as_of_ms)
            stored[tf] = market.stored_window(symbols, tf, ctx.as_of_ms, limit)
    except Exception:
        log.warning("batch read of candles failed; reading symbol by symbol", exc_info=True)
        stored = {}
    return [
        validate_symbol(s, ctx, market, {tf: by[s] for tf, by in stored.items()} or None, spread)
        for s in symbols
    ]
