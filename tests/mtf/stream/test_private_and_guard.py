"""The private stream against the fake Bitmart (login as documented, again after a reconnect;
pushes waking the watcher and the TP/SL sweep; REST reconciliation), the dead-man switch
heartbeat and the position-mode check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mtf.stream import StatusStore, private_stream_live
from mtf.stream.guard import DeadManSwitch, check_position_mode, position_mode_error
from providers.types import OpenType, OrderRequest, OrderSide, OrderType
from tests.mtf.stream.conftest import START_MS, Rig, wait_for
from tradeentry.ledger import Decision

pytestmark = pytest.mark.services


def resting_entry(rig: Rig, key: str = "BTCUSDT:1m:1690891140000", dry_run: bool = False) -> Any:
    """A live entry in the ledger (as `place_order` leaves it) and its limit order resting at
    the exchange, well below the market."""
    ledger = rig.svc.ledger
    decision = Decision(
        key,
        "run",
        "scalper_micro",
        "BTCUSDT",
        "long",
        "1m",
        1690891140000,
        "bitmart",
        dry_run,
        START_MS,
    )
    cid = "mtf" + key.replace(":", "")[-20:]
    ledger.claim(decision, cid)
    ledger.update(key, status="submitted", plan={})
    venue = rig.svc._bitmart_exchange
    venue.set_leverage("BTCUSDT", 5, OpenType.ISOLATED)
    mark = rig.fake.venue.mark("BTCUSDT")
    order = venue.submit_order(
        OrderRequest(
            "BTCUSDT",
            OrderSide.BUY_OPEN_LONG,
            OrderType.LIMIT,
            Decimal(1),
            price=(mark * Decimal("0.9")).quantize(Decimal("0.1")),
            client_order_id=cid,
            leverage=5,
        )
    )
    return order, cid


def test_pushes_wake_the_watcher_and_the_sweep_and_login_is_renewed(rig: Rig) -> None:
    running = rig.service()
    private = wait_for(lambda: running.service.private_stream, what="private stream")
    wait_for(lambda: private.conn.connected, what="logged in")
    wait_for(lambda: private_stream_live(rig.svc.engine, rig.fake.now()), what="reported live")
    assert rig.ws.logins == 1
    # reconciliation by REST runs at once after the login
    wait_for(
        lambda: ("mtf.recalc_tpsl", {"exchange": "bitmart"}, "tpsl") in rig.dispatched,
        what="the reconciling sweep",
    )

    _order, cid = resting_entry(rig)
    watch = (
        "mtf.watch_order",
        {"decision_key": "BTCUSDT:1m:1690891140000", "follow_up": False},
        "orders",
    )
    wait_for(lambda: watch in rig.dispatched, what="the watcher woken by the submit push")
    rig.dispatched.clear()
    rig.svc._bitmart_exchange.cancel_order("BTCUSDT", client_order_id=cid)
    wait_for(lambda: watch in rig.dispatched, what="the watcher woken by the cancel push")

    # a position opened (market order, no ledger entry) triggers the sweep of its symbol
    rig.svc._bitmart_exchange.submit_order(
        OrderRequest("ETHUSDT", OrderSide.BUY_OPEN_LONG, OrderType.MARKET, Decimal(1), leverage=5)
    )
    sweep = ("mtf.recalc_tpsl", {"exchange": "bitmart", "symbol": "ETHUSDT"}, "tpsl")
    wait_for(lambda: sweep in rig.dispatched, what="the sweep of the new position")

    # a dropped private connection logs in again (a fresh signature) and resubscribes
    rig.dispatched.clear()
    rig.ws.drop(private=True)
    wait_for(lambda: rig.ws.logins == 2, what="second login")
    wait_for(lambda: private.conn.connected, what="back")
    wait_for(
        lambda: ("mtf.recalc_tpsl", {"exchange": "bitmart"}, "tpsl") in rig.dispatched,
        what="reconciliation after the reconnect",
    )


def test_a_refused_login_is_reported_without_secrets(rig: Rig) -> None:
    rig.ws.refuse_logins = True
    running = rig.service()
    private = wait_for(lambda: running.service.private_stream, what="private stream")
    wait_for(lambda: private.conn.last_error, what="login refused")
    assert "login refused" in private.conn.last_error
    assert rig.svc.settings.bitmart_secret_key.get_secret_value() not in private.conn.last_error
    status = wait_for(lambda: StatusStore(rig.svc.engine).get("private"), what="status")
    assert not status.connected


def test_dead_man_switch_refreshes_resting_live_entries_then_disarms(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rig.svc.settings, "live_trading", True)
    guard = DeadManSwitch(rig.svc.ledger, rig.svc.settings, lambda: rig.svc._bitmart_exchange)
    monkeypatch.setattr(guard, "seconds_for", lambda profile: 300)
    resting_entry(rig)
    resting_entry(rig, key="ETHUSDT:1m:1690891140000", dry_run=True)  # a dry run: never armed
    report = guard.beat()
    assert report["armed"] == {"BTCUSDT": 300}
    deadline = rig.fake.venue.deadlines["BTCUSDT"]
    assert deadline == rig.fake.now() + 300_000
    rig.fake.advance(100_000)
    guard.beat()
    assert rig.fake.venue.deadlines["BTCUSDT"] == rig.fake.now() + 300_000, "pushed out"
    # the engine stops refreshing: the exchange cancels the entry at the deadline
    rig.fake.advance(300_001)
    assert [e.symbol for e in rig.fake.expired] == ["BTCUSDT"]
    assert not rig.svc._bitmart_exchange.open_orders("BTCUSDT")
    # the entry is done: the switch is disarmed, nothing is left to cancel later
    rig.svc.ledger.update("BTCUSDT:1m:1690891140000", status="cancelled")
    report = guard.beat()
    assert report["disarmed"] == ["BTCUSDT"] and "BTCUSDT" not in rig.fake.venue.deadlines
    monkeypatch.setattr(rig.svc.settings, "live_trading", False)
    assert guard.beat()["armed"] == {}


def test_a_position_mode_mismatch_refuses_new_entries(rig: Rig) -> None:
    venue = rig.svc._bitmart_exchange
    assert position_mode_error(venue, "hedge_mode") is None
    error = position_mode_error(venue, "one_way_mode")
    assert error is not None and "MTF_POSITION_MODE=one_way_mode" in error
    assert "hedge_mode" in error and "\n" not in error
    assert check_position_mode(venue, "one_way_mode") == error
