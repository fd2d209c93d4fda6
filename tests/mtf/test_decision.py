"""The decision: context consolidation, execution side agreement, filters, selection."""

from __future__ import annotations

from typing import Any

import pytest

import indicators as ind
from mtf.decision import Reason, Status, consolidate_context, decide, evaluate_timeframe
from mtf.rules.frame import Frame, View
from mtf.rules.profile import CompiledProfile, compile_profile
from providers.timeframes import Timeframe
from tests.helpers import T0, make_candles

# Rules read `close` against fixed levels so each test sets the outcome exactly.
LONG = [{"gt": 100, "field": "close"}]
SHORT = [{"lt": 100, "field": "close"}]


def profile(**overrides: Any) -> CompiledProfile:
    data: dict[str, Any] = {
        "name": "t",
        "mode": "pragmatic",
        "context_timeframes": ["1h", "15m"],
        "execution_timeframes": ["5m", "1m"],
        "history_bars": 30,
        "timeframes": {tf: {"long": LONG, "short": SHORT} for tf in ("1h", "15m", "5m", "1m")},
    }
    data.update(overrides)
    return compile_profile(data)


AS_OF = T0 + 86_400_000


def frames(**closes: float) -> dict[Timeframe, Frame]:
    """One frame per timeframe whose last close is the given value."""
    out = {}
    for name, close in closes.items():
        tf = Timeframe(name.removeprefix("tf_"))
        n = 40
        start = tf.last_closed_open_ms(AS_OF) - (n - 1) * tf.ms
        out[tf] = Frame(make_candles([100.0] * (n - 1) + [close], tf, start_ms=start))
    return out


def test_ready_long_when_all_agree() -> None:
    d = decide(profile(), "X", frames(tf_1h=101, tf_15m=102, tf_5m=103, tf_1m=104), AS_OF)
    assert d.status is Status.READY and d.side == "long" and d.execution_tf is Timeframe.M5
    assert d.last_validated == (Timeframe.M1, "long")


def test_execution_side_must_agree_with_context() -> None:
    d = decide(profile(), "X", frames(tf_1h=101, tf_15m=101, tf_5m=99, tf_1m=99), AS_OF)
    assert d.status is Status.INVALID and d.reason == Reason.EXECUTION_SIDE_CONFLICT
    assert "context long" in (d.detail or "")


def test_shorter_agreeing_timeframe_is_chosen_when_longer_disagrees() -> None:
    d = decide(profile(), "X", frames(tf_1h=99, tf_15m=99, tf_5m=101, tf_1m=98), AS_OF)
    assert d.status is Status.READY and d.side == "short" and d.execution_tf is Timeframe.M1


def test_context_conflict() -> None:
    d = decide(profile(), "X", frames(tf_1h=101, tf_15m=99, tf_5m=101, tf_1m=101), AS_OF)
    assert d.status is Status.INVALID and d.reason == Reason.CONTEXT_SIDE_CONFLICT
    assert d.detail == "1h=long, 15m=short"
    assert Timeframe.M5 not in d.timeframes, "execution is not evaluated on an invalid context"


def test_pragmatic_tolerates_a_neutral_timeframe_strict_does_not() -> None:
    closes = frames(tf_1h=100, tf_15m=101, tf_5m=101, tf_1m=101)  # 1h is neither > nor < 100
    assert decide(profile(), "X", closes, AS_OF).status is Status.READY
    strict = decide(profile(mode="strict"), "X", closes, AS_OF)
    assert strict.status is Status.INVALID and strict.reason == Reason.CONTEXT_INVALID_TIMEFRAME
    assert strict.detail == "1h: no_long_no_short"
    # and a request can override the mode
    assert decide(profile(), "X", closes, AS_OF, mode="strict").status is Status.INVALID


def test_all_neutral_context() -> None:
    d = decide(profile(), "X", frames(tf_1h=100, tf_15m=100, tf_5m=101, tf_1m=101), AS_OF)
    assert d.reason == Reason.CONTEXT_ALL_NEUTRAL


def test_long_and_short_is_invalid_not_a_tie_break() -> None:
    p = profile(
        timeframes={
            tf: {"long": LONG, "short": [{"gt": 0, "field": "close"}]}
            for tf in ("1h", "15m", "5m", "1m")
        }
    )
    d = decide(p, "X", frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101), AS_OF)
    assert d.reason == Reason.CONTEXT_INVALID_TIMEFRAME and "long_and_short" in (d.detail or "")


def test_filters_mandatory_veto_every_timeframe() -> None:
    p = profile(filters_mandatory=[{"lt": 102, "field": "close"}])
    ok = decide(p, "X", frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101), AS_OF)
    assert ok.status is Status.READY
    vetoed = decide(p, "X", frames(tf_1h=101, tf_15m=101, tf_5m=103, tf_1m=103), AS_OF)
    assert vetoed.status is Status.INVALID
    assert vetoed.timeframes[Timeframe.M5].reason == Reason.FILTERS_MANDATORY_FAILED


def test_skip_context_and_current_tf() -> None:
    f = frames(tf_1h=99, tf_15m=101, tf_5m=101, tf_1m=101)
    skipped = decide(profile(), "X", f, AS_OF, skip_context=True)
    assert skipped.status is Status.READY and Timeframe.H1 not in skipped.timeframes
    only_1m = decide(profile(), "X", f, AS_OF, skip_context=True, only_execution_tf=Timeframe.M1)
    assert only_1m.execution_tf is Timeframe.M1 and Timeframe.M5 not in only_1m.timeframes


