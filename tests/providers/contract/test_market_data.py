"""Contracts, candles and quotes."""

from __future__ import annotations

import pytest

from providers.port import Exchange, NotFoundError
from providers.timeframes import Timeframe

from .market import MINUTE, T0, Market, btc_spec


def test_adapter_is_an_exchange(exchange: Exchange) -> None:
    assert isinstance(exchange, Exchange)
    assert exchange.name


def test_contracts_lists_and_finds_specs(market: Market, exchange: Exchange) -> None:
    btc = btc_spec()
    eth = btc_spec(symbol="ETHUSDT", base_currency="ETH", tick_size=btc.tick_size / 10)
    market.list(btc)
    market.list(eth)

    assert sorted(c.symbol for c in exchange.contracts()) == ["BTCUSDT", "ETHUSDT"]
    found = exchange.contract("ETHUSDT")
    assert found.tick_size == eth.tick_size
    assert found.contract_size == eth.contract_size
    assert (found.min_volume, found.max_volume, found.market_max_volume) == (
        eth.min_volume,
        eth.max_volume,
        eth.market_max_volume,
    )
    assert (found.min_leverage, found.max_leverage) == (1, 100)


def test_unknown_contract_is_not_found(market: Market, exchange: Exchange) -> None:
    market.list(btc_spec())
    with pytest.raises(NotFoundError, match="NOPEUSDT"):
        exchange.contract("NOPEUSDT")
    with pytest.raises(NotFoundError):
        exchange.klines("NOPEUSDT", Timeframe.M1, 0, T0)


def test_klines_are_closed_at_the_clock_and_bounded(market: Market, exchange: Exchange) -> None:
    market.list(btc_spec())
    for i in range(-3, 3):
        market.put("BTCUSDT", Timeframe.M1, T0 + i * MINUTE, (100.0, 101.0, 99.0, 100.5))
    market.advance(30_000)  # mid-minute: the T0 candle is still forming

    everything = exchange.klines("BTCUSDT", Timeframe.M1, T0 - 10 * MINUTE, T0 + 10 * MINUTE)
    assert [int(t) for t in everything.open_time] == [T0 - 3 * MINUTE, T0 - 2 * MINUTE, T0 - MINUTE]
    assert everything.timeframe is Timeframe.M1

    window = exchange.klines("BTCUSDT", Timeframe.M1, T0 - 2 * MINUTE, T0 - MINUTE)
    assert [int(t) for t in window.open_time] == [T0 - 2 * MINUTE]

    market.advance(30_000)  # the T0 candle has closed
    later = exchange.klines("BTCUSDT", Timeframe.M1, T0 - 10 * MINUTE, T0 + 10 * MINUTE)
    assert int(later.open_time[-1]) == T0


def test_top_of_book_is_on_the_tick_grid_around_the_last_close(
    market: Market, exchange: Exchange, btc: str
) -> None:
    spec = exchange.contract(btc)
    book = exchange.top_of_book(btc)

    assert book.symbol == btc
    assert book.bid < book.ask
    assert spec.is_on_tick(book.bid) and spec.is_on_tick(book.ask)
    assert book.bid <= 40_000 <= book.ask
    assert book.mark == 40_000
    assert book.bid_size >= 0 and book.ask_size >= 0
