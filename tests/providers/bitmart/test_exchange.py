"""`BitmartExchange` on a scripted transport: wire → domain mapping, closed candles, client
ids, duplicates, TP/SL side codes, and reads that fail loudly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from infra.settings import Settings
from providers.bitmart import BitmartExchange, InMemoryRateLimiter
from providers.bitmart.mapping import order_status
from providers.port import (
    DuplicateOrderError,
    Exchange,
    InvalidOrderError,
    NotFoundError,
    RateLimitError,
    TransientError,
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
    PriceType,
    TriggerKind,
)
from tests.providers.bitmart.test_client import (
    API_KEY,
    FakeTime,
    Script,
    fail,
    kline_server,
    make_client,
    ok,
    query,
)

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
DETAILS = "/contract/public/details"
SUBMIT = "/contract/private/submit-order"
ORDER = "/contract/private/order"
OPEN = "/contract/private/get-open-orders"
HISTORY = "/contract/private/order-history"
PLANS = "/contract/private/current-plan-order"
POSITIONS = "/contract/private/position-v2"
TRADES = "/contract/private/trades"


def btc(**changes: Any) -> dict[str, Any]:
    row = {
        "symbol": "BTCUSDT",
        "product_type": 1,
        "open_timestamp": 1645977600000,
        "expire_timestamp": 0,
        "base_currency": "BTC",
        "quote_currency": "USDT",
        "last_price": "40000",
        "index_price": "40001.5",
        "contract_size": "0.001",
        "min_leverage": "1",
        "max_leverage": "100",
        "price_precision": "0.1",
        "vol_precision": "1",
        "max_volume": "1000",
        "market_max_volume": "500",
        "min_volume": "1",
        "status": "Trading",
    }
    return row | changes


def details(*rows: dict[str, Any]) -> httpx.Response:
    return ok({"symbols": list(rows or [btc()])})


def order_row(**changes: Any) -> dict[str, Any]:
    row = {
        "order_id": "3000001",
        "client_order_id": "abc1",
        "symbol": "BTCUSDT",
        "side": 1,
        "type": "limit",
        "state": 2,
        "price": "39900",
        "size": "5",
        "deal_size": "0",
        "deal_avg_price": "0",
        "leverage": "10",
        "open_type": "isolated",
        "position_mode": "hedge_mode",
        "create_time": T0,
        "update_time": T0,
    }
    return row | changes


def position_row(**changes: Any) -> dict[str, Any]:
    row = {
        "symbol": "BTCUSDT",
        "leverage": "10",
        "timestamp": T0,
        "open_timestamp": T0 - MINUTE,
        "mark_price": "40010",
        "entry_price": "40000",
        "open_avg_price": "40000",
        "current_amount": "10",
        "position_amount": "10",
        "realized_value": "-0.1",
        "unrealized_pnl": "0.1",
        "initial_margin": "40",
        "liquidation_price": "36400",
        "open_type": "isolated",
        "position_side": "long",
    }
    return row | changes


def plan_row(**changes: Any) -> dict[str, Any]:
    row = {
        "order_id": "77",
        "client_order_id": "sl1",
        "symbol": "BTCUSDT",
        "side": 3,
        "type": "stop_loss",
        "state": 1,
        "trigger_price": "39000",
        "executive_price": "39000",
        "price_type": 1,
        "plan_category": 2,
        "size": "10",
        "create_time": T0,
    }
    return row | changes


def exchange(script: Script, *, now_ms: int = T0, spec_ttl_s: float = 60.0) -> BitmartExchange:
    return BitmartExchange(make_client(script), clock=lambda: now_ms, spec_ttl_s=spec_ttl_s)


def body(request: httpx.Request) -> dict[str, Any]:
    return dict(json.loads(request.content))


def limit(side: OrderSide = OrderSide.BUY_OPEN_LONG, **changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "side": side,
        "type": OrderType.LIMIT,
        "size": Decimal(5),
        "price": Decimal("39900.0"),
        "leverage": 10,
    }
    return OrderRequest(**(fields | changes))


# --- market data ------------------------------------------------------------------------


def test_adapter_is_an_exchange() -> None:
    adapter = exchange(Script())
    assert isinstance(adapter, Exchange)
    assert adapter.name == "bitmart"


def test_contract_specs_take_steps_not_digit_counts() -> None:
    doge = btc(
        symbol="DOGEUSDT", price_precision="0.00001", contract_size="10", market_max_volume=None
    )
    script = Script().on(DETAILS, details(btc(), doge))
    specs = {s.symbol: s for s in exchange(script).contracts()}

    assert specs["BTCUSDT"].tick_size == Decimal("0.1")
    assert specs["BTCUSDT"].volume_step == Decimal(1)
    assert specs["BTCUSDT"].market_max_volume == Decimal(500)
    assert specs["BTCUSDT"].index_price == Decimal("40001.5")
    assert specs["BTCUSDT"].open_timestamp_ms == 1645977600000
    assert specs["BTCUSDT"].expire_timestamp_ms is None
    assert specs["DOGEUSDT"].tick_size == Decimal("0.00001")
    assert specs["DOGEUSDT"].market_max_volume == Decimal(1000)  # falls back to max_volume


@pytest.mark.parametrize(
    "reply", [ok({"symbols": []}), fail(400, 40034, "The Symbol is not exist")]
)
def test_unknown_contract_is_not_found_by_name(reply: httpx.Response) -> None:
    script = Script().on(DETAILS, reply)
    with pytest.raises(NotFoundError, match="NOPEUSDT"):
        exchange(script).contract("NOPEUSDT")
    with pytest.raises(NotFoundError, match="NOPEUSDT"):
        exchange(script).klines("NOPEUSDT", Timeframe.M1, 0, T0)
    assert all(r.url.path == DETAILS for r in script.requests)


def test_klines_are_closed_oldest_first_and_asked_in_seconds() -> None:
    script = Script().on(DETAILS, details()).on("/contract/public/kline", kline_server(60))
    candles = exchange(script, now_ms=T0 + 30_000).klines(
        "BTCUSDT", Timeframe.M1, T0 - 10 * MINUTE, T0 + 10 * MINUTE
    )

    assert [int(t) for t in candles.open_time] == [T0 - (10 - i) * MINUTE for i in range(10)]
    assert candles.timeframe is Timeframe.M1
    assert candles.close[0] == 100.5
    [request] = script.sent("/contract/public/kline")
    q = query(request)
    assert int(q["start_time"]) < 10**11 and int(q["end_time"]) < T0 // 1000


def test_a_forming_candle_the_server_returns_is_dropped() -> None:
    def everything(request: httpx.Request) -> httpx.Response:
        rows = [
            {
                "timestamp": (T0 + i * MINUTE) // 1000,
                "open_price": "1",
                "high_price": "1",
                "low_price": "1",
                "close_price": "1",
                "volume": "1",
            }
            for i in range(-3, 1)
        ]
        return ok(rows)

    script = Script().on(DETAILS, details()).on("/contract/public/kline", everything)
    candles = exchange(script, now_ms=T0 + 59_999).klines(
        "BTCUSDT", Timeframe.M1, T0 - 3 * MINUTE, T0 + MINUTE
    )
    assert [int(t) for t in candles.open_time] == [T0 - 3 * MINUTE, T0 - 2 * MINUTE, T0 - MINUTE]


def test_long_kline_ranges_are_paginated() -> None:
    script = Script().on(DETAILS, details()).on("/contract/public/kline", kline_server(300))
    candles = exchange(script).klines("BTCUSDT", Timeframe.M5, T0 - 1200 * 5 * MINUTE, T0)

    assert len(candles) == 1200
    candles.validate()
    assert len(script.sent("/contract/public/kline")) == 3


def test_huge_kline_ranges_are_refused() -> None:
    script = Script().on(DETAILS, details())
    with pytest.raises(ValueError, match="max_klines"):
        exchange(script).klines("BTCUSDT", Timeframe.M1, 0, T0)
    assert script.sent("/contract/public/kline") == []


def test_top_of_book_from_depth_marked_at_the_index_price() -> None:
    depth = {
        "symbol": "BTCUSDT",
        "asks": [["40000.5", "3", "3"], ["40001", "5", "8"]],
        "bids": [["39999.5", "2", "2"]],
        "timestamp": T0,
    }
    script = Script().on("/contract/public/depth", ok(depth)).on(DETAILS, details())
    book = exchange(script).top_of_book("BTCUSDT")

    assert (book.bid, book.ask) == (Decimal("39999.5"), Decimal("40000.5"))
    assert (book.bid_size, book.ask_size) == (Decimal(2), Decimal(3))
    assert book.mark == Decimal("40001.5")
    assert book.ts_ms == T0


# --- account ----------------------------------------------------------------------------


def test_balance_from_the_usdt_row() -> None:
    usdt = {
        "currency": "USDT",
        "available_balance": "900",
        "frozen_balance": "20",
        "position_deposit": "80",
        "equity": "1000.5",
        "unrealized": "0.5",
    }
    script = Script().on("/contract/private/assets-detail", ok([usdt]))
    balance = exchange(script).balance()
    assert (balance.equity, balance.available) == (Decimal("1000.5"), Decimal(900))
    assert (balance.order_margin, balance.position_margin) == (Decimal(20), Decimal(80))

    empty = Script().on("/contract/private/assets-detail", ok([]))
    with pytest.raises(NotFoundError, match="USDT"):
        exchange(empty).balance()


def test_hedge_positions_skip_flat_rows() -> None:
    rows = [
        position_row(),
        position_row(position_side="short", current_amount="0", position_amount="0"),
    ]
    [position] = exchange(Script().on(POSITIONS, ok(rows))).positions("BTCUSDT")

    assert position.side is PositionSide.LONG
    assert (position.size, position.entry_price, position.mark_price) == (
        Decimal(10),
        Decimal(40000),
        Decimal(40010),
    )
    assert (position.leverage, position.open_type) == (10, OpenType.ISOLATED)
    assert (position.margin, position.liquidation_price) == (Decimal(40), Decimal(36400))
    assert position.opened_ms == T0 - MINUTE


def test_one_way_position_side_is_the_sign_of_the_amount() -> None:
    short = position_row(position_side="both", current_amount="4", position_amount="-4")
    [position] = exchange(Script().on(POSITIONS, ok([short]))).positions()
    assert position.side is PositionSide.SHORT
    assert position.size == Decimal(4)


@pytest.mark.parametrize(
    ("state", "size", "filled", "status"),
    [
        (1, "5", "0", OrderStatus.PENDING),
        (2, "5", "0", OrderStatus.OPEN),
        (2, "5", "2", OrderStatus.PARTIALLY_FILLED),
        (4, "5", "5", OrderStatus.FILLED),
        (4, "5", "2", OrderStatus.CANCELLED),
        (4, "5", "0", OrderStatus.CANCELLED),
    ],
)
def test_order_state_table(state: int, size: str, filled: str, status: OrderStatus) -> None:
    assert order_status(state, Decimal(size), Decimal(filled)) is status


def test_unknown_order_state_is_an_error() -> None:
    with pytest.raises(TransientError, match="unknown state 3"):
        order_status(3, Decimal(1), Decimal(0), "9")


def trade_row(**changes: Any) -> dict[str, Any]:
    row = {
        "order_id": "3000001",
        "trade_id": "1",
        "symbol": "BTCUSDT",
        "side": 4,
        "price": "39950",
        "vol": "1",
        "exec_type": "Maker",
        "paid_fees": "0.00799",
        "create_time": T0,
    }
    return row | changes


def test_open_orders_map_every_field() -> None:
    row = order_row(side=4, deal_size="2", deal_avg_price="39950", preset_stop_loss_price="41000")
    fills = [trade_row(), trade_row(trade_id="2", paid_fees="-0.00799"), trade_row(order_id="9")]
    script = Script().on(OPEN, ok([row])).on(TRADES, ok(fills))
    [order] = exchange(script, now_ms=T0 + MINUTE).open_orders("BTCUSDT")

    assert order.side is OrderSide.SELL_OPEN_SHORT and not order.reduce_only
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert (order.price, order.size, order.filled_size) == (Decimal(39900), 5, 2)
    assert order.avg_fill_price == Decimal(39950)
    assert order.preset_stop_loss == Decimal(41000) and order.preset_take_profit is None
    assert (order.leverage, order.open_type) == (10, OpenType.ISOLATED)
    assert order.created_ms == T0
    # Order rows carry no fee: it is summed from the order's fills, whatever their sign.
    assert order.fee == Decimal("0.01598")
    [fee_query] = script.sent(TRADES)
    assert query(fee_query) == {
        "symbol": "BTCUSDT",
        "order_id": "3000001",
        "start_time": str(T0 // 1000),
        "end_time": str(T0 // 1000 + 61),
    }


def test_unfilled_orders_need_no_fee_lookup() -> None:
    script = Script().on(OPEN, ok([order_row()]))
    [order] = exchange(script).open_orders("BTCUSDT")
    assert order.fee == 0
    assert script.sent(TRADES) == []


def test_lists_of_an_unknown_symbol_are_empty_but_other_failures_raise() -> None:
    unknown = fail(400, 40034, "The Symbol is not exist")
    adapter = exchange(Script().on(OPEN, unknown).on(POSITIONS, unknown).on(PLANS, unknown))
    assert adapter.open_orders("NOPEUSDT") == []
    assert adapter.positions("NOPEUSDT") == []
    assert adapter.trigger_orders("NOPEUSDT") == []
    lost = exchange(Script().on(OPEN, fail(404, 30000, "Not found")))
    with pytest.raises(NotFoundError, match="30000"):
        lost.open_orders("BTCUSDT")


@pytest.mark.parametrize(
    "reply",
    [fail(500, 40012, "System error"), httpx.Response(200, text="<html>"), ok(None)],
    ids=["500", "html", "null-data"],
)
def test_reads_that_fail_raise(reply: httpx.Response) -> None:
    adapter = exchange(Script().on(OPEN, reply).on(POSITIONS, reply).on(PLANS, reply))
    with pytest.raises(TransientError):
        adapter.open_orders("BTCUSDT")
    with pytest.raises(TransientError):
        adapter.positions()
    with pytest.raises(TransientError):
        adapter.trigger_orders()


def test_rate_limited_reads_raise_rate_limit_errors() -> None:
    script = Script().on(POSITIONS, fail(429, 30013, "Request too many requests"))
    with pytest.raises(RateLimitError):
        exchange(script).positions()


# --- orders -----------------------------------------------------------------------------


def test_submit_sends_the_request_and_reads_the_order_back() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(SUBMIT, ok({"order_id": 3000001, "price": "39900"}))
        .on(ORDER, ok(order_row()))
    )
    order = exchange(script).submit_order(
        limit(mode=OrderMode.MAKER_ONLY, client_order_id="abc1", preset_stop_loss=Decimal("39000"))
    )

    assert (order.order_id, order.client_order_id) == ("3000001", "abc1")
    assert order.status is OrderStatus.OPEN
    assert order.mode is OrderMode.MAKER_ONLY
    [sent] = script.sent(SUBMIT)
    assert body(sent) == {
        "symbol": "BTCUSDT",
        "client_order_id": "abc1",
        "side": 1,
        "mode": 4,
        "type": "limit",
        "leverage": "10",
        "open_type": "isolated",
        "size": 5,
        "price": "39900",
        "preset_stop_loss_price": "39000",
        "preset_stop_loss_price_type": 1,
    }
    assert query(script.sent(ORDER)[0]) == {"symbol": "BTCUSDT", "order_id": "3000001"}


def test_orders_without_client_id_get_one() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(SUBMIT, ok({"order_id": 1, "price": "market price"}))
        .on(ORDER, fail(400, 40035, "The order is not exist"))
    )
    order = exchange(script).submit_order(
        OrderRequest("BTCUSDT", OrderSide.SELL_CLOSE_LONG, OrderType.MARKET, Decimal(2))
    )
    sent = body(script.sent(SUBMIT)[0])
    cid = sent["client_order_id"]
    assert cid.startswith("mtf") and cid.isalnum() and len(cid) <= 32
    # A closing order takes its position's leverage and margin type.
    assert "leverage" not in sent and "open_type" not in sent and "price" not in sent
    # Accepted but not listed yet: the order as sent, pending.
    assert order.status is OrderStatus.PENDING
    assert order.client_order_id == cid and order.reduce_only


def test_a_repeated_client_id_returns_the_existing_order() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(SUBMIT, fail(403, 40050, "Client OrderId duplicated with existing orders"))
        .on(OPEN, ok([order_row(client_order_id="other"), order_row(order_id="42")]))
    )
    order = exchange(script).submit_order(limit(client_order_id="abc1"))

    assert order.order_id == "42"
    assert len(script.sent(SUBMIT)) == 1


def test_a_repeated_client_id_found_in_history() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(SUBMIT, fail(403, 40050, "Client OrderId duplicated with existing orders"))
        .on(OPEN, ok([]))
        .on(HISTORY, ok([order_row(order_id="43", state=4, deal_size="5")]))
        .on(TRADES, ok([trade_row(order_id="43", paid_fees="0.0399")]))
    )
    order = exchange(script).submit_order(limit(client_order_id="abc1"))
    assert (order.order_id, order.status) == ("43", OrderStatus.FILLED)
    assert order.fee == Decimal("0.0399")
    assert query(script.sent(HISTORY)[0])["client_order_id"] == "abc1"


def test_a_client_id_used_by_another_order_is_a_duplicate() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(SUBMIT, fail(403, 40050, "Client OrderId duplicated with existing orders"))
        .on(OPEN, ok([order_row(size="9")]))
    )
    with pytest.raises(DuplicateOrderError) as caught:
        exchange(script).submit_order(limit(client_order_id="abc1"))
    assert caught.value.existing is not None and caught.value.existing.order_id == "3000001"


@pytest.mark.parametrize(
    ("request_", "rule"),
    [
        (limit(price=Decimal("39900.05")), "tick"),
        (limit(size=Decimal("1.5")), "step"),
        (limit(size=Decimal(1001)), "max_volume"),
        (limit(leverage=101), "leverage"),
        (limit(extra={"reduceOnly": "true"}), "extra"),
    ],
)
def test_orders_breaking_a_rule_are_not_sent(request_: OrderRequest, rule: str) -> None:
    script = Script().on(DETAILS, details())
    with pytest.raises(InvalidOrderError, match=rule):
        exchange(script).submit_order(request_)
    assert script.sent(SUBMIT) == []


def test_a_rule_changed_since_the_cache_is_named_after_a_rejection() -> None:
    script = (
        Script()
        .on(DETAILS, details(), details(btc(min_volume="10")))
        .on(SUBMIT, fail(400, 40044, "The order range is invalid"))
    )
    adapter = exchange(script)
    adapter.contract("BTCUSDT")
    with pytest.raises(InvalidOrderError, match="min_volume"):
        adapter.submit_order(limit())
    assert len(script.sent(DETAILS)) == 2


def test_cancel_of_an_unknown_or_finished_order_is_not_found() -> None:
    cancel = "/contract/private/cancel-order"
    script = Script().on(
        cancel,
        fail(400, 40035, "The order is not exist"),
        fail(400, 40036, "The order status is invalid"),
    )
    adapter = exchange(script)
    with pytest.raises(NotFoundError, match="987"):
        adapter.cancel_order("BTCUSDT", order_id="987")
    with pytest.raises(NotFoundError, match="c1"):
        adapter.cancel_order("BTCUSDT", client_order_id="c1")
    assert body(script.sent(cancel)[1]) == {"symbol": "BTCUSDT", "client_order_id": "c1"}
    with pytest.raises(ValueError):
        adapter.cancel_order("BTCUSDT")
    assert len(script.requests) == 2


def test_order_by_client_id_searches_open_orders_then_history() -> None:
    script = Script().on(OPEN, ok([order_row()])).on(HISTORY, ok([]))
    adapter = exchange(script)
    assert adapter.order("BTCUSDT", client_order_id="abc1").order_id == "3000001"
    assert script.sent(HISTORY) == []
    with pytest.raises(NotFoundError, match="neverused"):
        adapter.order("BTCUSDT", client_order_id="neverused")
    assert query(script.sent(HISTORY)[0]) == {"symbol": "BTCUSDT", "client_order_id": "neverused"}


def test_order_by_id_not_found() -> None:
    script = Script().on(ORDER, fail(400, 40035, "The order is not exist"))
    with pytest.raises(NotFoundError):
        exchange(script).order("BTCUSDT", order_id="987654321")


def test_set_leverage() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(
            "/contract/private/submit-leverage",
            ok({"symbol": "BTCUSDT", "leverage": "20", "open_type": "cross", "max_value": "100"}),
        )
    )
    adapter = exchange(script)
    assert adapter.set_leverage("BTCUSDT", 20, OpenType.CROSS) == 20
    assert body(script.sent("/contract/private/submit-leverage")[0]) == {
        "symbol": "BTCUSDT",
        "leverage": "20",
        "open_type": "cross",
    }
    with pytest.raises(InvalidOrderError, match="leverage"):
        adapter.set_leverage("BTCUSDT", 101, OpenType.CROSS)


# --- triggers ---------------------------------------------------------------------------


def tp_sl_script(*positions: dict[str, Any], listed: list[dict[str, Any]] | None = None) -> Script:
    return (
        Script()
        .on(DETAILS, details())
        .on(POSITIONS, ok(list(positions)))
        .on(
            "/contract/private/submit-tp-sl-order", ok({"order_id": "77", "client_order_id": "sl1"})
        )
        .on(PLANS, ok(listed if listed is not None else [plan_row()]))
    )


def test_stop_loss_on_a_long_closes_with_side_3_for_the_whole_position() -> None:
    script = tp_sl_script(position_row())
    stop = exchange(script).submit_trigger_order(
        "BTCUSDT",
        kind=TriggerKind.STOP_LOSS,
        position_side=PositionSide.LONG,
        trigger_price=Decimal("39000"),
        client_order_id="sl1",
    )
    assert body(script.sent("/contract/private/submit-tp-sl-order")[0]) == {
        "symbol": "BTCUSDT",
        "type": "stop_loss",
        "side": 3,
        "trigger_price": "39000",
        "executive_price": "39000",
        "price_type": 1,
        "plan_category": 2,
        "category": "market",
        "client_order_id": "sl1",
    }
    assert stop.side is OrderSide.SELL_CLOSE_LONG
    assert stop.kind is TriggerKind.STOP_LOSS and stop.status.is_open
    assert (stop.size, stop.execution_price) == (None, None)


def test_take_profit_on_a_short_closes_with_side_2_for_a_size() -> None:
    short = position_row(position_side="short")
    listed = [
        plan_row(side=2, type="take_profit", plan_category=1, size="4", trigger_price="39000")
    ]
    script = tp_sl_script(short, listed=listed)
    take = exchange(script).submit_trigger_order(
        "BTCUSDT",
        kind=TriggerKind.TAKE_PROFIT,
        position_side=PositionSide.SHORT,
        trigger_price=Decimal("39000"),
        size=Decimal(4),
        price_type=PriceType.MARK,
    )
    sent = body(script.sent("/contract/private/submit-tp-sl-order")[0])
    assert (sent["side"], sent["type"], sent["plan_category"], sent["size"]) == (
        2,
        "take_profit",
        1,
        4,
    )
    assert sent["price_type"] == 2
    assert take.side is OrderSide.BUY_CLOSE_SHORT and take.size == Decimal(4)


def test_trigger_needs_an_open_position() -> None:
    script = tp_sl_script(position_row(position_side="short"))
    with pytest.raises(NotFoundError, match="long position"):
        exchange(script).submit_trigger_order(
            "BTCUSDT",
            kind=TriggerKind.STOP_LOSS,
            position_side=PositionSide.LONG,
            trigger_price=Decimal("39000"),
        )
    assert script.sent("/contract/private/submit-tp-sl-order") == []


@pytest.mark.parametrize(
    ("kind", "price", "rule"),
    [
        (TriggerKind.STOP_LOSS, "40100", "below"),
        (TriggerKind.TAKE_PROFIT, "39900", "above"),
        (TriggerKind.STOP_LOSS, "39000.05", "tick"),
    ],
)
def test_trigger_on_the_wrong_side_or_off_grid_is_invalid(
    kind: TriggerKind, price: str, rule: str
) -> None:
    script = tp_sl_script(position_row())
    with pytest.raises(InvalidOrderError, match=rule):
        exchange(script).submit_trigger_order(
            "BTCUSDT", kind=kind, position_side=PositionSide.LONG, trigger_price=Decimal(price)
        )
    assert script.sent("/contract/private/submit-tp-sl-order") == []


def test_trigger_orders_list_only_waiting_ones() -> None:
    rows = [
        plan_row(),
        plan_row(order_id="78", state=4),
        plan_row(order_id="79", type="plan", plan_category=1, executive_price="38000"),
    ]
    triggers = exchange(Script().on(PLANS, ok(rows))).trigger_orders("BTCUSDT")
    assert [t.order_id for t in triggers] == ["77", "79"]
    assert triggers[1].kind is TriggerKind.PLAN
    assert triggers[1].execution_price == Decimal(38000)


def test_cancel_trigger_order() -> None:
    cancel = "/contract/private/cancel-plan-order"
    script = Script().on(cancel, ok({}), fail(400, 40037, "The order id is not exist"))
    adapter = exchange(script)
    adapter.cancel_trigger_order("BTCUSDT", "77")
    assert body(script.sent(cancel)[0]) == {"symbol": "BTCUSDT", "order_id": "77"}
    with pytest.raises(NotFoundError, match="77"):
        adapter.cancel_trigger_order("BTCUSDT", "77")
    with pytest.raises(ValueError):
        adapter.cancel_trigger_order("BTCUSDT", "")


# --- extras and construction ------------------------------------------------------------


def test_extra_capabilities() -> None:
    script = (
        Script()
        .on(DETAILS, details())
        .on(
            "/contract/private/cancel-all-after",
            ok({"result": True, "set_time": 1704067200, "cancel_time": 1704067260}),
        )
        .on("/contract/private/cancel-orders", ok({}))
        .on("/contract/private/modify-tp-sl-order", ok({"order_id": "77"}))
        .on(
            "/contract/private/trade-fee-rate",
            ok({"symbol": "BTCUSDT", "taker_fee_rate": "0.0006", "maker_fee_rate": "0.0002"}),
        )
    )
    adapter = exchange(script)
    assert adapter.cancel_all_after("BTCUSDT", 60).cancel_time == T0 + MINUTE
    adapter.cancel_all("BTCUSDT")
    assert adapter.modify_trigger_order("BTCUSDT", "77", trigger_price=Decimal("39100")) == "77"
    assert body(script.sent("/contract/private/modify-tp-sl-order")[0]) == {
        "symbol": "BTCUSDT",
        "order_id": "77",
        "trigger_price": "39100",
        "price_type": 1,
        "category": "market",
    }
    assert adapter.fee_rates("BTCUSDT").taker_fee_rate == Decimal("0.0006")


def test_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITMART_API_KEY", API_KEY)
    monkeypatch.setenv("BITMART_SECRET_KEY", "s")
    monkeypatch.setenv("BITMART_API_MEMO", "m")
    settings = Settings(_env_file=None, bitmart_base_url="https://demo.test")
    script = Script().on("/contract/private/position-v2", ok([]))
    time = FakeTime()
    adapter = BitmartExchange.from_settings(
        settings,
        transport=script.transport(),
        limiter=InMemoryRateLimiter(clock=time.clock, sleep=time.sleep),
    )

    assert adapter.positions() == []
    [request] = script.requests
    assert str(request.url).startswith("https://demo.test/contract/private/position-v2")
    assert request.headers["X-BM-KEY"] == API_KEY
    assert API_KEY not in repr(adapter)
