"""Bitmart's order rules as the paper exchange applies them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from providers import order_rules as rules
from providers.port import InvalidOrderError
from providers.types import OrderMode, OrderRequest, OrderSide, OrderType, PositionSide, TriggerKind
from tests.providers.paper.factory import SPEC, D

BUY = OrderSide.BUY_OPEN_LONG


def request(**changes: object) -> OrderRequest:
    base = OrderRequest(
        symbol=SPEC.symbol, side=BUY, type=OrderType.LIMIT, size=D(5), price=D("40000")
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": D("40000.05")}, "price 40000.05 of BTCUSDT is not on the tick grid"),
        ({"size": D("2.5")}, "not a multiple of the volume step 1"),
        ({"size": D(1001)}, "above max_volume 1000"),
        ({"type": OrderType.MARKET, "price": None, "size": D(501)}, "above market_max_volume 500"),
        ({"leverage": 0}, r"leverage 0 of BTCUSDT is outside \[1, 100\]"),
        ({"type": OrderType.MARKET, "mode": OrderMode.MAKER_ONLY}, "maker-only"),
        ({"client_order_id": "café1"}, "ASCII letters or digits"),
        ({"side": OrderSide.SELL_CLOSE_LONG, "preset_stop_loss": D(1)}, "opening orders"),
        ({"preset_take_profit": D("40000.01")}, "preset take-profit .* tick grid"),
    ],
)
def test_broken_rules_are_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOrderError, match=message):
        rules.check_request(SPEC, request(**changes))


def test_size_below_minimum() -> None:
    with pytest.raises(InvalidOrderError, match="below min_volume 2"):
        rules.check_request(replace(SPEC, min_volume=D(2)), request(size=D(1)))


def test_contract_not_trading() -> None:
    with pytest.raises(InvalidOrderError, match="not trading"):
        rules.check_request(replace(SPEC, status="Delisted"), request())


def test_absurd_price_is_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidOrderError, match="tick grid"):
        rules.check_price(SPEC, Decimal("1e40"))


@pytest.mark.parametrize(
    ("side", "tp", "sl", "message"),
    [
        (BUY, "39990", None, "take-profit 39990 .* must be above the entry price 40000"),
        (BUY, None, "40000", "stop-loss 40000 .* must be below"),
        (OrderSide.SELL_OPEN_SHORT, "40100", None, "take-profit .* must be below"),
        (OrderSide.SELL_OPEN_SHORT, None, "39900", "stop-loss .* must be above"),
    ],
)
def test_presets_on_the_wrong_side(
    side: OrderSide, tp: str | None, sl: str | None, message: str
) -> None:
    asked = request(
        side=side,
        preset_take_profit=None if tp is None else D(tp),
        preset_stop_loss=None if sl is None else D(sl),
    )
    with pytest.raises(InvalidOrderError, match=message):
        rules.check_presets(SPEC, asked, D("40000"))


def test_presets_on_the_right_side() -> None:
    rules.check_presets(
        SPEC, request(preset_take_profit=D(41000), preset_stop_loss=D(39000)), D("40000")
    )


def check_trigger(
    kind: TriggerKind, side: PositionSide, price: str, *, size: str | None = None
) -> None:
    rules.check_trigger(
        SPEC,
        kind=kind,
        position_side=side,
        trigger_price=D(price),
        last_price=D("40000"),
        size=None if size is None else D(size),
        position_size=D(10),
        execution_price=None,
    )


@pytest.mark.parametrize(
    ("kind", "side", "price", "message"),
    [
        (TriggerKind.STOP_LOSS, PositionSide.LONG, "40000", "below the last price 40000"),
        (TriggerKind.TAKE_PROFIT, PositionSide.LONG, "39000", "above the last price"),
        (TriggerKind.STOP_LOSS, PositionSide.SHORT, "39000", "above the last price"),
        (TriggerKind.TAKE_PROFIT, PositionSide.SHORT, "41000", "below the last price"),
        (TriggerKind.PLAN, PositionSide.LONG, "41000", "allowed: take_profit, stop_loss"),
    ],
)
def test_trigger_rules(kind: TriggerKind, side: PositionSide, price: str, message: str) -> None:
    with pytest.raises(InvalidOrderError, match=message):
        check_trigger(kind, side, price)


def test_trigger_size_within_the_position() -> None:
    check_trigger(TriggerKind.STOP_LOSS, PositionSide.LONG, "39000", size="10")
    with pytest.raises(InvalidOrderError, match="above the position size 10"):
        check_trigger(TriggerKind.STOP_LOSS, PositionSide.LONG, "39000", size="11")
    with pytest.raises(InvalidOrderError, match="volume step"):
        check_trigger(TriggerKind.STOP_LOSS, PositionSide.LONG, "39000", size="0.5")