def test_not_enough_candles_is_a_reason() -> None:
    p = profile(
        timeframes={
            tf: {"long": [{"gt": 0, "field": "ema_50"}], "short": SHORT}
            for tf in ("1h", "15m", "5m", "1m")
        }
    )
    d = decide(p, "X", frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101), AS_OF)
    tf = d.timeframes[Timeframe.H1]
    assert tf.reason == Reason.NOT_ENOUGH_CANDLES
    # EMA50 is read once settled, from its anchor (indicators.anchored)
    need = ind.window_at(Timeframe.H1.last_closed_open_ms(AS_OF), Timeframe.H1.ms, 166)
    assert ind.settled_candles("ema", period=50) == 166
    assert tf.detail == f"not enough candles for ema_50 on 1h (have 40, need {need})"


def test_trace_names_every_rule_with_value_and_threshold() -> None:
    f = frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101)
    d = evaluate_timeframe(profile(), Timeframe.H1, "context", View(f, Timeframe.M1, AS_OF))
    trace = d.trace()
    assert trace["long"] == {
        "rule": "close > 100",
        "passed": True,
        "value": 101.0,
        "threshold": 100.0,
    }
    assert trace["short"]["passed"] is False
    assert d.summary() == {"phase": "context", "signal": "long", "valid": True}


@pytest.mark.parametrize(
    ("signals", "mode", "expected"),
    [
        ([("long", True), ("long", True)], "strict", (True, "long")),
        ([("long", True), (None, False)], "strict", (False, None)),
        ([("long", True), (None, False)], "pragmatic", (True, "long")),
        ([(None, False), (None, False)], "pragmatic", (False, None)),
    ],
)
def test_consolidation_table(
    signals: list[tuple[str | None, bool]], mode: str, expected: tuple[bool, str | None]
) -> None:
    from mtf.decision import TimeframeDecision

    decisions = [
        TimeframeDecision(
            tf, "context", sig, valid, None if valid else Reason.NO_LONG_NO_SHORT, None, None
        )
        for tf, (sig, valid) in zip((Timeframe.H1, Timeframe.M15), signals, strict=True)
    ]
    context = consolidate_context(mode, decisions)
    assert (context.valid, context.side) == expected


def test_selector_drops_to_lower_timeframe_and_forbids() -> None:
    selector = {
        "per_timeframe": {
            "5m": {
                "stay_on_if": [{"close": {"gt": 105}}],
                "forbid_drop_to_lower_if_any": [{"close_1h": {"gt": 110}}],
            }
        }
    }
    p = profile(execution_selector=selector)
    dropped = decide(p, "X", frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101), AS_OF)
    assert dropped.status is Status.READY and dropped.execution_tf is Timeframe.M1
    assert [s["action"] for s in dropped.selection] == ["drop", "stay"]
    stays = decide(p, "X", frames(tf_1h=101, tf_15m=101, tf_5m=106, tf_1m=101), AS_OF)
    assert stays.execution_tf is Timeframe.M5
    forbidden = decide(p, "X", frames(tf_1h=111, tf_15m=101, tf_5m=101, tf_1m=101), AS_OF)
    assert forbidden.status is Status.INVALID and forbidden.reason == "execution_drop_forbidden"


def test_selector_metrics_come_from_the_metric_source() -> None:
    selector = {"per_timeframe": {"5m": {"stay_on_if": [{"expected_r_multiple": {"gte": 2}}]}}}
    p = profile(execution_selector=selector)
    f = frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101)
    asked: list[tuple[Timeframe, str]] = []

    def metrics(tf: Timeframe, side: str) -> dict[str, float | None]:
        asked.append((tf, side))
        return {"expected_r_multiple": 2.5}

    d = decide(p, "X", f, AS_OF, metrics=metrics)
    assert d.execution_tf is Timeframe.M5 and asked == [(Timeframe.M5, "long")]
    no_metrics = decide(p, "X", f, AS_OF)
    assert no_metrics.execution_tf is Timeframe.M1
    assert no_metrics.selection[0]["stay_on_if"][0]["missing"] == "expected_r_multiple unavailable"


def test_blocking_timeframe_names_what_stopped_the_symbol() -> None:
    conflict = decide(profile(), "X", frames(tf_1h=101, tf_15m=99, tf_5m=101, tf_1m=101), AS_OF)
    assert conflict.blocking_tf is Timeframe.M15
    neutral_ctx = decide(profile(), "X", frames(tf_1h=100, tf_15m=101, tf_5m=100, tf_1m=100), AS_OF)
    assert neutral_ctx.reason == Reason.NO_EXECUTION_TIMEFRAME_VALID
    assert neutral_ctx.blocking_tf is Timeframe.M5, "the tolerated neutral 1h does not block"
    side = decide(profile(), "X", frames(tf_1h=101, tf_15m=101, tf_5m=99, tf_1m=99), AS_OF)
    assert side.blocking_tf is Timeframe.M5
    assert (
        decide(
            profile(), "X", frames(tf_1h=101, tf_15m=101, tf_5m=101, tf_1m=101), AS_OF
        ).blocking_tf
        is None
    )
