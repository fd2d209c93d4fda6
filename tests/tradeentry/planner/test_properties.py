"""Properties over the real candles of the shared data folder: random minutes, random contract
specs, random configs. The result is a Skip with a reason, or a plan that keeps every promise."""

from __future__ import annotations

import math
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from providers.types import ContractSpec, PositionSide
from tests.tradeentry.planner.builders import make_signal
from tests.tradeentry.planner.invariants import check_result
from tests.tradeentry.planner.realdata import (
    SYMBOLS,
    book_at,
    market,
    moment,
    require_data,
    snapshot_at,
)
from tradeentry.config import TradeEntryConfig, load_trade_entry
from tradeentry.model import TradePlan
from tradeentry.planner import plan_trade

pytestmark = pytest.mark.usefixtures("_real_candles")


@pytest.fixture
def _real_candles() -> None:
    require_data()


def dec(low: str, high: str, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False)


@st.composite
def specs(draw: st.DrawFn, symbol: str, price: Decimal) -> ContractSpec:
    # Ticks from 1e-6 to 1, at most a thousandth of the price (coarser books are not quoted).
    top = max(-6, min(0, math.floor(math.log10(price)) - 3))
    tick = Decimal(10) ** draw(st.integers(-6, top)) * draw(st.sampled_from([1, 5]))
    step = Decimal(10) ** draw(st.integers(-3, 1))
    min_volume = step * draw(st.integers(1, 10))
    max_volume = min_volume * Decimal(10) ** draw(st.integers(1, 7))
    market_max = (max_volume / draw(st.sampled_from([1, 2, 10]))).quantize(step)
    max_leverage = draw(st.integers(5, 125))
    return ContractSpec(
        symbol=symbol,
        base_currency=symbol.removesuffix("USDT"),
        quote_currency="USDT",
        tick_size=tick,
        contract_size=Decimal(10) ** draw(st.integers(-3, 2)),
        volume_step=step,
        min_volume=min_volume,
        max_volume=max_volume,
        market_max_volume=market_max,
        min_leverage=draw(st.integers(1, 3)),
        max_leverage=max_leverage,
    )


