"""Kline and contract stores behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from infra.db import get_engine
from providers.candles import CandleDataError, Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.port import NotFoundError
from providers.timeframes import Timeframe
from providers.types import ContractSpec
from tests.helpers import T0, make_candles


def test_load_returns_only_closed_candles_oldest_first(db_url: str) -> None:
    store = KlineStore(get_engine(db_url))
    candles = make_candles([float(i) for i in range(1, 31)], Timeframe.M1, symbol="AUSDT")
    assert store.upsert(candles) == 30
    as_of = T0 + 20 * 60_000  # candles 0..19 are closed
    got = store.load("AUSDT", Timeframe.M1, as_of_ms=as_of, limit=5)
    assert list(got.close) == [16.0, 17.0, 18.0, 19.0, 20.0]
    assert got.last_open_ms == Timeframe.M1.last_closed_open_ms(as_of)
    assert len(store.load("AUSDT", Timeframe.M5, as_of_ms=as_of, limit=5)) == 0


def test_upsert_is_idempotent_and_replaces(db_url: str) -> None:
    store = KlineStore(get_engine(db_url))
    store.upsert(make_candles([1.0, 2.0, 3.0], symbol="BUSDT"))
    store.upsert(make_candles([1.0, 2.5, 3.0], symbol="BUSDT"))
    assert store.count("BUSDT") == 3
    got = store.load_range("BUSDT", Timeframe.M1, T0, T0 + 3 * 60_000)
    assert list(got.close) == [1.0, 2.5, 3.0]


def test_window_read_for_many_symbols(db_url: str) -> None:
    store = KlineStore(get_engine(db_url))
    for symbol, n in (("AUSDT", 10), ("BUSDT", 4)):
        store.upsert(make_candles([float(i + 1) for i in range(n)], symbol=symbol))
    as_of = T0 + 10 * 60_000
    got = store.load_window(["AUSDT", "BUSDT", "CUSDT"], Timeframe.M1, as_of_ms=as_of, limit=6)
    assert list(got["AUSDT"].close) == [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert len(got["BUSDT"]) == 0, "B stops before the window"
    assert len(got["CUSDT"]) == 0
    single = store.load("AUSDT", Timeframe.M1, as_of_ms=as_of, limit=6)
    assert np.array_equal(single.close, got["AUSDT"].close)


def test_bad_candles_are_refused(db_url: str) -> None:
    store = KlineStore(get_engine(db_url))
    bad = make_candles([1.0, 2.0])
    broken = type(bad)(
        bad.symbol, bad.timeframe, bad.open_time, bad.open, bad.low, bad.high, bad.close, bad.volume
    )  # high and low swapped
    with pytest.raises(CandleDataError, match="high below open/close"):
        store.upsert(broken)
    assert store.count() == 0


def test_prune_keeps_the_newest(db_url: str) -> None:
    store = KlineStore(get_engine(db_url))
    store.upsert(make_candles([float(i) for i in range(1, 21)], symbol="AUSDT"))
    store.upsert(make_candles([1.0, 2.0, 3.0], symbol="BUSDT"))
    assert store.prune(5) == 15
    assert store.count("AUSDT") == 5 and store.count("BUSDT") == 3
    assert store.newest_open_ms("AUSDT", Timeframe.M1) == T0 + 19 * 60_000


def test_contract_round_trip_is_exact(db_url: str) -> None:
    contracts = ContractStore(get_engine(db_url))
    spec = ContractSpec(
        symbol="DOGEUSDT",
        base_currency="DOGE",
        quote_currency="USDT",
        tick_size=Decimal("0.00001"),
        contract_size=Decimal("100"),
        volume_step=Decimal(1),
        min_volume=Decimal(1),
        max_volume=Decimal(500000),
        market_max_volume=Decimal(200000),
        min_leverage=1,
        max_leverage=50,
        last_price=Decimal("0.16342"),
        turnover_24h=Decimal("123456789.12"),
    )
    contracts.upsert(spec, source="bitmart")
    assert contracts.get("DOGEUSDT") == spec
    assert str(contracts.get("DOGEUSDT").max_volume) == "500000"
    assert contracts.source_of("DOGEUSDT") == ("bitmart", {})
    with pytest.raises(NotFoundError, match="unknown contract 'NOPEUSDT'"):
        contracts.get("NOPEUSDT")


class CountingSource:
    """A candle source over a fixed series that counts how often it is asked."""

    def __init__(self, closes: list[float]) -> None:
        self.all = make_candles(closes, Timeframe.M1, symbol="AUSDT")
        self.calls: list[tuple[int, int]] = []

    def covers(self, symbol: str) -> bool:
        return symbol == "AUSDT"

    def candles(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        self.calls.append((start_ms, end_ms))
        mask = (self.all.open_time >= start_ms) & (self.all.open_time < end_ms)
        return self.all._slice(slice(int(np.argmax(mask)), int(np.argmax(mask)) + int(mask.sum())))


def test_market_data_fetches_only_what_just_closed(db_url: str) -> None:
    from providers.marketdata import MarketData

    store = KlineStore(get_engine(db_url))
    source = CountingSource([float(i + 1) for i in range(100)])
    market = MarketData(store, [source])
    as_of = T0 + 60 * 60_000
    first = market.closed_candles("AUSDT", Timeframe.M1, as_of, 50)
    assert len(first) == 50 and first.last_open_ms == as_of - 60_000
    assert source.calls == [(as_of - 50 * 60_000, as_of)], "cold: the whole window, once"
    again = market.closed_candles("AUSDT", Timeframe.M1, as_of, 50)
    assert len(source.calls) == 1 and np.array_equal(again.close, first.close)
    later = market.closed_candles("AUSDT", Timeframe.M1, as_of + 60_000, 50)
    assert source.calls[-1] == (as_of, as_of + 60_000), "warm: only the candle that closed"
    assert later.last_open_ms == as_of and len(later) == 50
    # a hole in the store is backfilled from the source
    with store.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("DELETE FROM klines WHERE open_time_ms = :t"), {"t": as_of - 10 * 60_000})
    filled = market.closed_candles("AUSDT", Timeframe.M1, as_of + 60_000, 50)
    assert len(filled) == 50 and not np.any(np.diff(filled.open_time) != 60_000)
    assert len(source.calls) == 3


def test_without_a_source_staleness_is_visible(db_url: str) -> None:
    from providers.marketdata import MarketData

    store = KlineStore(get_engine(db_url))
    store.upsert(make_candles([1.0, 2.0, 3.0], symbol="BUSDT"))
    market = MarketData(store, [])
    late = market.closed_candles("BUSDT", Timeframe.M1, T0 + 30 * 60_000, 10)
    assert late.last_open_ms == T0 + 2 * 60_000  # the caller sees it is old


def test_missing_range() -> None:
    from providers.marketdata import missing_range

    tf = Timeframe.M1
    expected = T0 + 99 * 60_000
    full = make_candles([1.0] * 100, tf)
    assert missing_range(full, tf, expected + 60_000, 100, False) == (
        expected + 60_000,
        expected + 120_000,
    )
    recent = full.tail(40)  # the newest 40 of the 100 wanted
    assert missing_range(recent, tf, expected, 100, False) == (T0, int(recent.open_time[0]))
    assert missing_range(full, tf, expected, 100, True) == (T0, expected + 60_000)
    assert missing_range(Candles.empty("X", tf), tf, expected, 10, False) == (
        expected - 9 * 60_000,
        expected + 60_000,
    )
