"""Account sync at the start of a cycle, and the open-state filter built on it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from infra.db import engine_session
from infra.models import ExchangeOrderRow, PositionRow
from mtf.account import AccountSnapshot, read_account, store_account
from providers.port import ExchangeError
from providers.types import OrderRequest, OrderSide, OrderType


def test_cycle_excludes_busy_symbols_and_stores_them(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    from mtf.tasks.cycle import run_cycle

    svc = make_services(db_url, synthetic_symbols=3)
    first = run_cycle.apply(kwargs={"process_tp_sl": False}).result
    as_of = svc.runs.get(first["run_id"]).as_of
    clock_ms = int(as_of.timestamp() * 1000)
    exchange = svc.exchange("paper", clock=lambda: clock_ms)
    exchange.set_leverage(
        "BTCUSDT",
        5,
        exchange.contract("BTCUSDT")
        and __import__("providers.types", fromlist=["OpenType"]).OpenType.ISOLATED,
    )
    book = exchange.top_of_book("BTCUSDT")
    exchange.submit_order(
        OrderRequest(
            symbol="BTCUSDT",
            side=OrderSide.BUY_OPEN_LONG,
            type=OrderType.MARKET,
            size=Decimal(1),
            leverage=5,
        )
    )
    eth = exchange.top_of_book("ETHUSDT")
    far_below = exchange.contract("ETHUSDT").round_price(eth.bid * Decimal("0.9"), up=False)
    exchange.submit_order(
        OrderRequest(
            symbol="ETHUSDT",
            side=OrderSide.BUY_OPEN_LONG,
            type=OrderType.LIMIT,
            size=Decimal(1),
            price=far_below,
            leverage=5,
        )
    )
    assert book.bid > 0
    second = run_cycle.apply(kwargs={"as_of": as_of.isoformat(), "process_tp_sl": False}).result
    response = svc.runs.get(second["run_id"]).response
    assert response["excluded"] == {"BTCUSDT": "open position", "ETHUSDT": "open order"}
    assert set(response["symbols"]) == {"SOLUSDT"}
    with engine_session(svc.engine) as s:
        positions = s.scalars(select(PositionRow)).all()
        orders = s.scalars(select(ExchangeOrderRow)).all()
    assert [(p.symbol, p.side, p.status) for p in positions] == [("BTCUSDT", "long", "OPEN")]
    assert [o.symbol for o in orders] == ["ETHUSDT"]
    kept = run_cycle.apply(
        kwargs={"as_of": as_of.isoformat(), "process_tp_sl": False, "skip_open_state_filter": True}
    ).result
    assert set(svc.runs.get(kept["run_id"]).response["symbols"]) == {
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
    }


def test_closed_positions_are_marked(db_url: str, make_services: Any) -> None:
    svc = make_services(db_url, synthetic_symbols=1)
    store_account(svc.engine, "paper", AccountSnapshot([], []))
    with engine_session(svc.engine) as s:
        s.add(
            PositionRow(
                exchange="paper",
                symbol="XUSDT",
                side="long",
                status="OPEN",
                size=Decimal(1),
                entry_price=Decimal(1),
                mark_price=Decimal(1),
                leverage=1,
                unrealized_pnl=Decimal(0),
                margin=Decimal(1),
                opened_ms=0,
            )
        )
    store_account(svc.engine, "paper", AccountSnapshot([], []))
    with engine_session(svc.engine) as s:
        assert s.get(PositionRow, ("paper", "XUSDT", "long")).status == "CLOSED"


class Unreadable:
    name = "paper"

    def positions(self) -> list[Any]:
        raise ExchangeError("positions endpoint down")

    def open_orders(self) -> list[Any]:
        return []


def test_unreadable_exchange_blocks_orders_instead_of_assuming_none(
    db_url: str, make_services: Any, eager_app: Any, monkeypatch: Any
) -> None:
    from mtf.tasks.cycle import run_cycle

    svc = make_services(db_url, synthetic_symbols=2)
    try:
        read_account(Unreadable())  # type: ignore[arg-type]
        raise AssertionError("a read failure must raise")
    except ExchangeError:
        pass
    monkeypatch.setattr(type(svc), "exchange", lambda self, name, clock=None: Unreadable())
    started = run_cycle.apply(kwargs={"process_tp_sl": False}).result
    response = svc.runs.get(started["run_id"]).response
    assert response["orders"]["count"] == 0
    assert any("cannot read open positions" in (e["error"] or "") for e in response["errors"])
    assert response["status"] == "partial_success"
