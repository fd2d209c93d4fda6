"""The reference inputs of trade-entry.md §14 with the intended arithmetic.

Inputs: available 500 USDT; tick 0.0001, contract size 1, min volume 1, leverage 1..50;
book 1.9998 / 2.0000, mark 1.9999; VWAP 2.0000; ATR(1m) 0.0026; budget 66 USDT, risk 0.5 %
with a 1m risk multiplier of 3, stop 4 ATR with a 0.5 % minimum, TP at 1.2 R, zone k 0.35 /
w_min 0.05 % / w_max 1.7 %, leverage floor 2, exchange cap 10, 1m leverage multiplier 0.8.
"""

from __future__ import annotations

from decimal import Decimal as D

from providers.types import OrderMode, OrderType, PositionSide
from tests.tradeentry.planner.builders import (
    NOW_MS,
    make_book,
    make_config,
    make_signal,
    make_snapshot,
    make_spec,
    plan_of,
)
from tradeentry.model import EntryZone, Target
from tradeentry.planner import plan_trade

CONFIG = make_config(
    risk={"risk_pct": 0.5, "budget_usdt": 66, "timeframe_risk_multipliers": {"1m": 3}},
    stop={"atr_k": 4, "min_distance_pct": 0.5},
    take_profit={"r_multiple": 1.2},
    entry_zone={"k_atr": 0.35, "w_min_pct": 0.05, "w_max_pct": 1.7, "ttl_seconds": 180},
    leverage={"floor": 2, "exchange_cap": 10, "timeframe_multipliers": {"1m": 0.8}},
)
SPEC = make_spec(tick="0.0001", contract_size="1", max_leverage=50)


def test_long() -> None:
    book = make_book("1.9998", "2.0000", "1.9999")
    plan = plan_of(plan_trade(make_signal(), make_snapshot(SPEC, book), CONFIG))
    steps = plan.steps
    # 1. B = min(66, 500) = 66; risk 0.5 % x 3 = 1.5 % (once); 66 x 1.5 % = 0.99 USDT
    assert (plan.budget_usdt, plan.risk_usdt) == (D(66), D("0.99"))
    assert steps["risk_pct_effective"] == "1.5000%"
    # 2. half = clamp(0.35 x 0.0026 = 0.00091, 0.05 % x 2 = 0.001, 1.7 % x 2) = 0.001
    assert plan.zone == EntryZone(D("1.9990"), D("2.0010"), D("2.0000"), "vwap", NOW_MS + 180_000)
    # 3. the bid is inside the zone: join it (a maker price, below the ask)
    assert plan.entry_price == D("1.9998")
    assert (plan.order_type, plan.mode) == (OrderType.LIMIT, OrderMode.MAKER_ONLY)
    # 4. stop 1.9998 - 4 x 0.0026 = 1.9894, 0.52 % away (above the 0.5 % minimum)
    assert (plan.stop_loss, plan.stop_source) == (D("1.9894"), "atr")
    # 5. a contract loses 0.0104 at the stop plus 0.1 % round-trip fees on 1.9998 (0.0019998):
    #    size floor(0.99 / 0.0123998 = 79.84) = 79
    assert steps["fees_per_contract"] == "0.0019998"
    assert steps["size_for_risk"] == "79"
    # 6. leverage: 1.5 % / 0.52005 % = 2.884 x 0.8 (once) = 2.307 -> floor 2; caps 10 and 50
    assert steps["leverage_dynamic"].startswith("2.3074")
    assert steps["leverage_caps"] == "exchange_cap=10, contract_max=50 -> 10"
    assert plan.leverage == 2
    # 7. liquidation: 1/2 - 0.5 % = 49.5 % away -> 1.9998 x 0.505 = 1.009899 -> 1.0099;
    #    a 2x position is far from liquidating before a 0.52 % stop (max safe leverage 88)
    assert steps["liquidation_max_leverage"] == "88"
    assert plan.liquidation_price == D("1.0099")
    # 8. 79 contracts at 2x need 78.99 USDT of margin > 66: the size shrinks to what the
    #    budget margins with the 0.1 % fee reserve: floor(66 / (1.9998 x (1/2 + 0.001))) = 65
    #    (the leverage keeps its value)
    assert plan.size == D(65)
    assert plan.notional_usdt == D("129.9870")
    assert plan.margin_usdt == D("64.9935")
    assert plan.loss_at_stop_usdt == D("0.8059870")  # 0.0123998 x 65 <= 0.99, fees included
    # 9. TP 1.9998 + 1.2 x 0.0104 = 2.01228 -> 2.0122 (toward the entry)
    assert plan.targets == (Target(D("2.0122"), D(65), D("1.1923"), "r_multiple"),)


def test_long_with_a_wider_atr_still_trades() -> None:
    """The replaced system skipped this one (its leverage gate); here it trades at the floor."""
    book = make_book("1.9998", "2.0000", "1.9999")
    plan = plan_of(plan_trade(make_signal(), make_snapshot(SPEC, book, atr="0.0040"), CONFIG))
    # stop 1.9998 - 0.016 = 1.9838 (0.8 %); size floor(0.99 / (0.016 + 0.0019998)) = 55
    assert (plan.stop_loss, plan.size) == (D("1.9838"), D(55))
    # dynamic 1.5 / 0.80008 x 0.8 = 1.4999 -> floor 1 -> raised to the floor 2
    assert plan.steps["leverage_rounded"] == "1"
    assert plan.leverage == 2
    # margin 1.9998 x 55 / 2 = 54.9945 fits the budget: no shrink
    assert plan.margin_usdt == D("54.9945")
    assert plan.loss_at_stop_usdt == D("0.989989")  # 0.0179998 x 55
    assert plan.take_profit == D("2.0190")  # 1.9998 + 1.2 x 0.016


def test_short_mirror() -> None:
    book = make_book("2.0000", "2.0002", "2.0001")
    signal = make_signal(PositionSide.SHORT)
    plan = plan_of(plan_trade(signal, make_snapshot(SPEC, book), CONFIG))
    # the ask is inside [1.9990, 2.0010]: join it; stop 2.0002 + 0.0104 = 2.0106
    assert (plan.entry_price, plan.stop_loss) == (D("2.0002"), D("2.0106"))
    # size floor(0.99 / (0.0104 + 0.1 % of the stop 2.0106)) = 79 for risk, leverage 2,
    # margin 79.0079 > 66 -> 65 with the fee reserve
    assert (plan.leverage, plan.size) == (2, D(65))
    # TP 2.0002 - 0.01248 = 1.98772 -> 1.9878 (up, toward the entry)
    assert plan.take_profit == D("1.9878")
    # liquidation 2.0002 x 1.495 = 2.990299 -> 2.9902 (down, toward the entry)
    assert plan.liquidation_price == D("2.9902")
    assert plan.loss_at_stop_usdt == D("0.8066890")  # (0.0104 + 0.0020106) x 65
