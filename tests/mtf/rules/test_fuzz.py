"""Property tests of the rule engine: random valid profiles on random candles never crash it;
random invalid profiles are refused at load with messages, never with another exception."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtf.decision import Status, decide
from mtf.rules.compiler import ProfileError
from mtf.rules.frame import Frame
from mtf.rules.profile import compile_profile, library_definitions
from providers.candles import Candles
from providers.timeframes import Timeframe

FIELDS = [
    "close",
    "open",
    "volume",
    "ema_9",
    "ema_50",
    "sma_21",
    "rsi",
    "rsi_7",
    "macd_hist",
    "macd",
    "macd_signal",
    "atr",
    "atr_pct",
    "adx",
    "plus_di",
    "bb_width",
    "stoch_rsi_k",
    "vwap",
    "vwap_20",
    "volume_ratio",
    "pivot_p",
    "rsi_prev",
    "close_5m",
    "ema_20_1h",
]
NUMBERS = st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False)
field = st.sampled_from(FIELDS)
operand = st.one_of(field, NUMBERS, st.just("sma_21 + 2 * atr"))


def leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(sorted(library_definitions())),
        st.builds(lambda a, b: {"gt_fields": [a, b]}, field, operand),
        st.builds(
            lambda a, b, eps: {"lt_fields": [a, b], "eps_pct": eps},
            field,
            operand,
            st.floats(0, 0.01),
        ),
        st.builds(
            lambda f, x, op: {op: x, "field": f},
            field,
            NUMBERS,
            st.sampled_from(["gt", "lt", "gte", "lte"]),
        ),
        st.builds(
            lambda op, a, b: {"op": op, "left": a, "right": b},
            st.sampled_from([">", ">=", "<", "<="]),
            operand,
            operand,
        ),
        st.builds(
            lambda f, lo, hi: {"field": f, "min": min(lo, hi), "max": max(lo, hi)},
            field,
            NUMBERS,
            NUMBERS,
        ),
        st.builds(lambda a, b, t: {"near": [a, b], "tolerance": t}, field, field, st.floats(0, 1)),
        st.builds(lambda f, n: {"slope": f, "lookback": n, "gt": 0}, field, st.integers(1, 20)),
        st.builds(
            lambda f, n, up: {"increasing" if up else "decreasing": {"field": f, "n": n}},
            field,
            st.integers(1, 5),
            st.booleans(),
        ),
        st.builds(
            lambda a, b, g, k, up: {
                "cross_up" if up else "cross_down": [a, b],
                "min_gap": g,
                "cool_down_bars": k,
            },
            field,
            operand,
            st.floats(0, 5),
            st.integers(0, 4),
            st.booleans(),
        ),
        st.builds(
            lambda lo, tf: {"atr_band": {"min": lo, "max": lo + 0.05, "use_atr_tf": tf}},
            st.floats(0, 0.01),
            st.sampled_from(["1m", "5m"]),
        ),
        st.builds(lambda t: {"rsi_bullish": {"threshold": t}}, st.floats(0, 100)),
    )


def condition() -> st.SearchStrategy[Any]:
    def wrap(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.builds(lambda xs: {"all_of": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda xs: {"any_of": xs}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda x: {"not": x}, children),
            st.builds(
                lambda xs, k: {"all_of": xs, "validity_bars": k},
                st.lists(children, min_size=1, max_size=2),
                st.integers(1, 4),
            ),
        )

    return st.recursive(leaf(), wrap, max_leaves=6)


sides = st.lists(condition(), min_size=1, max_size=3)
profiles = st.builds(
    lambda ctx_long, ctx_short, exe_long, exe_short, mode, filters: {
        "name": "fuzz",
        "mode": mode,
        "context_timeframes": ["5m"],
        "execution_timeframes": ["1m"],
        "history_bars": 60,
        "filters_mandatory": filters,
        "timeframes": {
            "5m": {"long": ctx_long, "short": ctx_short},
            "1m": {"long": exe_long, "short": exe_short},
        },
    },
    sides,
    sides,
    sides,
    sides,
    st.sampled_from(["strict", "pragmatic"]),
    st.lists(condition(), max_size=1),
)


def candle_block(tf: Timeframe, n: int, seed: int, flat: bool, end_ms: int) -> Candles:
    rng = np.random.default_rng(seed)
    close = np.full(n, 100.0) if flat else 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[close[0]], close[:-1]]) if n else close
    spread = np.abs(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    volume = np.where(rng.random(n) < 0.2, 0.0, rng.lognormal(3, 1, n))
    times = end_ms - np.arange(n, 0, -1, dtype=np.int64) * tf.ms
    return Candles("FUZZUSDT", tf, times, open_, high, low, close, volume)


END = 1_700_006_400_000 + 6 * 3_600_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=profiles,
    n1=st.integers(0, 400),
    n5=st.integers(0, 200),
    n1h=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
    flat=st.booleans(),
)
def test_valid_profiles_never_crash(
    data: dict[str, Any], n1: int, n5: int, n1h: int, seed: int, flat: bool
) -> None:
    profile = compile_profile(data)
    frames = {
        Timeframe.M1: Frame(candle_block(Timeframe.M1, n1, seed, flat, END)),
        Timeframe.M5: Frame(candle_block(Timeframe.M5, n5, seed + 1, flat, END)),
        Timeframe.H1: Frame(candle_block(Timeframe.H1, n1h, seed + 2, flat, END)),
    }
    decision = decide(profile, "FUZZUSDT", frames, END)
    assert decision.status in (Status.READY, Status.INVALID)
    if decision.status is Status.READY:
        assert decision.side in ("long", "short") and decision.execution_tf is Timeframe.M1
    else:
        assert decision.reason
    for tf_decision in decision.timeframes.values():
        trace = tf_decision.trace()
        assert isinstance(trace["valid"], bool)


junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.sampled_from(FIELDS + sorted(library_definitions())[:5]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "all_of",
                    "any_of",
                    "gt",
                    "lt",
                    "field",
                    "op",
                    "left",
                    "right",
                    "near",
                    "slope",
                    "cross_up",
                    "validity_bars",
                    "timeframe",
                    "rsi_bullish",
                    "params",
                    "x",
                ]
            ),
            children,
            max_size=3,
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    long=junk, short=junk, rules=st.dictionaries(st.text(min_size=1, max_size=6), junk, max_size=2)
)
def test_invalid_profiles_are_refused_with_messages(
    long: Any, short: Any, rules: dict[str, Any]
) -> None:
    data = {
        "name": "junk",
        "execution_timeframes": ["1m"],
        "rules": rules,
        "timeframes": {"1m": {"long": long, "short": short}},
    }
    try:
        compile_profile(data)
    except ProfileError as exc:
        assert exc.problems
        assert all(p.message for p in exc.problems)
        assert "junk" not in str(exc) or "problem" in str(exc)
