"""The entry price: a maker price inside the zone (limit) or the touch (market), then the
deviation guard against the mark price."""

from __future__ import annotations

from decimal import Decimal

from providers.types import ContractSpec, OrderType, PositionSide, TopOfBook
from tradeentry.model import EntryZone, Skip, SkipReason
from tradeentry.planner._text import num


def _outside(side: PositionSide, price: Decimal, zone: EntryZone, what: str) -> Skip:
    where = "below" if price < zone.low else "above"
    return Skip(
        SkipReason.PRICE_OUT_OF_ZONE,
        f"{side.value}: {what} {num(price)} is {where} the zone "
        f"[{num(zone.low)}, {num(zone.high)}]",
    )


def ideal_price(
    side: PositionSide, order_type: OrderType, book: TopOfBook, zone: EntryZone
) -> Decimal | Skip:
    """Where the order should sit before rounding.

    Limit long: join the bid when it is inside the zone; rest at the zone's high when the
    market is above it (waiting for the pullback); refuse when the bid fell through the zone.
    Never at or above the ask, so the order stays a maker. Shorts mirror this. Market orders
    take the touch and must find it inside the zone.
    """
    long = side is PositionSide.LONG
    if order_type is OrderType.MARKET:
        touch = book.ask if long else book.bid
        return touch if zone.contains(touch) else _outside(side, touch, zone, "the touch")
    if long:
        if book.bid < zone.low:
            return _outside(side, book.bid, zone, "the bid")
        return min(book.bid, zone.high)
    if book.ask > zone.high:
        return _outside(side, book.ask, zone, "the ask")
    return max(book.ask, zone.low)


def round_entry(
    side: PositionSide, order_type: OrderType, price: Decimal, spec: ContractSpec
) -> Decimal:
    """Limit prices round to the safe side (long down, short up); a market estimate rounds to
    the worse fill, so the risk is not understated."""
    long = side is PositionSide.LONG
    up = long if order_type is OrderType.MARKET else not long
    return spec.round_price(price, up=up)


def deviation_pct(entry: Decimal, mark: Decimal) -> Decimal:
    return abs(entry - mark) / mark * 100


def check_deviation(entry: Decimal, mark: Decimal, max_pct: Decimal) -> Skip | None:
    deviation = deviation_pct(entry, mark)
    if deviation > max_pct:
        return Skip(
            SkipReason.DEVIATION_TOO_LARGE,
            f"entry {num(entry)} is {deviation:.4f}% from the mark {num(mark)}; "
            f"max_deviation_pct is {num(max_pct)}",
        )
    return None
