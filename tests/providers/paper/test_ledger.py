"""Positions, PnL, margins and the balance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.paper import ledger
from providers.types import OrderSide, PositionSide

from .factory import SPEC, T0, D, holding, order

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


def test_adding_averages_the_entry() -> None:
    start = holding(LONG, 10, "40000")
    added = ledger.increase(
        start, SPEC, LONG, D(5), D("39700"), leverage=99, open_type=start.open_type, ms=T0 + 1
    )
    assert added.size == 15
    assert added.entry_price == D("39900")
    assert added.leverage == 10  # an add keeps the position's leverage
    assert added.margin == D("59.85")  # 15 x 0.001 x 39900 / 10
    assert added.opened_ms == T0 and added.updated_ms == T0 + 1


def test_average_entry_is_rounded_to_a_stable_precision() -> None:
    start = holding(LONG, 2, "100")
    added = ledger.increase(
        start, SPEC, LONG, D(1), D("100.1"), leverage=10, open_type=start.open_type, ms=T0
    )
    assert added.entry_price == D("100.033333333333")


@pytest.mark.parametrize(
    ("side", "exit_price", "pnl"),
    [(LONG, "40500", "5"), (LONG, "39500", "-5"), (SHORT, "39500", "5"), (SHORT, "40500", "-5")],
)
def test_closing_realizes_pnl(side: PositionSide, exit_price: str, pnl: str) -> None:
    rest, realized = ledger.decrease(holding(side, 10, "40000"), SPEC, D(10), D(exit_price), ms=T0)
    assert rest is None
    assert realized == D(pnl)


def test_partial_close_keeps_the_entry_and_shrinks_the_margin() -> None:
    rest, realized = ledger.decrease(holding(LONG, 10, "40000"), SPEC, D(4), D("40100"), ms=T0)
    assert rest is not None
    assert (rest.size, rest.entry_price, rest.margin) == (D(6), D("40000"), D("24"))
    assert rest.realized_pnl == realized == Decimal("0.4")


def test_closing_more_than_held_is_a_bug() -> None:
    with pytest.raises(ValueError, match="cannot close"):
        ledger.decrease(holding(LONG, 1, "40000"), SPEC, D(2), D("40000"), ms=T0)


def test_releverage_remargins() -> None:
    assert ledger.releverage(holding(LONG, 10, "40000"), SPEC, 20, T0).margin == D(20)


def test_position_view_marks_the_holding() -> None:
    view = ledger.position(holding(SHORT, 10, "40000"), SPEC, D("39900"))
    assert view.unrealized_pnl == D(1)
    assert view.mark_price == D("39900")
    assert view.liquidation_price is None


def test_reserved_margin_of_open_orders() -> None:
    assert ledger.reserved(SPEC, order("1", OrderSide.BUY_OPEN_LONG, 5, "40000").order) == 20
    assert ledger.reserved(SPEC, order("2", OrderSide.SELL_CLOSE_LONG, 5, "40000").order) == 0


def test_available_never_goes_below_zero() -> None:
    losing = ledger.position(holding(LONG, 10, "40000"), SPEC, D("30000"))
    balance = ledger.balance("USDT", D(50), [losing], D(0))
    assert balance.equity == D(-50)
    assert balance.available == 0
    assert balance.position_margin == 40