@st.composite
def configs(draw: st.DrawFn) -> TradeEntryConfig:
    risk_pct = draw(dec("0.05", "5"))
    policy = draw(st.sampled_from(["atr", "pivot", "risk"]))
    fallback = draw(st.sampled_from([p for p in ("atr", "pivot", "risk", "none") if p != policy]))
    min_distance = draw(dec("0", "0.5"))
    max_distance = min_distance + draw(dec("0.3", "8"))
    r_multiple = draw(dec("0.5", "4"))
    min_r = draw(dec("0.5", "2"))
    tp_policy = draw(st.sampled_from(["r_multiple", "pivot_conservative"]))
    nearest = min(r_multiple, min_r) if tp_policy == "pivot_conservative" else r_multiple
    # Market entries need the touch inside the zone and mostly skip: draw them less often.
    order_type = draw(st.sampled_from(["limit", "limit", "limit", "market"]))
    floor = draw(st.sampled_from([1, 2, 3, 5, 10, 25, 50]))
    w_min = draw(dec("0", "0.2"))
    data: dict[str, Any] = {
        "name": "random",
        "risk": {
            "risk_pct": risk_pct,
            "budget_usdt": draw(dec("1", "5000")),
            "timeframe_risk_multipliers": draw(
                st.dictionaries(st.sampled_from(["1m", "5m"]), dec("0.25", "2"), max_size=2)
            ),
        },
        "stop": {
            "policy": policy,
            "fallback": fallback,
            "atr_k": draw(dec("0.3", "6")),
            "risk_distance_pct": draw(dec("0.05", str(max_distance))),
            "pivot_buffer_pct": draw(dec("0", "0.5")),
            "min_distance_pct": min_distance,
            "max_distance_pct": max_distance,
        },
        "take_profit": {
            "policy": tp_policy,
            "r_multiple": r_multiple,
            "min_r": min_r,
            "max_r": min_r + draw(dec("0", "3")),
            "pivot_buffer_pct": draw(dec("0", "0.5")),
            "two_targets": {
                "enabled": draw(st.booleans()),
                "tp1_r": (nearest * draw(dec("0.1", "0.9"))).quantize(Decimal("0.0001")),
                "split": draw(dec("0.1", "0.9")),
            },
        },
        "order": {
            "type": order_type,
            "max_spread_bps": draw(dec("2", "50")),
            "max_deviation_pct": draw(dec("0.05", "2")),
        },
        "entry_zone": {
            "k_atr": draw(dec("0.05", "2")),
            "w_min_pct": w_min,
            "w_max_pct": w_min + draw(dec("0.01", "3")),
        },
        "leverage": {
            "floor": floor,
            "exchange_cap": floor + draw(st.integers(0, 120)),
            "per_symbol_caps": draw(
                st.dictionaries(
                    st.sampled_from(["btc*", "*USDT", "ETH*", "D*"]),
                    st.integers(floor, 125),
                    max_size=2,
                )
            ),
            "timeframe_multipliers": draw(
                st.dictionaries(st.sampled_from(["1m", "5m"]), dec("0.25", "10"), max_size=2)
            ),
            "rounding": draw(st.sampled_from(["floor", "round", "ceil"])),
            "maintenance_margin_pct": draw(dec("0", "2")),
            "min_liquidation_ratio": draw(dec("1", "2")),
        },
    }
    if order_type == "limit":
        data["order"]["mode"] = draw(st.sampled_from(["gtc", "maker_only", "ioc", "fok"]))
    try:
        return TradeEntryConfig.model_validate(data)
    except ValidationError:
        # Combinations the loader refuses (e.g. a share of risk above 10 %) are not plans.
        reject()


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_plans_keep_their_promises_on_real_candles(data: st.DataObject) -> None:
    symbol = data.draw(st.sampled_from(SYMBOLS), label="symbol")
    mkt = market(symbol)
    minute = data.draw(st.integers(mkt.first_ms // 60_000, mkt.last_ms // 60_000), label="minute")
    as_of = minute * 60_000
    m = moment(mkt, as_of)
    spec = data.draw(specs(symbol, m.close), label="spec")
    book = book_at(
        spec, m.close, data.draw(st.integers(1, 3)), data.draw(dec("-20", "20"), label="mark bps")
    )
    timeframe = data.draw(st.sampled_from(["1m", "5m"]), label="timeframe")
    # Signals mostly trade with the price's side of the anchor, as the validation profiles do.
    with_anchor = (
        PositionSide.LONG if m.anchor is None or m.close >= m.anchor else PositionSide.SHORT
    )
    side = data.draw(
        st.sampled_from([with_anchor, with_anchor, with_anchor.opposite]), label="side"
    )
    available = data.draw(dec("0", "10000"), label="available")
    config = data.draw(configs(), label="config")
    signal = make_signal(side, timeframe, symbol)
    snapshot = snapshot_at(spec, book, m, timeframe, available, as_of)
    result = plan_trade(signal, snapshot, config)
    event("plan" if isinstance(result, TradePlan) else result.reason.value)
    check_result(result, signal, snapshot, config)


def realistic_spec(symbol: str, price: Decimal, decimals: int) -> ContractSpec:
    """A Bitmart-like contract: the file's price precision, contracts worth 5-50 USDT."""
    contract_size = Decimal(10) ** round(math.log10(20 / float(price)))
    return ContractSpec(
        symbol=symbol,
        base_currency=symbol.removesuffix("USDT"),
        quote_currency="USDT",
        tick_size=Decimal(10) ** -decimals,
        contract_size=contract_size,
        volume_step=Decimal(1),
        min_volume=Decimal(1),
        max_volume=Decimal(1_000_000),
        market_max_volume=Decimal(100_000),
        min_leverage=1,
        max_leverage=100,
    )


@pytest.mark.parametrize("profile", ["scalper_micro", "scalper", "regular", "crash"])
def test_packaged_profiles_plan_trades_on_real_candles(profile: str) -> None:
    """Over a fixed sample of real minutes each profile plans some trades, all sound."""
    config = load_trade_entry(profile)
    timeframes = [tf.value for tf in config.order.allowed_timeframes if tf.value in ("1m", "5m")]
    rng = random.Random(f"{profile}-2023-07")
    outcomes: Counter[str] = Counter()
    for _ in range(150):
        symbol = rng.choice(SYMBOLS)
        mkt = market(symbol)
        as_of = rng.randrange(mkt.first_ms // 60_000, mkt.last_ms // 60_000) * 60_000
        m = moment(mkt, as_of)
        spec = realistic_spec(symbol, m.close, mkt.price_decimals)
        book = book_at(spec, m.close, 1, Decimal(0))
        signal = make_signal(rng.choice(list(PositionSide)), rng.choice(timeframes), symbol)
        snapshot = snapshot_at(spec, book, m, signal.timeframe, Decimal(1000), as_of)
        result = plan_trade(signal, snapshot, config)
        check_result(result, signal, snapshot, config)
        outcomes["plan" if isinstance(result, TradePlan) else result.reason.value] += 1
    assert outcomes["plan"] >= 10, dict(outcomes)
