"""The paper exchange end to end on SQLite: money, cursors, clock and the rules around state."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from infra.models import PaperCursorRow
from infra.settings import Settings
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.paper import PaperExchange
from providers.port import (
    DuplicateOrderError,
    InsufficientBalanceError,
    InvalidOrderError,
    NotFoundError,
)
from providers.timeframes import Timeframe
from providers.types import (
    OpenType,
    OrderMode,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TriggerKind,
)

from .factory import MINUTE, SPEC, T0, D
from .venue import Venue

BUY = OrderSide.BUY_OPEN_LONG
CLOSE_LONG = OrderSide.SELL_CLOSE_LONG
SYMBOL = SPEC.symbol


def market(side: OrderSide, size: int, **extra: object) -> OrderRequest:
    return OrderRequest(SYMBOL, side, OrderType.MARKET, D(size), **extra)  # type: ignore[arg-type]


def limit(side: OrderSide, size: int, price: str, **extra: object) -> OrderRequest:
    return OrderRequest(SYMBOL, side, OrderType.LIMIT, D(size), D(price), **extra)  # type: ignore[arg-type]


@pytest.fixture
def exchange(venue: Venue) -> PaperExchange:
    built = venue.exchange()
    built.set_leverage(SYMBOL, 10, OpenType.ISOLATED)
    return built


def test_market_order_pays_slippage_and_the_taker_fee(exchange: PaperExchange) -> None:
    order = exchange.submit_order(market(BUY, 10))

    assert order.avg_fill_price == D("40040")  # 40000 plus 10 bps
    assert order.fee == Decimal("0.24024")  # 10 x 0.001 x 40040 x 0.0006
    balance = exchange.balance()
    assert balance.unrealized_pnl == Decimal("-0.4")  # marked at the last close, 40000
    assert balance.equity == Decimal(1000) - Decimal("0.24024") - Decimal("0.4")


def test_stop_exit_pays_slippage(venue: Venue, exchange: PaperExchange) -> None:
    exchange.submit_order(market(BUY, 10, preset_stop_loss=D("39500")))

    venue.play((40_000.0, 40_100.0, 39_400.0, 39_450.0))

    assert exchange.positions() == []
    pnl = (D("39460.5") - D("40040")) * D("0.01")
    fees = (D("40040") + D("39460.5")) * D("0.01") * D("0.0006")
    assert exchange.balance().equity == Decimal(1000) + pnl - fees


def test_crossing_limit_fills_at_the_touch_as_taker(exchange: PaperExchange) -> None:
    order = exchange.submit_order(limit(BUY, 10, "40100"))

    assert order.status is OrderStatus.FILLED
    assert order.price == D("40100")
    assert order.avg_fill_price == D("40004")  # the ask
    assert order.fee == D("40004") * D("0.01") * D("0.0006")


def test_ioc_that_does_not_cross_is_cancelled(exchange: PaperExchange) -> None:
    order = exchange.submit_order(limit(BUY, 10, "39900", mode=OrderMode.IOC))

    assert (order.status, order.filled_size) == (OrderStatus.CANCELLED, 0)
    assert exchange.open_orders() == []


def test_maker_only_rejection_is_recorded_and_uses_the_client_id(exchange: PaperExchange) -> None:
    asked = limit(BUY, 10, "40004", mode=OrderMode.MAKER_ONLY, client_order_id="post1")
    rejected = exchange.submit_order(asked)

    assert rejected.status is OrderStatus.REJECTED
    assert exchange.order(SYMBOL, order_id=rejected.order_id).status is OrderStatus.REJECTED
    assert exchange.submit_order(asked).order_id == rejected.order_id
    assert exchange.balance().equity == 1000


def test_each_candle_is_applied_once(venue: Venue, exchange: PaperExchange) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900"))
    venue.play((40_000.0, 40_000.0, 39_850.0, 39_900.0), (39_900.0, 39_950.0, 39_800.0, 39_900.0))

    first = exchange.balance()
    for _ in range(3):
        assert exchange.balance() == first
        assert [p.size for p in exchange.positions()] == [5]
    assert venue.exchange().balance() == first
    assert exchange.order(SYMBOL, order_id=order.order_id).fee == D("0.0399")
    with venue.engine.connect() as conn:
        cursor = conn.execute(select(PaperCursorRow.simulated_until_ms)).scalar_one()
    assert cursor == venue.now


def test_candles_behind_the_cursor_are_not_replayed(venue: Venue, exchange: PaperExchange) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900"))
    venue.now = T0 + 3 * MINUTE
    venue.candles(T0 + 2 * MINUTE, (40_000.0, 40_000.0, 39_950.0, 40_000.0))
    assert exchange.open_orders() != []

    # A late candle for a minute the walk has passed does not fill anything.
    venue.candles(T0, (40_000.0, 40_000.0, 39_000.0, 39_500.0))
    assert exchange.order(SYMBOL, order_id=order.order_id).status is OrderStatus.OPEN


def test_orders_placed_mid_minute_skip_that_minute(venue: Venue, exchange: PaperExchange) -> None:
    venue.now = T0 + 30_000
    order = exchange.submit_order(limit(BUY, 5, "39900"))

    venue.play((40_000.0, 40_000.0, 39_800.0, 39_900.0))
    assert exchange.order(SYMBOL, order_id=order.order_id).status is OrderStatus.OPEN

    venue.play((39_900.0, 40_000.0, 39_800.0, 39_900.0))
    assert exchange.order(SYMBOL, order_id=order.order_id).status is OrderStatus.FILLED


def test_the_clock_hides_candles_not_yet_closed(venue: Venue, exchange: PaperExchange) -> None:
    order = exchange.submit_order(limit(BUY, 5, "39900"))
    venue.candles(T0, (40_000.0, 40_000.0, 39_000.0, 39_100.0))  # forming at T0 + 30 s
    venue.now = T0 + 30_000

    assert exchange.order(SYMBOL, order_id=order.order_id).status is OrderStatus.OPEN
    assert exchange.top_of_book(SYMBOL).mark == 40_000
    assert len(exchange.klines(SYMBOL, Timeframe.M1, T0 - MINUTE, T0 + MINUTE)) == 1


def test_fills_use_the_finest_timeframe_stored(venue: Venue) -> None:
    eth = "ETHUSDT"
    ContractStore(venue.engine).upsert(replace(SPEC, symbol=eth), source="synthetic")
    five = Timeframe.M5.ms
    rows = [(T0 - five, 2000.0, 2000.0, 2000.0, 2000.0, 10.0)]
    KlineStore(venue.engine).upsert(Candles.from_rows(eth, Timeframe.M5, rows))
    exchange = venue.exchange()
    exchange.set_leverage(eth, 5, OpenType.ISOLATED)
    order = exchange.submit_order(OrderRequest(eth, BUY, OrderType.LIMIT, D(1), D("1990")))
    rows = [(T0, 2000.0, 2000.0, 1980.0, 1995.0, 10.0)]
    KlineStore(venue.engine).upsert(Candles.from_rows(eth, Timeframe.M5, rows))
    venue.now = T0 + five

    assert exchange.order(eth, order_id=order.order_id).status is OrderStatus.FILLED
    assert exchange.top_of_book(eth).mark == D("1995")


def test_no_candle_means_no_price(venue: Venue, exchange: PaperExchange) -> None:
    ContractStore(venue.engine).upsert(replace(SPEC, symbol="NEWUSDT"), source="synthetic")
    with pytest.raises(NotFoundError, match="no closed candle of NEWUSDT"):
        exchange.top_of_book("NEWUSDT")
    with pytest.raises(NotFoundError, match="NEWUSDT"):
        exchange.submit_order(OrderRequest("NEWUSDT", BUY, OrderType.MARKET, D(1), leverage=5))


def test_opening_needs_a_leverage(venue: Venue) -> None:
    fresh = venue.exchange()
    with pytest.raises(InvalidOrderError, match="set_leverage"):
        fresh.submit_order(market(BUY, 1))
    assert fresh.submit_order(market(BUY, 1, leverage=3)).leverage == 3


def test_client_order_id_reused_for_another_order(exchange: PaperExchange) -> None:
    first = exchange.submit_order(limit(BUY, 5, "39900", client_order_id="dup1"))

    with pytest.raises(DuplicateOrderError, match="dup1") as raised:
        exchange.submit_order(limit(BUY, 6, "39900", client_order_id="dup1"))
    assert raised.value.existing is not None
    assert raised.value.existing.order_id == first.order_id


def test_concurrent_retries_place_one_order(venue: Venue, exchange: PaperExchange) -> None:
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            venue.exchange().submit_order(market(BUY, 10, client_order_id="race1"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [p.size for p in exchange.positions()] == [10]


def test_margin_type_cannot_change_under_a_position(exchange: PaperExchange) -> None:
    exchange.submit_order(market(BUY, 10))
    with pytest.raises(InvalidOrderError, match="margin type"):
        exchange.set_leverage(SYMBOL, 10, OpenType.CROSS)


def test_leverage_change_remargins_the_position(exchange: PaperExchange) -> None:
    exchange.submit_order(market(BUY, 10))
    exchange.set_leverage(SYMBOL, 20, OpenType.ISOLATED)

    [position] = exchange.positions()
    assert (position.leverage, position.margin) == (20, D("20.02"))  # 400.4 / 20
    with pytest.raises(InvalidOrderError, match="leverage 20"):
        exchange.submit_order(market(BUY, 1, leverage=10))


def test_lower_leverage_needs_margin_that_fits(venue: Venue) -> None:
    small = venue.exchange(initial_balance=Decimal(100))
    small.set_leverage(SYMBOL, 10, OpenType.ISOLATED)
    small.submit_order(market(BUY, 20))  # 80 USDT margin
    with pytest.raises(InsufficientBalanceError, match="more margin"):
        small.set_leverage(SYMBOL, 1, OpenType.ISOLATED)
    assert small.positions()[0].leverage == 10


def test_close_orders_cannot_exceed_the_position(exchange: PaperExchange) -> None:
    exchange.submit_order(market(BUY, 10))
    exchange.submit_order(limit(CLOSE_LONG, 6, "41000"))

    with pytest.raises(InvalidOrderError, match="not yet in close orders"):
        exchange.submit_order(market(CLOSE_LONG, 5))
    exchange.submit_order(market(CLOSE_LONG, 4))
    assert [p.size for p in exchange.positions()] == [6]


def test_closing_the_position_cancels_its_close_orders(
    venue: Venue, exchange: PaperExchange
) -> None:
    exchange.submit_order(market(BUY, 10, preset_stop_loss=D("39500")))
    take = exchange.submit_order(limit(CLOSE_LONG, 10, "41000"))

    venue.play((40_000.0, 40_000.0, 39_400.0, 39_450.0))

    assert exchange.order(SYMBOL, order_id=take.order_id).status is OrderStatus.CANCELLED
    assert exchange.open_orders() == []
    assert exchange.balance().order_margin == 0


def test_presets_are_checked_against_the_fill_price(exchange: PaperExchange) -> None:
    # Above the last price (40000) but not above the fill (40040 after slippage).
    with pytest.raises(
        InvalidOrderError, match=r"take-profit 40030 .* above the entry price 40040"
    ):
        exchange.submit_order(market(BUY, 1, preset_take_profit=D("40030")))
    assert exchange.positions() == []


def test_trigger_client_order_id_is_idempotent(exchange: PaperExchange) -> None:
    exchange.submit_order(market(BUY, 10))

    def stop() -> object:
        return exchange.submit_trigger_order(
            SYMBOL,
            kind=TriggerKind.STOP_LOSS,
            position_side=PositionSide.LONG,
            trigger_price=D("39000"),
            client_order_id="sl1",
        )

    assert stop() == stop()
    assert len(exchange.trigger_orders()) == 1
    with pytest.raises(DuplicateOrderError, match="sl1"):
        exchange.submit_order(limit(BUY, 1, "39000", client_order_id="sl1"))


def test_accounts_are_separate(venue: Venue) -> None:
    alice = venue.exchange(account="alice")
    bob = venue.exchange(account="bob", initial_balance=Decimal(50))
    alice.set_leverage(SYMBOL, 10, OpenType.ISOLATED)
    bob.set_leverage(SYMBOL, 10, OpenType.ISOLATED)

    first = alice.submit_order(limit(BUY, 1, "39000"))
    other = bob.submit_order(limit(BUY, 1, "39000"))

    assert first.order_id == other.order_id == "1"
    assert bob.balance().equity == 50
    bob.cancel_order(SYMBOL, order_id=other.order_id)
    assert alice.order(SYMBOL, order_id=first.order_id).status is OrderStatus.OPEN


def test_from_settings(venue: Venue) -> None:
    settings = Settings(
        paper_balance=500.0,
        paper_slippage_bps=0.0,
        paper_maker_fee=0.0001,
        paper_taker_fee=0.0005,
        paper_spread_bps=4.0,
    )
    exchange = PaperExchange.from_settings(venue.engine, settings, venue.clock)

    assert exchange.balance().equity == 500
    exchange.set_leverage(SYMBOL, 10, OpenType.ISOLATED)
    order = exchange.submit_order(market(BUY, 10))
    assert order.avg_fill_price == 40_000
    assert order.fee == D("0.2")
    quote = exchange.top_of_book(SYMBOL)
    assert (quote.bid, quote.ask) == (D("39992"), D("40008"))


def test_bad_configuration_fails_fast(venue: Venue) -> None:
    with pytest.raises(ValueError, match="initial_balance"):
        venue.exchange(initial_balance=Decimal(0))
    with pytest.raises(ValueError, match="taker_fee"):
        venue.exchange(taker_fee=Decimal("-0.1"))
