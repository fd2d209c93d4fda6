"""Guards before pricing: timeframe, book, spread, budget."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from tests.tradeentry.planner.builders import (
    make_book,
    make_config,
    make_signal,
    make_snapshot,
    make_spec,
)
from tradeentry.model import Skip, SkipReason
from tradeentry.planner import plan_trade
from tradeentry.planner.budget import RiskBudget, risk_budget
from tradeentry.planner.guards import check_book, check_spread, check_timeframe, spread_bps


def test_timeframe_outside_the_allowed_list_is_refused() -> None:
    config = make_config(order={"allowed_timeframes": ["5m", "15m"]})
    skip = check_timeframe("1m", config.order)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.TIMEFRAME_NOT_ALLOWED
    assert "5m, 15m" in skip.detail
    assert check_timeframe("5m", config.order) is None
    assert check_timeframe("1m", make_config().order) is None  # empty list: all allowed


def test_spread_in_basis_points_of_the_mid() -> None:
    book = make_book("99.95", "100.05")
    assert spread_bps(book) == D(10)  # 0.1 / 100 * 10 000
    assert check_spread(book, D(10)) is None
    skip = check_spread(book, D(8))
    assert isinstance(skip, Skip) and skip.reason is SkipReason.SPREAD_TOO_WIDE


def test_crossed_or_empty_books_are_refused() -> None:
    for book in (make_book("0", "1"), make_book("2", "2"), make_book("2", "1.9", "2")):
        skip = check_book(book)
        assert isinstance(skip, Skip) and skip.reason is SkipReason.BAD_BOOK


def test_budget_is_the_smaller_of_allowance_and_balance() -> None:
    config = make_config(risk={"risk_pct": 0.5, "budget_usdt": 100})
    budget = risk_budget(config.risk, "1m", D(40))
    # B = min(100, 40) = 40; 0.5 % of 40 = 0.2 USDT
    assert budget == RiskBudget(D(40), D(1), D("0.5"), D("0.2"))
    skip = risk_budget(config.risk, "1m", D(0))
    assert isinstance(skip, Skip) and skip.reason is SkipReason.NO_BUDGET


@pytest.mark.parametrize(
    ("bid", "ask", "config", "reason"),
    [
        ("1.9998", "2.0000", {"order": {"allowed_timeframes": ["5m"]}}, "timeframe_not_allowed"),
        ("1.9990", "2.0010", {"order": {"max_spread_bps": 8}}, "spread_too_wide"),
        ("2.0000", "1.9990", {}, "bad_book"),
        ("1.9998", "2.0000", {"risk": {"budget_usdt": 0.5}}, "size_below_min_volume"),
    ],
)
def test_plan_trade_refuses_with_the_guard_reason(
    bid: str, ask: str, config: dict[str, Any], reason: str
) -> None:
    snapshot = make_snapshot(make_spec(), make_book(bid, ask, "1.9999"))
    skip = plan_trade(make_signal(timeframe="1m"), snapshot, make_config(**config))
    assert isinstance(skip, Skip) and skip.reason.value == reason
