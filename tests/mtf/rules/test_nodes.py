"""Evaluation of conditions on candles whose values the test controls exactly."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import indicators as ind
from mtf.rules.compiler import Compiler, Problem
from mtf.rules.frame import Frame, View
from mtf.rules.nodes import Outcome
from mtf.rules.profile import library_definitions
from providers.timeframes import Timeframe
from tests.helpers import as_of_after, make_candles


def evaluate(
    spec: Any,
    closes: list[float],
    *,
    volumes: list[float] | None = None,
    extra_frames: dict[Timeframe, Frame] | None = None,
) -> Outcome:
    problems: list[Problem] = []
    node = Compiler(library_definitions(), problems).compile(spec, "t", {})
    assert node is not None, problems
    candles = make_candles(closes, volumes=volumes)
    frames = {Timeframe.M1: Frame(candles), **(extra_frames or {})}
    return node.evaluate(View(frames, Timeframe.M1, as_of_after(candles)))


def test_threshold_reads_the_last_closed_value() -> None:
    out = evaluate({"gt": 10.5, "field": "close"}, [9, 10, 11])
    assert out.passed and out.value == 11 and out.threshold == 10.5
    assert not evaluate({"gt": 11, "field": "close"}, [9, 10, 11]).passed


def test_eps_and_eps_pct_tolerances() -> None:
    # close 100 vs open 101 (open = previous close): 100 >= 101 fails, passes with 1 % tolerance
    assert not evaluate({"gte_fields": ["close", "open"]}, [101, 100]).passed
    assert evaluate({"gte_fields": ["close", "open"], "eps_pct": 0.01}, [101, 100]).passed
    assert evaluate({"gte_fields": ["close", "open"], "eps": 1.0}, [101, 100]).passed
    assert not evaluate({"gt_fields": ["close", "open"], "eps": 0.5}, [100, 100.4]).passed


def test_previous_bar_fields() -> None:
    out = evaluate({"op": "<", "left": "close_prev", "right": "close"}, [1, 2, 3])
    assert out.passed and out.value == 2 and out.threshold == 3


def test_expression_operand() -> None:
    out = evaluate({"op": "<=", "left": "close", "right": "open * 2 - 1"}, [5, 9])
    assert out.passed and out.threshold == 9
    assert not evaluate({"op": "<", "left": "close", "right": "open * 2 - 1"}, [5, 9]).passed


def test_range_and_near() -> None:
    assert evaluate({"field": "close", "min": 1, "max": 3}, [2]).passed
    out = evaluate({"field": "close", "min": 1, "max": 3}, [4])
    assert not out.passed and out.threshold == 3
    near = evaluate({"near": ["close", "open"], "tolerance": 0.011}, [100, 101])
    assert near.passed and near.value == pytest.approx(0.01)  # close 101 vs open 100
    assert not evaluate({"near": ["close", "open"], "tolerance": 0.009}, [100, 101]).passed


def test_slope_over_lookback() -> None:
    out = evaluate({"slope": "close", "lookback": 4, "gt": 0.9}, [1, 2, 3, 4, 5])
    assert out.passed and out.value == 1.0
    rel = evaluate({"slope": "close", "lookback": 1, "relative": True, "gt": 0.2}, [4, 5])
    assert rel.passed and rel.value == pytest.approx(0.25)
    assert evaluate({"slope": "close", "lookback": 2, "lt": 0}, [5, 4, 3]).passed


def test_increasing_decreasing() -> None:
    assert evaluate({"increasing": {"field": "close", "n": 3}}, [1, 2, 3, 4]).passed
    assert not evaluate({"increasing": {"field": "close", "n": 3}}, [2, 1, 3, 4]).passed
    assert evaluate({"increasing": {"field": "close", "n": 2, "strict": False}}, [1, 1, 1]).passed
    assert not evaluate({"increasing": {"field": "close", "n": 2}}, [1, 1, 1]).passed
    assert evaluate({"decreasing": {"field": "close", "n": 2}}, [3, 2, 1]).passed


def test_cross_with_hysteresis_and_cool_down() -> None:
    # close crosses above 10 on the last bar, from 9.5 to 10.6
    assert evaluate({"cross_up": ["close", 10]}, [9, 9.5, 10.6]).passed
    # the gap is not met: 10.2 - 10 < 0.5
    assert not evaluate({"cross_up": ["close", 10], "min_gap": 0.5}, [9, 9.9, 10.2]).passed
    # hysteresis: before the cross the value must have been 0.5 below the line
    assert not evaluate({"cross_up": ["close", 10], "min_gap": 0.5}, [9, 9.8, 10.6]).passed
    assert evaluate({"cross_up": ["close", 10], "min_gap": 0.5}, [9, 9.4, 10.6]).passed
    assert evaluate(
        {"cross_up": ["close", 10], "min_gap": 0.5, "require_prev_below": False}, [9, 9.8, 10.6]
    ).passed
    # crossed two bars ago: only within the cool-down window
    series = [9, 9, 10.5, 10.8, 11]
    assert not evaluate({"cross_up": ["close", 10]}, series).passed
    assert evaluate({"cross_up": ["close", 10], "cool_down_bars": 2}, series).passed
    # crossed back below since: no longer a cross
    assert not evaluate({"cross_up": ["close", 10], "cool_down_bars": 3}, [9, 10.5, 11, 9.5]).passed
    assert evaluate({"cross_down": ["close", 10]}, [11, 10.5, 9.4]).passed


def test_validity_bars_looks_back() -> None:
    spec = {"gt": 10, "field": "close", "validity_bars": 3}
    out = evaluate(spec, [1, 11, 5, 5])
    assert out.passed and out.value == 2.0  # held 2 bars ago
    assert not evaluate(spec, [11, 5, 5, 5]).passed


def test_not_and_groups_keep_every_child() -> None:
    out = evaluate({"any_of": [{"gt": 100, "field": "close"}, {"lt": 0, "field": "close"}]}, [5])
    assert not out.passed and len(out.children) == 2
    assert evaluate({"not": {"gt": 100, "field": "close"}}, [5]).passed


def test_missing_history_is_a_clear_failure_not_a_pass() -> None:
    out = evaluate({"gt": 0, "field": "ema_50"}, [1.0] * 10)
    assert not out.passed
    assert out.missing is not None
    have, need = re.fullmatch(
        r"not enough candles for ema_50 on 1m \(have (\d+), need (\d+)\)", out.missing
    ).groups()  # type: ignore[union-attr]
    assert int(have) == 10 and int(need) >= ind.settled_candles("ema", period=50)
    neg = evaluate({"not": {"gt": 0, "field": "ema_50"}}, [1.0] * 10)
    assert not neg.passed and "not enough candles" in (neg.missing or "")


def test_cross_timeframe_field_reads_the_other_frame() -> None:
    hourly = make_candles([50, 60, 70], Timeframe.H1, start_ms=0)
    minute_closes = [1.0] * 3
    candles = make_candles(minute_closes, start_ms=3 * Timeframe.H1.ms - 3 * Timeframe.M1.ms)
    frames = {Timeframe.M1: Frame(candles), Timeframe.H1: Frame(hourly)}
    problems: list[Problem] = []
    node = Compiler(library_definitions(), problems).compile(
        {"gt": 65, "field": "close_1h"}, "t", {}
    )
    assert node is not None
    out = node.evaluate(View(frames, Timeframe.M1, as_of_after(candles)))
    assert out.passed and out.value == 70
    # one minute earlier the last closed hour was the one that closed at 60
    early = node.evaluate(View(frames, Timeframe.M1, as_of_after(candles) - 60_000))
    assert not early.passed and early.value == 60


def test_library_pullback_is_directional() -> None:
    dip_then_up = [*np.linspace(100, 110, 60), 109.0, 108.0, 109.5]
    long_out = evaluate("pullback_confirmed_long", dip_then_up)
    short_out = evaluate("pullback_confirmed_short", dip_then_up)
    assert not (long_out.passed and short_out.passed)
