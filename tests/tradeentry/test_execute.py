"""Placing decisions: claimed once, planned with the profile, risk-checked, simulated in
dry-run, sent with preset TP/SL only when allowed."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.db import engine_session
from infra.models import PositionRow
from providers.port import DuplicateOrderError
from providers.types import Balance, OpenType, OrderStatus, Position, PositionSide
from tests.tradeentry.venue import SYMBOL, Market, Venue, build_market, config
from tradeentry.config import TradeEntryConfig
from tradeentry.execute import place_decision, record_error
from tradeentry.ids import client_order_id
from tradeentry.ledger import Decision, InvalidDecision


@pytest.fixture
def market(db_url: str) -> Market:
    return build_market(db_url)


def place(
    m: Market,
    d: Decision,
    venue: Any = None,
    cfg: TradeEntryConfig | None = None,
    *,
    live: bool = False,
) -> dict[str, Any]:
    return place_decision(
        d,
        exchange=venue or m.exchange(),
        ledger=m.ledger(),
        config=cfg or config(),
        candles=m.candles,
        live_trading=live,
        now_ms=m.clock,
    )


def test_client_order_id_is_derived_and_valid() -> None:
    cid = client_order_id("BTCUSDT:1m:1690000000000")
    assert cid == client_order_id("BTCUSDT:1m:1690000000000")
    assert cid != client_order_id("BTCUSDT:1m:1690000060000")
    assert len(cid) == 32 and cid.isalnum() and cid.isascii()


def test_dry_run_records_the_full_plan_and_sends_nothing(market: Market) -> None:
    venue = Venue(market.exchange())
    out = place(market, market.decision(dry_run=True), venue)
    assert out["status"] == "simulated"
    row = market.ledger().get(out["decision_key"])
    assert row is not None and row.status == "simulated"
    for key in (
        "entry_price",
        "stop_loss",
        "take_profit",
        "targets",
        "size",
        "leverage",
        "zone",
        "steps",
        "risk_usdt",
        "loss_at_stop_usdt",
    ):
        assert row.plan[key], key
    # Risk is 0.5 % of the 100 USDT budget: 0.5 USDT, never 50 %.
    assert Decimal(row.plan["risk_usdt"]) == Decimal("0.5")
    assert Decimal(row.plan["loss_at_stop_usdt"]) <= Decimal("0.5")
    sent = {m for m, _, _ in venue.calls} & {"submit_order", "set_leverage", "cancel_all_after"}
    assert sent == set()
    assert market.exchange().open_orders() == []


def test_live_paper_entry_carries_the_plan_stop_and_target_as_presets(market: Market) -> None:
    venue = Venue(market.exchange())
    out = place(market, market.decision(dry_run=False), venue)
    assert out["status"] == "submitted", out
    plan = out["plan"]
    [(args, _)] = venue.called("set_leverage")
    assert args == (SYMBOL, plan["leverage"], OpenType.ISOLATED)
    [order] = market.exchange().open_orders()
    assert order.client_order_id == client_order_id(out["decision_key"])
    assert order.price == Decimal(plan["entry_price"]) and order.size == Decimal(plan["size"])
    assert order.preset_stop_loss == Decimal(plan["stop_loss"])
    assert order.preset_take_profit == Decimal(plan["take_profit"])
    assert order.status is OrderStatus.OPEN


def test_redelivery_places_nothing_twice(market: Market) -> None:
    d = market.decision(dry_run=False)
    first = place(market, d)
    again = place(market, d)
    assert first["status"] == "submitted" and again["duplicate"] is True
    assert again["exchange_order_id"] == first["exchange_order_id"]
    assert len(market.exchange().open_orders()) == 1


def test_a_crash_after_sending_is_found_by_the_retry(market: Market) -> None:
    """The row is claimed but the task died after sending: the retry must not send again."""
    d = market.decision(dry_run=False)
    place(market, d)
    market.ledger().update(d.decision_key, status="claimed")  # the ledger update was lost
    venue = Venue(market.exchange())
    retry = place(market, d, venue)
    assert retry["status"] == "submitted"
    assert venue.called("submit_order") == [] and venue.called("set_leverage") == []
    assert len(market.exchange().open_orders()) == 1


def test_a_live_decision_takes_over_its_dry_run_rehearsal(market: Market) -> None:
    """Dry-running a candle first must not use up its decision key: the live run sends."""
    rehearsal = place(market, market.decision(dry_run=True))
    assert rehearsal["status"] == "simulated"
    live = place(market, market.decision(dry_run=False))
    assert live["status"] == "submitted" and not live.get("duplicate"), live
    row = market.ledger().get(live["decision_key"])
    assert row is not None and row.status == "submitted" and not row.dry_run
    assert len(market.exchange().open_orders()) == 1
    # ...and only once: a redelivery of the live decision, or another rehearsal, sends nothing
    assert place(market, market.decision(dry_run=False))["duplicate"] is True
    assert place(market, market.decision(dry_run=True))["duplicate"] is True
    assert len(market.exchange().open_orders()) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision_key": None}, "decision_key must be a string"),
        ({"dry_run": "false"}, "dry_run must be a boolean, got 'false'"),
        ({"candle_open_ms": True}, "candle_open_ms must be an integer"),
        ({"side": "up"}, "side must be long or short"),
        ({"candle_open_ms": 1}, "does not match symbol:timeframe:candle_open_ms"),
        ({"bogus": 1}, "unknown field 'bogus'"),
    ],
)
def test_a_malformed_decision_is_refused_with_what_is_wrong(
    market: Market, change: dict[str, Any], message: str
) -> None:
    data = {**market.decision(dry_run=True).to_dict(), **change}
    with pytest.raises(InvalidDecision, match=re.escape(message)):
        Decision.from_dict(data)
    with pytest.raises(InvalidDecision, match="missing symbol; missing side"):
        Decision.from_dict({k: v for k, v in data.items() if k not in ("symbol", "side")})
    with pytest.raises(InvalidDecision, match="a decision is a mapping"):
        Decision.from_dict(["BTCUSDT"])


class RacedVenue(Venue):
    """A concurrent delivery sends the same client order id between our lookup and our send:
    the exchange refuses ours as a duplicate."""

    def submit_order(self, request: Any) -> Any:
        self.inner.submit_order(request)  # the other delivery's order
        raise DuplicateOrderError(f"client order id {request.client_order_id} already used")


def test_a_duplicate_refusal_adopts_the_order_already_there(market: Market) -> None:
    d = market.decision(dry_run=False)
    out = place(market, d, RacedVenue(market.exchange()))
    assert out["status"] == "submitted", out
    [order] = market.exchange().open_orders()
    assert order.client_order_id == client_order_id(d.decision_key)
    row = market.ledger().get(d.decision_key)
    assert row is not None and row.status == "submitted"
    assert row.exchange_order_id == order.order_id


def test_concurrent_deliveries_claim_once(market: Market) -> None:
    """Simultaneous deliveries of one decision (on PostgreSQL, real races between
    connections): exactly one claims it, the others get the row, none fails."""
    ledger = market.ledger()
    base = market.decision(dry_run=True)
    threads_per_round, rounds = 8, 12
    for n in range(rounds):
        key = f"{base.decision_key}:{n}"
        d = replace(base, decision_key=key)
        barrier = threading.Barrier(threads_per_round)
        created: list[bool] = []
        failures: list[BaseException] = []

        def claim(
            d: Decision,
            barrier: threading.Barrier,
            created: list[bool],
            failures: list[BaseException],
        ) -> None:
            barrier.wait()
            try:
                created.append(ledger.claim(d, client_order_id(d.decision_key))[1])
            except BaseException as exc:  # reported below, with the round
                failures.append(exc)

        threads = [
            threading.Thread(target=claim, args=(d, barrier, created, failures))
            for _ in range(threads_per_round)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == [], (n, failures[:1])
        assert created.count(True) == 1 and len(created) == threads_per_round


class RealExchange(Venue):
    """A real exchange as far as the gate is concerned: reads work, sending fails the test."""

    def submit_order(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("submit_order must not be called without the live switch")

    def set_leverage(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("set_leverage must not be called without the live switch")


def test_real_exchange_needs_the_live_switch(market: Market) -> None:
    venue = RealExchange(market.exchange(), name="bitmart")
    out = place(market, market.decision(dry_run=False, exchange="bitmart"), venue)
    assert out["status"] == "blocked" and "MTF_LIVE_TRADING" in out["detail"]
    row = market.ledger().get(out["decision_key"])
    assert row is not None and row.status == "blocked" and row.plan["entry_price"]


def test_dead_man_switch_is_not_armed_unless_configured(market: Market) -> None:
    armed: list[tuple[str, int]] = []

    class WithSwitch(Venue):
        def cancel_all_after(self, symbol: str, seconds: int) -> None:
            armed.append((symbol, seconds))

    first = place(market, market.decision(dry_run=False), WithSwitch(market.exchange()))
    assert first["status"] == "submitted" and armed == []
    market.ledger().update(first["decision_key"], status="expired")
    d = replace(market.decision(dry_run=False, side="short"), decision_key="other")
    out = place(market, d, WithSwitch(market.exchange()), config(dead_man_switch_seconds=600))
    assert out["status"] == "submitted", out
    assert armed == [(SYMBOL, 600)]


def position(symbol: str) -> Position:
    return Position(
        symbol=symbol,
        side=PositionSide.LONG,
        size=Decimal(1),
        entry_price=Decimal(1),
        mark_price=Decimal(1),
        leverage=2,
        open_type=OpenType.ISOLATED,
        margin=Decimal(1),
        unrealized_pnl=Decimal(0),
        realized_pnl=Decimal(0),
        liquidation_price=None,
        opened_ms=0,
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_max_concurrent_positions_blocks_new_entries(market: Market, dry_run: bool) -> None:
    venue = Venue(market.exchange())
    venue.positions_override = [position("AUSDT"), position("BUSDT")]
    cfg = config(risk={"max_concurrent_positions": 2})
    out = place(market, market.decision(dry_run=dry_run), venue, cfg)
    assert out["status"] == "blocked" and out["limit"] == "max_concurrent_positions"
    assert venue.called("submit_order") == []
    venue.positions_override = [position("AUSDT")]
    d = replace(market.decision(dry_run=dry_run), decision_key="second")
    assert place(market, d, venue, cfg)["status"] in ("simulated", "submitted")


def test_a_symbol_with_a_position_is_not_entered_again(market: Market) -> None:
    venue = Venue(market.exchange())
    venue.positions_override = [position(SYMBOL)]
    out = place(market, market.decision(dry_run=False), venue)
    assert out["status"] == "blocked" and out["limit"] == "already_open"


def _balance(equity: str, unrealized: str = "0") -> Balance:
    return Balance(
        "USDT", Decimal(equity), Decimal(equity), Decimal(0), Decimal(0), Decimal(unrealized)
    )


@pytest.mark.parametrize("count_unrealized", [True, False])
def test_daily_loss_cap_blocks_once_the_day_lost_enough(
    market: Market, count_unrealized: bool
) -> None:
    venue = Venue(market.exchange())
    cfg = config(risk={"daily_loss_limit_usdt": 5, "daily_loss_count_unrealized": count_unrealized})
    venue.balance_override = _balance("1000")
    first = place(market, market.decision(dry_run=True), venue, cfg)  # records the baseline
    assert first["status"] == "simulated"
    # 4 realized + 3 unrealized: over the cap only when the unrealized loss counts.
    venue.balance_override = _balance("993", unrealized="-3")
    d = replace(market.decision(dry_run=True), decision_key="later")
    out = place(market, d, venue, cfg)
    if count_unrealized:
        assert out["status"] == "blocked" and out["limit"] == "daily_loss_limit"
    else:
        assert out["status"] == "simulated"


def test_cooldown_after_an_exit(market: Market) -> None:
    now = datetime.fromtimestamp(market.clock / 1000, UTC)
    with engine_session(market.engine) as s:
        s.add(
            PositionRow(
                exchange="paper",
                symbol=SYMBOL,
                side="long",
                status="CLOSED",
                size=Decimal(0),
                entry_price=Decimal(100),
                mark_price=Decimal(100),
                leverage=2,
                unrealized_pnl=Decimal(0),
                margin=Decimal(0),
                opened_ms=0,
                synced_at=now - timedelta(minutes=5),
            )
        )
        s.commit()
    out = place(market, market.decision(dry_run=True), cfg=config(risk={"cooldown_minutes": 15}))
    assert out["status"] == "blocked" and out["limit"] == "cooldown"
    d = replace(market.decision(dry_run=True), decision_key="after")
    assert place(market, d, cfg=config(risk={"cooldown_minutes": 4}))["status"] == "simulated"


def test_a_skip_is_recorded_with_its_reason(market: Market) -> None:
    cfg = config(order={"allowed_timeframes": ["5m"]})
    out = place(market, market.decision(dry_run=True), cfg=cfg)
    assert out["status"] == "skipped" and out["reason"] == "timeframe_not_allowed"
    row = market.ledger().get(out["decision_key"])
    assert row is not None and row.status == "skipped" and "1m" in (row.detail or "")


def test_an_unusable_profile_is_recorded_as_an_error(market: Market) -> None:
    d = market.decision(dry_run=False)
    out = record_error(d, market.ledger(), "trade-entry profile 'x': no such profile")
    assert out["status"] == "error"
    row = market.ledger().get(d.decision_key)
    assert row is not None and row.status == "error" and "no such profile" in (row.detail or "")
