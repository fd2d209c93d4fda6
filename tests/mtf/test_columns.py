"""The column evaluation decides exactly what the per-moment reference (`mtf.decision.decide`)
decides, moment by moment: on real candles for every packaged profile, under every request
option, on random profiles over random candles, and with stale or holed data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtf.context import RunContext
from mtf.decision import SymbolDecision, decide
from mtf.decision_columns import DecisionColumns, decide_columns
from mtf.metrics import metric_source
from mtf.replay import decisions
from mtf.rules.frame import Frame
from mtf.rules.profile import compile_profile, load_profile
from mtf.validator import validate_symbol
from providers.candles import Candles
from providers.marketdata import MarketData
from providers.timeframes import Timeframe, to_ms
from tests.mtf.rules.test_fuzz import END, candle_block, profiles
from tests.realdata import ArrayStore, real_candles

DAY = 86_400_000
START = to_ms(datetime(2023, 8, 9, tzinfo=UTC))


def _key(d: SymbolDecision) -> tuple[Any, ...]:
    return (
        d.status.value,
        d.side,
        d.execution_tf.value if d.execution_tf else None,
        d.reason,
        d.blocking_tf.value if d.blocking_tf else None,
    )


def _same(reference: list[tuple[int, SymbolDecision]], cols: DecisionColumns) -> set[str]:
    assert [m for m, _ in reference] == cols.moments.tolist()
    for i, (as_of, d) in enumerate(reference):
        assert cols.at(i) == _key(d), as_of
    return {cols.at(i)[3] or "READY" for i in range(len(cols))}


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("scalper_micro", "BTCUSDT"),
        ("scalper", "ETHUSDT"),
        ("regular", "ETHUSDT"),
        ("crash", "DOGEUSDT"),
    ],
)
def test_every_minute_of_real_data_decides_like_the_reference(name: str, symbol: str) -> None:
    profile = load_profile(name)
    blocks = {tf: real_candles(symbol, tf) for tf in profile.timeframes}
    reference = list(decisions(profile, symbol, blocks, start_ms=START, end_ms=START + 2 * DAY))
    frames = {tf: Frame(b) for tf, b in blocks.items()}
    moments = np.array([m for m, _ in reference], dtype=np.int64)
    outcomes = _same(reference, decide_columns(profile, symbol, frames, moments))
    assert "READY" in outcomes and len(outcomes) >= 3, outcomes


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "strict"},
        {"mode": "pragmatic"},
        {"skip_context": True},
        {"only_execution_tf": Timeframe.M1},
        {"only_execution_tf": Timeframe.M5, "mode": "strict"},
    ],
)
def test_request_options_decide_like_the_reference(options: dict[str, Any]) -> None:
    profile = load_profile("scalper")
    blocks = {tf: real_candles("BTCUSDT", tf) for tf in profile.timeframes}
    frames = {tf: Frame(b) for tf, b in blocks.items()}
    moments = np.arange(START, START + DAY // 2, 3 * 60_000, dtype=np.int64)
    cols = decide_columns(profile, "BTCUSDT", frames, moments, **options)
    for i, as_of in enumerate(moments.tolist()):
        metrics = metric_source(frames, as_of, pivot_tf=profile.pivot_timeframe)
        d = decide(profile, "BTCUSDT", frames, as_of, metrics=metrics, **options)
        assert cols.at(i) == _key(d), as_of


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=profiles,
    n1=st.integers(0, 400),
    n5=st.integers(0, 200),
    n1h=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
    flat=st.booleans(),
)
def test_random_profiles_on_random_candles_decide_like_the_reference(
    data: dict[str, Any], n1: int, n5: int, n1h: int, seed: int, flat: bool
) -> None:
    profile = compile_profile(data)
    frames = {
        Timeframe.M1: Frame(candle_block(Timeframe.M1, n1, seed, flat, END)),
        Timeframe.M5: Frame(candle_block(Timeframe.M5, n5, seed + 1, flat, END)),
        Timeframe.H1: Frame(candle_block(Timeframe.H1, n1h, seed + 2, flat, END)),
    }
    moments = np.arange(END - 90 * 60_000, END + 1, 60_000, dtype=np.int64)
    cols = decide_columns(profile, "FUZZUSDT", frames, moments)
    for i, as_of in enumerate(moments.tolist()):
        assert cols.at(i) == _key(decide(profile, "FUZZUSDT", frames, as_of)), as_of


def _holed(block: Candles, start: int, stop: int) -> Candles:
    keep = np.r_[0:start, stop : len(block)]
    return Candles.from_rows(block.symbol, block.timeframe, np.array(block.rows())[keep])


def test_stale_and_holed_candles_are_skipped_as_a_live_cycle_skips_them() -> None:
    profile = load_profile("scalper_micro")
    symbol = "BTCUSDT"
    m1 = real_candles(symbol, Timeframe.M1)
    base = int(np.searchsorted(m1.open_time, START))
    blocks = {
        Timeframe.M1: _holed(m1, base + 600, base + 603),  # three minutes missing at 10:00
        Timeframe.M5: real_candles(symbol, Timeframe.M5),
    }
    end = START + 14 * 3_600_000
    blocks[Timeframe.M1] = blocks[Timeframe.M1].until(end - 40 * 60_000)  # and it stops early
    store = ArrayStore({(symbol, tf): b for tf, b in blocks.items()})
    frames = {tf: Frame(b) for tf, b in blocks.items()}
    moments = np.arange(START + 6 * 3_600_000, end, 60_000, dtype=np.int64)
    cols = decide_columns(profile, symbol, frames, moments, check_data=True)
    reasons = set()
    for i, as_of in enumerate(moments.tolist()):
        ctx = RunContext("t", "scalper_micro", as_of, True, "paper", as_of)
        live = validate_symbol(symbol, ctx, MarketData(store))  # type: ignore[arg-type]
        expected = (live["status"], live["side"], live["execution_tf"], live["reason"])
        assert cols.at(i)[:4] == expected, as_of
        reasons.add(live["reason"])
    assert {"candle_gap", "stale_candles"} <= reasons
