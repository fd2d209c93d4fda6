"""The taker fallback's size (pure): the loss at the stop of what the limit filled plus the
taker fill at the far side of the book, fees included, stays within the plan's risk."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from providers.types import PositionSide, TopOfBook
from tests.tradeentry.venue import SPEC as VENUE_SPEC
from tradeentry.watcher import FallbackRisk, fallback_size

D = Decimal
SPEC = replace(VENUE_SPEC, market_max_volume=D(50_000))  # market orders capped lower
# Long, stop 99, risk 10 USDT, 0.1% round-trip fees: sized at a 100 limit, one contract
# loses (1 + 0.1) x 0.1 = 0.11, so the plan held 90 contracts.
LONG = FallbackRisk(PositionSide.LONG, D(99), D(10), D("0.1"), D(0), D(100))
SHORT = FallbackRisk(PositionSide.SHORT, D(101), D(10), D("0.1"), D(0), D(100))


def book(bid: str, ask: str) -> TopOfBook:
    return TopOfBook("TESTUSDT", D(bid), D(ask), D(1), D(1), D(bid), 0)


def loss(risk: FallbackRisk, size: Decimal, price: Decimal) -> Decimal:
    def per(at: Decimal) -> Decimal:
        return (abs(at - risk.stop_loss) + max(at, risk.stop_loss) * D("0.001")) * D("0.1")

    return risk.filled * per(risk.filled_price) + size * per(price)


def test_at_the_planned_price_the_whole_rest_is_taken() -> None:
    assert fallback_size(LONG, D(90), book("99.99", "100.00"), SPEC) == D(90)


def test_a_long_filled_above_the_plan_shrinks_so_the_loss_stays_within_the_risk() -> None:
    # At 100.5 a contract loses (1.5 + 0.1005) x 0.1 = 0.16005: 62 contracts fit in 10 USDT.
    size = fallback_size(LONG, D(90), book("100.49", "100.50"), SPEC)
    assert size == D(62)
    assert loss(LONG, D(62), D("100.50")) <= D(10) < loss(LONG, D(63), D("100.50"))


def test_a_short_takes_the_bid_and_shrinks_the_same_way() -> None:
    size = fallback_size(SHORT, D(90), book("99.50", "99.51"), SPEC)
    assert size == D(62)  # 1.5 from the stop at the bid, as for the long above


def test_what_the_limit_already_filled_uses_up_its_part_of_the_risk() -> None:
    half = replace(LONG, filled=D(45), filled_price=D(100))
    # 45 x 0.11 = 4.95 used; 5.05 left at 0.16005 a contract buys 31.
    assert fallback_size(half, D(45), book("100.49", "100.50"), SPEC) == D(31)


def test_the_market_order_cap_bounds_the_rest() -> None:
    big = replace(LONG, risk_usdt=D(100_000))
    assert fallback_size(big, D(90_000), book("99.99", "100.00"), SPEC) == D(50_000)


def test_no_fallback_when_the_book_is_beyond_the_stop() -> None:
    why = fallback_size(LONG, D(90), book("98.90", "98.95"), SPEC)
    assert isinstance(why, str) and "beyond the stop 99" in why
    why = fallback_size(SHORT, D(90), book("101.00", "101.02"), SPEC)
    assert isinstance(why, str) and "beyond the stop 101" in why


def test_no_fallback_when_less_than_the_minimum_volume_fits() -> None:
    spent = replace(LONG, filled=D(89), filled_price=D(100))  # 9.79 of the 10 USDT used
    assert fallback_size(spent, D(1), book("100.49", "100.50"), SPEC) == D(1)  # 0.16005 fits
    why = fallback_size(spent, D(1), book("101.49", "101.50"), SPEC)  # 0.26015 does not
    assert isinstance(why, str)
    assert "10 USDT risk" in why and "89 filled" in why and "min_volume is 1" in why


@given(
    ask=st.decimals(min_value=D("99.01"), max_value=D(130), places=2),
    filled=st.integers(min_value=0, max_value=89),  # a rest under min_volume never falls back
    filled_price=st.decimals(min_value=D("99.50"), max_value=D(100), places=2),
)
def test_the_loss_at_the_stop_never_exceeds_the_risk(
    ask: Decimal, filled: int, filled_price: Decimal
) -> None:
    risk = replace(LONG, filled=D(filled), filled_price=filled_price)
    size = fallback_size(risk, D(90 - filled), book(str(ask - D("0.01")), str(ask)), SPEC)
    if isinstance(size, str):
        # Refused only when not even the minimum volume fits.
        assert loss(risk, SPEC.min_volume, ask) > risk.risk_usdt
        return
    assert SPEC.min_volume <= size <= D(90 - filled)
    assert loss(risk, size, ask) <= risk.risk_usdt
    if size < D(90 - filled):  # shrunk: one more contract would have gone past the risk
        assert loss(risk, size + 1, ask) > risk.risk_usdt
