"""Entry zone and entry price: a maker price inside the zone, rounded to the safe side."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from providers.types import OrderType, PositionSide
from tests.tradeentry.planner.builders import NOW_MS, make_book, make_config, make_spec
from tradeentry.model import EntryZone, Skip, SkipReason
from tradeentry.planner.pricing import check_deviation, ideal_price, round_entry
from tradeentry.planner.zone import entry_zone, half_width

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
ZONE = EntryZone(D("99.90"), D("100.10"), D(100), "vwap", NOW_MS + 180_000)


@pytest.mark.parametrize(
    ("atr", "expected"),
    [
        ("0.2", "0.07"),  # 0.35 x 0.2 = 0.07, inside [0.05, 1.0]
        ("0.1", "0.05"),  # 0.035 widened to w_min 0.05 % of 100
        ("10", "1.0"),  # 3.5 narrowed to w_max 1 % of 100
    ],
)
def test_half_width_is_clamped(atr: str, expected: str) -> None:
    config = make_config().entry_zone  # k 0.35, w_min 0.05 %, w_max 1 %
    assert half_width(D(atr), D(100), config) == D(expected)


def test_zone_is_rounded_outward_and_expires_after_its_ttl() -> None:
    spec = make_spec(tick="0.01")
    config = make_config(entry_zone={"k_atr": 1, "ttl_seconds": 120}).entry_zone
    zone = entry_zone(spec, D("0.0123"), D("100.005"), "vwap", NOW_MS, config)
    # half = max(0.0123, 0.05 % x 100.005 = 0.0500025) = 0.0500025; the bounds come from the
    # exact anchor, which the plan then shows on the tick grid like its other prices.
    assert zone == EntryZone(D("99.95"), D("100.06"), D("100.01"), "vwap", NOW_MS + 120_000)


def test_zone_needs_atr_and_anchor() -> None:
    spec, config = make_spec(), make_config().entry_zone
    no_atr = entry_zone(spec, None, D(1), "vwap", NOW_MS, config)
    no_anchor = entry_zone(spec, D(1), None, "none", NOW_MS, config)
    assert isinstance(no_atr, Skip) and no_atr.reason is SkipReason.NO_ATR
    assert isinstance(no_anchor, Skip) and no_anchor.reason is SkipReason.NO_ANCHOR


@pytest.mark.parametrize(
    ("side", "bid", "ask", "expected"),
    [
        (LONG, "100.00", "100.01", "100.00"),  # bid inside the zone: join it
        (LONG, "100.50", "100.51", "100.10"),  # market above: rest at the zone's high
        (SHORT, "99.99", "100.00", "100.00"),  # ask inside: join it
        (SHORT, "99.50", "99.51", "99.90"),  # market below: rest at the zone's low
    ],
)
def test_limit_entry_is_a_maker_price_in_the_zone(
    side: PositionSide, bid: str, ask: str, expected: str
) -> None:
    book = make_book(bid, ask)
    price = ideal_price(side, OrderType.LIMIT, book, ZONE)
    assert price == D(expected)
    assert isinstance(price, D)
    assert (price < book.ask) if side is LONG else (price > book.bid)
    assert ZONE.contains(price)


@pytest.mark.parametrize(
    ("side", "bid", "ask"), [(LONG, "99.80", "99.81"), (SHORT, "100.19", "100.20")]
)
def test_price_through_the_zone_is_refused(side: PositionSide, bid: str, ask: str) -> None:
    skip = ideal_price(side, OrderType.LIMIT, make_book(bid, ask), ZONE)
    assert isinstance(skip, Skip) and skip.reason is SkipReason.PRICE_OUT_OF_ZONE


def test_market_entry_takes_the_touch_inside_the_zone() -> None:
    book = make_book("100.00", "100.02")
    assert ideal_price(LONG, OrderType.MARKET, book, ZONE) == D("100.02")
    assert ideal_price(SHORT, OrderType.MARKET, book, ZONE) == D("100.00")
    away = ideal_price(LONG, OrderType.MARKET, make_book("100.20", "100.21"), ZONE)
    assert isinstance(away, Skip) and away.reason is SkipReason.PRICE_OUT_OF_ZONE


def test_entry_rounding_to_the_safe_side() -> None:
    spec = make_spec(tick="0.01")
    assert round_entry(LONG, OrderType.LIMIT, D("100.007"), spec) == D("100.00")
    assert round_entry(SHORT, OrderType.LIMIT, D("100.001"), spec) == D("100.01")
    # a market estimate rounds to the worse fill
    assert round_entry(LONG, OrderType.MARKET, D("100.001"), spec) == D("100.01")
    assert round_entry(SHORT, OrderType.MARKET, D("100.009"), spec) == D("100.00")


def test_deviation_from_the_mark() -> None:
    assert check_deviation(D("100.5"), D(100), D("0.5")) is None
    skip = check_deviation(D("100.51"), D(100), D("0.5"))
    assert isinstance(skip, Skip) and skip.reason is SkipReason.DEVIATION_TOO_LARGE
