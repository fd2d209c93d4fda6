"""Checks that refuse a trade before any price is computed: timeframe, book, spread."""

from __future__ import annotations

from decimal import Decimal

from providers.types import TopOfBook
from tradeentry.config import OrderConfig
from tradeentry.model import Skip, SkipReason
from tradeentry.planner._text import num


def check_timeframe(timeframe: str, config: OrderConfig) -> Skip | None:
    allowed = config.allowed_timeframes
    if allowed and timeframe not in allowed:
        names = ", ".join(tf.value for tf in allowed)
        return Skip(
            SkipReason.TIMEFRAME_NOT_ALLOWED, f"timeframe {timeframe} is not one of {names}"
        )
    return None


def check_book(book: TopOfBook) -> Skip | None:
    """A two-sided, uncrossed book and a mark price: every later step relies on them."""
    if book.bid <= 0 or book.ask <= book.bid or book.mark <= 0:
        return Skip(
            SkipReason.BAD_BOOK,
            f"bid {num(book.bid)}, ask {num(book.ask)}, mark {num(book.mark)}: "
            "need 0 < bid < ask and a positive mark",
        )
    return None


def spread_bps(book: TopOfBook) -> Decimal:
    return (book.ask - book.bid) / ((book.ask + book.bid) / 2) * 10_000


def check_spread(book: TopOfBook, max_bps: Decimal) -> Skip | None:
    spread = spread_bps(book)
    if spread > max_bps:
        return Skip(
            SkipReason.SPREAD_TOO_WIDE,
            f"spread {spread:.2f} bps exceeds {num(max_bps)} bps "
            f"(bid {num(book.bid)}, ask {num(book.ask)})",
        )
    return None
