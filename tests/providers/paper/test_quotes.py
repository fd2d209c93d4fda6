"""Exact bars from float candles, the derived quote, slippage."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from providers.candles import Candles
from providers.paper.quotes import bars, dec, slipped, top_of_book
from providers.timeframes import Timeframe

from .factory import SPEC, T0, D, bar


def test_floats_read_back_as_written() -> None:
    assert dec(40123.1) == D("40123.1")
    assert dec(0.00001234) == D("0.00001234")
    assert dec(0.1 + 0.2) == D("0.30000000000000004")


def test_bars_close_one_timeframe_after_they_open() -> None:
    candles = Candles.from_rows("X", Timeframe.M5, [(T0, 1.5, 2.0, 1.0, 1.75, 10.0)])
    [only] = bars(candles)
    assert (only.open_ms, only.close_ms) == (T0, T0 + Timeframe.M5.ms)
    assert (only.open, only.high, only.low, only.close, only.volume) == (
        D("1.5"),
        D("2.0"),
        D("1.0"),
        D("1.75"),
        D("10.0"),
    )


@pytest.mark.parametrize(
    ("close", "bps", "bid", "ask"),
    [
        ("40000", "2", "39996", "40004"),  # 8 USDT wide, centred
        ("1.0", "2", "0.9", "1.0"),  # one tick at least
        ("1.04", "2", "0.9", "1.1"),  # an off-grid close stays inside the quote
        ("0.1", "0", "0.1", "0.2"),  # a bid above zero
    ],
)
def test_top_of_book(close: str, bps: str, bid: str, ask: str) -> None:
    quote = top_of_book(SPEC, bar(0, close, close, close, close, "12.7"), D(bps))

    assert (quote.bid, quote.ask) == (D(bid), D(ask))
    assert quote.bid < quote.ask
    assert SPEC.is_on_tick(quote.bid) and SPEC.is_on_tick(quote.ask)
    assert quote.mark == D(close)
    assert quote.bid_size == quote.ask_size == 12  # bar volume on the volume step
    assert quote.ts_ms == T0 + 60_000


def test_slippage_rounds_against_the_taker() -> None:
    assert slipped(SPEC, D("100.0"), buy=True, bps=D(5)) == D("100.1")  # 100.05 up
    assert slipped(SPEC, D("100.0"), buy=False, bps=D(5)) == D("99.9")  # 99.95 down
    assert slipped(SPEC, D("100.0"), buy=True, bps=D(0)) == D("100.0")
    fine = replace(SPEC, tick_size=Decimal("0.0001"))
    assert slipped(fine, D("2.5"), buy=False, bps=D(20_000)) == D("0.0001")
