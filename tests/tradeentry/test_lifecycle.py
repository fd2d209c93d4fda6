"""An entry's life: placed, followed (filled, expired or replaced by a taker order), then
protected by the TP/SL sweep, with nothing placed twice. On the paper exchange, and on the
Bitmart adapter talking to the fake Bitmart over the documented wire format."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from providers.types import (
    OrderRequest,
    OrderSide,
    OrderType,
    PositionSide,
    TriggerKind,
)
from tests.tradeentry.venue import (
    SYMBOL,
    Market,
    Venue,
    build_market,
    config,
    last_close,
    open_long,
)
from tradeentry.config import TradeEntryConfig
from tradeentry.execute import place_decision
from tradeentry.follow import follow_entry
from tradeentry.guard import ProtectiveOrders
from tradeentry.sweep import ledger_intents, sweep


@pytest.fixture(params=["paper", "bitmart"])
def market(db_url: str, request: pytest.FixtureRequest) -> Market:
    return build_market(db_url, adapter=request.param)


def enter(m: Market, cfg: TradeEntryConfig, side: str = "long") -> dict[str, Any]:
    out = place_decision(
        m.decision(dry_run=False, side=side),
        exchange=m.exchange(),
        ledger=m.ledger(),
        config=cfg,
        candles=m.candles,
        live_trading=True,
        now_ms=m.clock,
    )
    assert out["status"] == "submitted", out
    if m.fake is not None:
        assert len(m.fake.requests("/contract/private/submit-order")) == 1, "sent over the wire"
    return out


def follow(m: Market, key: str, cfg: TradeEntryConfig) -> Any:
    row = m.ledger().get(key)
    assert row is not None
    return follow_entry(row, m.exchange(), m.ledger(), cfg, m.clock)


def run_sweep(m: Market, cfg: TradeEntryConfig, venue: Any = None) -> list[Any]:
    return sweep(
        venue or m.exchange(),
        ledger_intents(m.ledger(), m.name, lambda _: cfg),
        act=True,
        orders=ProtectiveOrders(m.engine, m.name),
        now_ms=m.clock,
    ).positions


def triggers(m: Market) -> list[tuple[TriggerKind, Decimal, Decimal | None]]:
    return sorted((t.kind, t.trigger_price, t.size) for t in m.exchange().trigger_orders())


def test_a_filled_limit_is_protected_once(market: Market) -> None:
    cfg = config()
    out = enter(market, cfg)
    entry = Decimal(out["plan"]["entry_price"])
    market.extend([float(entry) * 0.9995] * 3)  # the market dips through the limit
    market.advance(1)
    result = follow(market, out["decision_key"], cfg)
    assert result.status == "filled" and result.protect
    row = market.ledger().get(out["decision_key"])
    assert row is not None and row.filled_size == Decimal(out["plan"]["size"])
    [pos] = market.exchange().positions()
    assert pos.size == Decimal(out["plan"]["size"])
    # The presets became the stop and the take profit; the sweep finds nothing to add.
    expected = [
        (TriggerKind.STOP_LOSS, Decimal(out["plan"]["stop_loss"]), None),
        (TriggerKind.TAKE_PROFIT, Decimal(out["plan"]["take_profit"]), None),
    ]
    assert triggers(market) == sorted(expected)
    [report] = run_sweep(market, cfg)
    assert report.had_stop and report.actions == []
    assert triggers(market) == sorted(expected)


def test_an_unfilled_limit_is_cancelled_when_its_zone_expires(market: Market) -> None:
    cfg = config(fallback_end_of_zone={"enabled": False})
    out = enter(market, cfg)
    market.extend([last_close(market) * 1.004] * 5)  # runs away upwards: no fill
    market.advance(1)
    assert follow(market, out["decision_key"], cfg).next_in_s == 5
    market.advance(3)  # past the 180 s zone
    result = follow(market, out["decision_key"], cfg)
    assert result.status == "expired" and not result.protect
    assert market.exchange().open_orders() == [] and market.exchange().positions() == []


def test_end_of_zone_fallback_takes_the_rest_at_market(market: Market) -> None:
    cfg = config(
        fallback_end_of_zone={
            "enabled": True,
            "seconds_before_expiry": 30,
            "max_spread_bps": 10,
            "max_slippage_bps": 500,
        }
    )
    out = enter(market, cfg)
    market.extend([last_close(market) * 1.001] * 5)  # just above the limit, inside the zone
    market.advance(2.6)  # 24 s before the end of the 180 s zone
    result = follow(market, out["decision_key"], cfg)
    assert result.status == "fallback_submitted", result
    orders = market.exchange().open_orders()
    assert orders == []  # the limit is cancelled, the taker filled at once
    result = follow(market, out["decision_key"], cfg)
    assert result.status == "filled" and result.protect
    [pos] = market.exchange().positions()
    # Sized for the limit's price, the entry shrinks at the taker's: the stop still loses no
    # more than the plan's risk, fees included, and one contract more would lose more.
    plan = out["plan"]
    stop, risk = Decimal(plan["stop_loss"]), Decimal(plan["risk_usdt"])
    contract = market.exchange().contract(SYMBOL).contract_size
    fee_rate = cfg.order.fee_reserve_pct / 100
    per_contract = (pos.entry_price - stop + pos.entry_price * fee_rate) * contract
    assert pos.entry_price > Decimal(plan["entry_price"])
    assert 0 < pos.size < Decimal(plan["size"])
    assert pos.size * per_contract <= risk < (pos.size + 1) * per_contract
    # The taker order carried the presets (the limit filled nothing).
    assert {t.kind for t in market.exchange().trigger_orders()} == {
        TriggerKind.STOP_LOSS,
        TriggerKind.TAKE_PROFIT,
    }
    # Following again changes nothing: the entry is done.
    assert follow(market, out["decision_key"], cfg).status == "filled"
    assert len(market.exchange().positions()) == 1


def test_a_market_entry_gets_its_first_target_after_the_fill(market: Market) -> None:
    cfg = config(
        order={"type": "market", "mode": "gtc"},
        take_profit={"r_multiple": 2, "two_targets": {"enabled": True, "tp1_r": 1, "split": 0.5}},
        risk={"budget_usdt": 1000, "risk_pct": 1},
    )
    out = enter(market, cfg)
    plan = out["plan"]
    assert len(plan["targets"]) == 2, plan["steps"]
    result = follow(market, out["decision_key"], cfg)
    assert result.status == "filled" and result.protect  # a market order is filled at once
    [report] = run_sweep(market, cfg)
    assert [(a["role"], a["done"]) for a in report.actions] == [("tp1", True)]
    tp1, tp2 = plan["targets"]
    assert triggers(market) == sorted(
        [
            (TriggerKind.STOP_LOSS, Decimal(plan["stop_loss"]), None),
            (TriggerKind.TAKE_PROFIT, Decimal(tp2["price"]), None),
            (TriggerKind.TAKE_PROFIT, Decimal(tp1["price"]), Decimal(tp1["size"])),
        ]
    )
    [again] = run_sweep(market, cfg)
    assert again.actions == [] and len(triggers(market)) == 3


def test_a_position_without_a_stop_is_protected_in_one_sweep(
    market: Market, caplog: pytest.LogCaptureFixture
) -> None:
    exchange = market.exchange()
    open_long(exchange, 20)
    assert market.exchange().trigger_orders() == []
    cfg = config()
    venue = Venue(market.exchange())
    [report] = run_sweep(market, cfg, venue)
    assert not report.had_stop and report.protected
    assert "UNPROTECTED" in caplog.text
    kinds = {(t.kind, t.size) for t in market.exchange().trigger_orders()}
    assert kinds == {(TriggerKind.STOP_LOSS, None), (TriggerKind.TAKE_PROFIT, None)}
    # Triggers, never plain limit orders: nothing was sent through submit_order.
    assert venue.called("submit_order") == []
    assert market.exchange().open_orders() == []
    [pos] = market.exchange().positions()
    stop = next(t for t in market.exchange().trigger_orders() if t.kind is TriggerKind.STOP_LOSS)
    # The fallback stop loses the profile's risk (0.5 USDT) or the minimum distance.
    loss = (pos.entry_price - stop.trigger_price) * pos.size * Decimal("0.1")
    assert loss <= Decimal("0.5") + pos.size * Decimal("0.1") * Decimal("0.01")
    assert stop.trigger_price < pos.entry_price


def test_a_tripped_risk_limit_never_blocks_protection(market: Market) -> None:
    cfg = config(risk={"max_concurrent_positions": 1, "daily_loss_limit_usdt": 0.01})
    exchange = market.exchange()
    exchange.submit_order(
        OrderRequest(
            symbol=SYMBOL,
            side=OrderSide.SELL_OPEN_SHORT,
            type=OrderType.MARKET,
            size=Decimal(10),
            leverage=5,
        )
    )
    # New entries are blocked (the symbol already has a position)...
    out = place_decision(
        market.decision(dry_run=False, side="short"),
        exchange=exchange,
        ledger=market.ledger(),
        config=cfg,
        candles=market.candles,
        live_trading=True,
        now_ms=market.clock,
    )
    assert out["status"] == "blocked" and out["limit"] == "already_open", out
    # ...but the sweep still protects the open one.
    [report] = run_sweep(market, cfg)
    assert report.protected and report.side == PositionSide.SHORT.value
    assert {t.kind for t in market.exchange().trigger_orders()} == {
        TriggerKind.STOP_LOSS,
        TriggerKind.TAKE_PROFIT,
    }


def test_a_follower_with_an_old_copy_of_the_entry_never_overwrites_what_another_did(
    market: Market,
) -> None:
    # The TP/SL sweep read the entry while it rested; the watcher then cancelled the limit and
    # fell back to a taker order. The sweep's look must follow the taker, not call it expired.
    cfg = config(
        fallback_end_of_zone={
            "enabled": True,
            "seconds_before_expiry": 30,
            "max_spread_bps": 10,
            "max_slippage_bps": 500,
        }
    )
    out = enter(market, cfg)
    key = out["decision_key"]
    market.extend([last_close(market) * 1.001] * 5)
    market.advance(2.6)
    read_by_the_sweep = market.ledger().get(key)
    assert read_by_the_sweep is not None and read_by_the_sweep.status == "submitted"
    assert follow(market, key, cfg).status == "fallback_submitted"  # the watcher's look
    late = follow_entry(read_by_the_sweep, market.exchange(), market.ledger(), cfg, market.clock)
    assert late.status == "filled" and late.protect, late
    row = market.ledger().get(key)
    assert row is not None and row.status == "filled"
    [pos] = market.exchange().positions()
    assert row.filled_size == pos.size


def test_an_entry_another_follower_holds_is_left_alone(market: Market) -> None:
    cfg = config(fallback_end_of_zone={"enabled": False})
    out = enter(market, cfg)
    key = out["decision_key"]
    market.extend([last_close(market) * 1.004] * 5)
    market.advance(4)  # past the zone: a look would cancel the limit
    ledger = market.ledger()
    assert ledger.hold_follow(key)  # another follower is in the middle of a look
    held = follow(market, key, cfg)
    assert held.status == "submitted" and held.next_in_s == 1.0, held
    assert len(market.exchange().open_orders()) == 1  # nothing cancelled
    assert not ledger.hold_follow(key), "a held lease is not taken twice"
    ledger.release_follow(key)
    done = follow(market, key, cfg)
    assert done.status == "expired" and market.exchange().open_orders() == []
    assert ledger.hold_follow(key), "a look lets go of the entry when it ends"
