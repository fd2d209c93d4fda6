"""What the paper market looks like: candles as exact bars, the derived quote, slippage."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from providers.candles import Candles
from providers.types import ContractSpec, TopOfBook

BPS = Decimal(10_000)


def dec(value: float) -> Decimal:
    """A stored float as the decimal it was written as (shortest round-trip text)."""
    return Decimal(repr(float(value)))


@dataclass(frozen=True)
class Bar:
    """One closed candle in exact decimals; `close_ms` is when it closed."""

    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def bars(candles: Candles) -> list[Bar]:
    """The candles as bars, oldest first."""
    step = candles.timeframe.ms
    return [
        Bar(t, t + step, dec(o), dec(h), dec(lo), dec(c), dec(v))
        for t, o, h, lo, c, v in candles.rows()
    ]


def top_of_book(spec: ContractSpec, bar: Bar, spread_bps: Decimal) -> TopOfBook:
    """A one-level book around the bar's close.

    The spread is `spread_bps` of the close, at least one tick, widened to whole ticks; the bid
    sits half of it below the close (rounded down to the grid) and the ask a spread above the
    bid, never below the close. Each side shows the bar's volume.
    """
    width = spec.round_price(max(spec.tick_size, bar.close * spread_bps / BPS), up=True)
    # A price within half a spread of zero still gets a positive bid.
    bid = max(spec.round_price(bar.close - width / 2, up=False), spec.tick_size)
    ask = max(bid + width, spec.round_price(bar.close, up=True))
    size = spec.round_size(bar.volume)
    return TopOfBook(
        symbol=spec.symbol,
        bid=bid,
        ask=ask,
        bid_size=size,
        ask_size=size,
        mark=bar.close,
        ts_ms=bar.close_ms,
    )


def slipped(spec: ContractSpec, price: Decimal, *, buy: bool, bps: Decimal) -> Decimal:
    """`price` moved `bps` against a taker, then rounded against it onto the tick grid."""
    factor = bps / BPS
    if buy:
        return spec.round_price(price * (1 + factor), up=True)
    moved = spec.round_price(price * (1 - factor), up=False)
    # Never sell at zero or below however large the slippage.
    return max(moved, spec.tick_size)
