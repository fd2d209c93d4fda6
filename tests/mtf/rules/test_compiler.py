"""Compilation of rule specs: every form, and every kind of mistake reported with its path."""

from __future__ import annotations

from typing import Any

import pytest

from mtf.rules import nodes as n
from mtf.rules.compiler import Compiler, Problem, split_definition
from mtf.rules.profile import library_definitions


def compile_one(
    spec: Any, rules: dict[str, Any] | None = None
) -> tuple[n.Node | None, list[Problem]]:
    defs = dict(library_definitions())
    problems: list[Problem] = []
    for name, body in (rules or {}).items():
        d, errs = split_definition(name, body, f"rules.{name}", "profile")
        problems.extend(errs)
        if d:
            defs[name] = d
    c = Compiler(defs, problems)
    node = c.compile(spec, "timeframes.1m.long[0]", {})
    return node, problems


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ({"gt_fields": ["close", "ema_20"]}, n.Compare),
        ({"lt": 30}, n.Compare),
        ({"gte": 0.5, "field": "volume_ratio"}, n.Compare),
        ({"op": ">=", "left": "close", "right": "sma_21 + 2 * atr", "eps": 0.1}, n.Compare),
        ({"field": "atr_pct", "min": 0.001, "max": 0.02}, n.Range),
        ({"near": ["close", "vwap"], "tolerance": 0.002}, n.Near),
        ({"slope": "ema_20", "lookback": 5, "gt": 0}, n.Slope),
        ({"increasing": {"field": "macd_hist", "n": 2}}, n.Monotonic),
        ({"decreasing": "rsi"}, n.Monotonic),
        ({"cross_up": ["ema_9", "ema_21"], "min_gap": 0.1, "cool_down_bars": 2}, n.Cross),
        ({"cross_down": ["macd_hist", 0], "require_prev_above": False}, n.Cross),
        ({"atr_band": {"min": 0.001, "max": 0.02, "use_atr_tf": "5m"}}, n.OnTimeframe),
        ({"any_of": ["close_above_vwap", "close_above_ema_9"]}, n.AnyOf),
        ({"all_of": [{"lt": 70}, {"gt": 30}]}, n.AllOf),
        ({"not": "close_above_vwap"}, n.Not),
        ({"gt": 50, "validity_bars": 3}, n.Within),
        ({"gt": 20, "field": "adx", "timeframe": "1h"}, n.OnTimeframe),
        ("rsi_bullish", n.Named),
        ({"rsi_bullish": {"threshold": 55}}, n.Named),
    ],
)
def test_forms_compile(spec: Any, kind: type) -> None:
    node, problems = compile_one(spec)
    assert problems == []
    assert isinstance(node, kind)


def test_override_changes_the_threshold() -> None:
    node, _ = compile_one({"rsi_lt_70": {"threshold": 73}})
    assert isinstance(node, n.Named)
    assert isinstance(node.body, n.Compare) and node.body.right == 73.0
    default, _ = compile_one("rsi_lt_70")
    assert isinstance(default, n.Named) and isinstance(default.body, n.Compare)
    assert default.body.right == 70.0


def test_profile_rule_shadows_library_rule() -> None:
    node, problems = compile_one("rsi_bullish", rules={"rsi_bullish": {"gt": 60}})
    assert problems == []
    assert isinstance(node, n.Named) and isinstance(node.body, n.Compare)
    assert node.body.right == 60.0


@pytest.mark.parametrize(
    ("spec", "rules", "path", "words"),
    [
        (
            "no_such_rule",
            None,
            "timeframes.1m.long[0]",
            ["unknown rule 'no_such_rule'", "rsi_bullish"],
        ),
        (
            {"gt_fields": ["close", "ma_9"]},
            None,
            "timeframes.1m.long[0].gt_fields[1]",
            ["unknown field 'ma_9'", "ema_<n>"],
        ),
        (
            {"op": "=>", "left": "close", "right": 1},
            None,
            "timeframes.1m.long[0].op",
            ["unknown operator", ">="],
        ),
        ({"lt": "seventy"}, None, "timeframes.1m.long[0].lt", ["unknown field 'seventy'"]),
        (
            {"rsi_lt_70": {"level": 73}},
            None,
            "timeframes.1m.long[0].rsi_lt_70.level",
            ["no parameter 'level'", "threshold"],
        ),
        (
            {"frobnicate": 3},
            None,
            "timeframes.1m.long[0]",
            ["unknown rule or operator", "cross_up"],
        ),
        ({"gt_fields": ["close"]}, None, "timeframes.1m.long[0].gt_fields", ["two operands"]),
        ({"any_of": []}, None, "timeframes.1m.long[0].any_of", ["non-empty"]),
        (
            {"gt": 1, "validity_bars": 0},
            None,
            "timeframes.1m.long[0].validity_bars",
            ["integer >= 1"],
        ),
        ({"gt": 1, "timeframe": "2h"}, None, "timeframes.1m.long[0].timeframe", ["allowed: 1m"]),
        ({"lt": 70, "feild": "rsi"}, None, "timeframes.1m.long[0]", ["unexpected key(s) feild"]),
        (
            {"field": "rsi", "min": 70, "max": 30},
            None,
            "timeframes.1m.long[0]",
            ["min 70 is above max 30"],
        ),
        ("a", {"a": "b", "b": {"any_of": ["a"]}}, "rules.b.any_of[0]", ["cycle: a -> b -> a"]),
        (
            # a bad parameter value is reported where it was given, not in the rule's body
            {"rsi_bullish": {"threshold": "abc"}},
            None,
            "timeframes.1m.long[0].rsi_bullish",
            ["with threshold='abc': library.rsi_bullish.gt: unknown field 'abc'"],
        ),
        (
            {"rsi_bulish": {"threshold": 55}},
            None,
            "timeframes.1m.long[0]",
            ["unknown rule or operator 'rsi_bulish' (did you mean rsi_bullish?)"],
        ),
        (
            "close_abve_ema_9",
            None,
            "timeframes.1m.long[0]",
            ["unknown rule 'close_abve_ema_9' (did you mean close_above_ema_9"],
        ),
        (
            "uses_param",
            {"uses_param": {"params": {"x": 1}, "gt": "$y"}},
            "rules.uses_param.gt",
            ["unknown parameter '$y'", "declared parameters: x"],
        ),
    ],
)
def test_problems_name_the_path_and_the_choices(
    spec: Any, rules: dict[str, Any] | None, path: str, words: list[str]
) -> None:
    node, problems = compile_one(spec, rules)
    assert node is None
    assert problems, "a problem must be reported"
    assert any(p.path == path for p in problems), [str(p) for p in problems]
    text = " | ".join(str(p) for p in problems)
    for word in words:
        assert word in text


def test_library_compiles_entirely() -> None:
    defs = library_definitions()
    problems: list[Problem] = []
    compiler = Compiler(defs, problems)
    for name in defs:
        assert compiler.named(name, None, f"library.{name}") is not None, name
    assert problems == []
