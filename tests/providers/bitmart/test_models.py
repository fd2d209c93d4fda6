"""The wire models against every sample body of the endpoints the client implements, and the
field rules (ids, decimals, timestamps, empty client ids)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from providers.bitmart import endpoints as ep
from providers.bitmart import models as m
from providers.bitmart.fields import to_epoch_ms
from providers.bitmart.parsing import parse, parse_list
from providers.port import TransientError

SAMPLES = Path("/work/shared/reference/bitmart-samples")


def sample(name: str) -> Any:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"sample {path} not found (the shared reference folder is absent)")
    return json.loads(path.read_text(), parse_float=Decimal)


def data(name: str) -> Any:
    envelope = m.Envelope.model_validate(sample(name))
    assert envelope.code == 1000
    return envelope.data


def test_contract_details_of_a_delisted_symbol() -> None:
    [row] = parse(m.ContractDetails, data("contract-details.json"), ep.DETAILS).symbols
    assert row.symbol == "BTCUSDT"
    assert row.price_precision == Decimal("0.1")
    assert row.vol_precision == Decimal(1)
    assert row.contract_size == Decimal("0.001")
    assert (row.min_leverage, row.max_leverage) == (1, 100)
    assert row.status == "Delisted"
    assert row.open_timestamp == 1594080000123
    assert row.delist_time == 1745830379000  # seconds on the wire
    assert row.funding_time == 0  # absent from the documentation sample


def test_contract_details_of_trading_symbols() -> None:
    rows = parse(m.ContractDetails, data("contract-details-trading.json"), ep.DETAILS).symbols
    by_symbol = {row.symbol: row for row in rows}
    assert set(by_symbol) == {"BTCUSDT", "ETHUSDT", "DOGEUSDT"}
    doge = by_symbol["DOGEUSDT"]
    assert doge.price_precision == Decimal("0.00001")
    assert doge.contract_size == Decimal(10)
    assert doge.market_max_volume == Decimal(300000)
    assert doge.index_price == Decimal("0.16339")
    assert doge.funding_time == 1709971200000


def test_depth_levels() -> None:
    depth = parse(m.Depth, data("depth.json"), ep.DEPTH)
    assert depth.asks[0] == m.DepthLevel(
        price=Decimal("23935.4"), size=Decimal(65), cumulative=Decimal(65)
    )
    assert depth.timestamp == 1660285421287


def test_kline_rows_are_in_milliseconds() -> None:
    rows = parse_list(m.Kline, data("kline.json"), ep.KLINE)
    assert [r.timestamp for r in rows] == [1662518160000, 1662518161000]
    assert rows[0].close_price == Decimal(120)
    assert rows[0].volume == Decimal(941008)


def test_assets() -> None:
    rows = parse_list(m.Asset, data("assets-detail.json"), ep.ASSETS_DETAIL)
    assert [r.currency for r in rows] == ["USDT", "BTC", "ETH"]
    assert rows[0].available_balance == Decimal(100)


def test_position_v2_hedge_rows() -> None:
    rows = parse_list(m.PositionV2, data("position-v2-hedge.json"), ep.POSITION_V2)
    assert [r.position_side for r in rows] == ["long", "short"]
    assert rows[0].current_amount == 0
    assert rows[0].position_amount == 5
    assert rows[0].open_timestamp == 0
    assert rows[0].mark_price == Decimal("98911.62032609")


def test_position_v2_one_way_row() -> None:
    row = dict(data("position-v2-hedge.json")[0])
    row.update(position_side="both", current_amount="3", position_amount="-3")
    [parsed] = parse_list(m.PositionV2, [row], ep.POSITION_V2)
    assert parsed.position_side == "both"
    assert parsed.position_amount == -3


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        ("open-orders.json", ep.OPEN_ORDERS),
        ("order-history.json", ep.ORDER_HISTORY),
    ],
)
def test_order_lists(name: str, endpoint: ep.Endpoint) -> None:
    [row] = parse_list(m.OrderDetail, data(name), endpoint)
    assert isinstance(row.order_id, str)
    assert row.create_time > 10**12


def test_open_order_row() -> None:
    [row] = parse_list(m.OrderDetail, data("open-orders.json"), ep.OPEN_ORDERS)
    assert row.order_id == "220908185908509"
    assert row.client_order_id == "BM123"
    assert (row.state, row.side, row.type) == (4, 3, "limit")
    assert row.preset_take_profit_price == Decimal(68000)
    assert row.leverage == 0


def test_order_history_row() -> None:
    [row] = parse_list(m.OrderDetail, data("order-history.json"), ep.ORDER_HISTORY)
    assert row.client_order_id == "PLAN_3000097492004577"
    assert row.preset_take_profit_price is None  # "" on the wire
    assert row.preset_take_profit_price_type == 0
    assert row.deal_avg_price == Decimal(84802)
    assert row.update_time == 1743160485258


def test_order_detail() -> None:
    row = parse(m.OrderDetail, data("order-detail.json"), ep.ORDER)
    assert (row.order_id, row.state, row.account) == ("220906179895578", 2, "futures")
    assert row.size == row.deal_size == Decimal(1000)


def test_trades() -> None:
    [row] = parse_list(m.Trade, data("trades.json"), ep.TRADES)
    assert (row.order_id, row.trade_id) == ("220921197409432", "1141853921")
    assert row.realised_profit == Decimal("-0.00832")
    assert row.create_time == 1663663818589


def test_current_plan_orders() -> None:
    [row] = parse_list(m.PlanOrder, data("current-plan-orders.json"), ep.PLAN_ORDERS)
    assert (row.type, row.side, row.plan_category, row.price_type) == ("stop_loss", 3, 2, 1)
    assert row.trigger_price == Decimal(14277)


def test_submit_order_ids_arrive_as_numbers() -> None:
    limit = parse(m.SubmittedOrder, data("submit-order.json"), ep.SUBMIT_ORDER)
    market = parse(m.SubmittedOrder, data("submit-order-market.json"), ep.SUBMIT_ORDER)
    assert (limit.order_id, limit.price) == ("220609666322019", "25637.2")
    assert (market.order_id, market.price) == ("231116359426639", "market price")


def test_plan_and_tp_sl_refs() -> None:
    plan = parse(m.OrderRef, data("submit-plan-order.json"), ep.SUBMIT_PLAN)
    tp_sl = parse(m.OrderRef, data("submit-tp-sl-order.json"), ep.SUBMIT_TP_SL)
    assert plan.order_id == tp_sl.order_id == "220609666322019"
    assert (plan.client_order_id, tp_sl.client_order_id) == (None, "123456789")


def test_leverage_and_dead_mans_switch() -> None:
    leverage = parse(m.LeverageSet, data("submit-leverage.json"), ep.SUBMIT_LEVERAGE)
    assert (leverage.leverage, leverage.open_type) == (Decimal(5), "isolated")
    switch = parse(m.CancelAllAfter, data("cancel-all-after.json"), ep.CANCEL_ALL_AFTER)
    assert (switch.set_time, switch.cancel_time) == (1743064715000, 1743064725000)


def test_cancel_reply_is_empty() -> None:
    assert data("cancel-order.json") == {}


@pytest.mark.parametrize(
    "name",
    [
        "error-insufficient-balance.json",
        "error-order-not-found.json",
        "error-rate-limit.json",
        "error-signature.json",
    ],
)
def test_error_envelopes(name: str) -> None:
    envelope = m.Envelope.model_validate(sample(name))
    assert envelope.code != 1000
    assert envelope.message
    assert envelope.data == {}


@pytest.mark.parametrize(
    "body", [{"code": 40035, "message": "x"}, {"code": 40035, "message": "x", "data": None}]
)
def test_error_envelopes_without_data(body: dict[str, Any]) -> None:
    assert m.Envelope.model_validate(body).data is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1662518160, 1662518160000),
        ("1662518160", 1662518160000),
        (1662368173000, 1662368173000),
        ("1733979600000", 1733979600000),
        (99_999_999_999, 99_999_999_999_000),
        (100_000_000_000, 100_000_000_000),
    ],
)
def test_timestamps_in_seconds_or_milliseconds_become_milliseconds(
    value: object, expected: int
) -> None:
    assert to_epoch_ms(value) == expected


def test_client_order_id_empty_means_none() -> None:
    row = dict(data("order-detail.json"), client_order_id="")
    assert parse(m.OrderDetail, row, ep.ORDER).client_order_id is None


def test_numeric_order_id_becomes_a_string() -> None:
    row = dict(data("order-detail.json"), order_id=220906179895578)
    assert parse(m.OrderDetail, row, ep.ORDER).order_id == "220906179895578"


def test_floats_are_refused_for_decimals() -> None:
    with pytest.raises(ValidationError, match="decimal string"):
        m.Kline.model_validate(
            {
                "timestamp": 1,
                "open_price": 1.1,
                "high_price": "1",
                "low_price": "1",
                "close_price": "1",
                "volume": "1",
            }
        )


@pytest.mark.parametrize("payload", [None, {}, "nothing"])
def test_a_list_endpoint_without_a_list_is_malformed(payload: object) -> None:
    with pytest.raises(TransientError, match="get-open-orders: unexpected reply data"):
        parse_list(m.OrderDetail, payload, ep.OPEN_ORDERS)


def test_a_missing_field_names_the_field() -> None:
    row = dict(data("order-detail.json"))
    del row["size"]
    with pytest.raises(TransientError, match="size"):
        parse(m.OrderDetail, row, ep.ORDER)


def test_tick_size_must_be_a_positive_step() -> None:
    [row] = data("contract-details.json")["symbols"]
    with pytest.raises(TransientError, match="price_precision"):
        parse(m.ContractDetails, {"symbols": [dict(row, price_precision="0")]}, ep.DETAILS)
