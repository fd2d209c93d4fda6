"""The backtest account on prices built for each case: entries as planned, the intra-candle
rule, the two-target split, the entry lifecycle, the risk limits, determinism and purity."""

from __future__ import annotations

import builtins
import socket
from decimal import Decimal
from typing import Any

import pytest

from mtf.backtest.engine import SimResult, Trade
from providers.paper.quotes import slipped
from tests.backtest.builders import COSTS, MINUTE, config, flat, market, minutes, run, signal
from tests.helpers import T0

BPS = Decimal(2)


def only_trade(result: SimResult) -> Trade:
    assert len(result.trades) == 1, result.outcomes
    return result.trades[0]


def placed_plan(result: SimResult) -> Any:
    plans = [o.plan for o in result.outcomes if o.plan is not None]
    assert plans, result.outcomes
    return plans[0]


def test_a_market_entry_stopped_out_pays_taker_fees_both_ways() -> None:
    closes = flat()
    m = market(minutes(closes, lows={205: 97.0}))
    result = run(config(), [m], [signal(200)])
    trade, plan = only_trade(result), placed_plan(result)
    spec = m.spec
    entry = slipped(spec, m.mark(T0 + 200 * MINUTE) or Decimal(0), buy=True, bps=BPS)
    assert trade.entries[0].price == entry and trade.entries[0].ms == T0 + 200 * MINUTE
    exit_ = trade.exits[0]
    assert exit_.reason == "stop" and exit_.ms == T0 + 206 * MINUTE
    assert exit_.price == slipped(spec, plan.stop_loss, buy=False, bps=BPS)
    qty = trade.size * spec.contract_size
    fees = (entry + exit_.price) * qty * COSTS.taker_fee
    assert trade.fees == fees.quantize(Decimal("1e-8"))
    assert trade.net == ((exit_.price - entry) * qty - fees).quantize(Decimal("1e-8"))
    assert result.final_wallet == Decimal(1000) + trade.net


def test_stop_and_target_in_one_candle_take_the_stop() -> None:
    closes = flat()
    # one wide candle reaches both the stop (1 % below) and the 1.5R target (1.5 % above)
    m = market(minutes(closes, lows={203: 97.0}, highs={203: 103.0}))
    for side in ("long", "short"):
        trade = only_trade(run(config(), [m], [signal(200, side)]))
        assert trade.exit_reason == "stop" and trade.net < 0
        assert trade.exit_ms == T0 + 204 * MINUTE


def test_two_targets_split_the_position() -> None:
    closes = flat()
    two = {"two_targets": {"enabled": True, "tp1_r": 0.5, "split": 0.5}, "r_multiple": 2}
    cfg = config(take_profit=two, risk={"risk_pct": 5, "budget_usdt": 1000})
    m = market(minutes(closes, highs={210: 100.8, 220: 103.0}))
    result = run(cfg, [m], [signal(200)])
    trade, plan = only_trade(result), placed_plan(result)
    assert [f.reason for f in trade.exits] == ["tp1", "take_profit"]
    tp1, final = trade.exits
    assert tp1.price == plan.targets[0].price and final.price == plan.targets[1].price
    assert tp1.size == plan.targets[0].size and tp1.size + final.size == trade.size
    assert tp1.ms == T0 + 211 * MINUTE and final.ms == T0 + 221 * MINUTE
    assert trade.exit_reason == "tp1+take_profit" and trade.r is not None and trade.r > 1


def still(n: int = 400, from_minute: int = 198, **changes: dict[int, float]) -> Any:
    """A quiet market that stops moving at 100.00 (no wicks) from `from_minute`: a limit at
    the bid rests, the mark stays inside the entry zone."""
    closes = flat(n)
    closes[from_minute:] = [100.0] * (n - from_minute)
    highs = {i: 100.0 for i in range(from_minute + 1, n)} | changes.get("highs", {})
    lows = {i: 100.0 for i in range(from_minute + 1, n)} | changes.get("lows", {})
    return minutes(closes, highs=highs, lows=lows)


LIMIT = {"type": "limit", "mode": "maker_only"}


def test_a_limit_entry_expires_untouched_and_falls_back_at_the_zone_end() -> None:
    zone = {"ttl_seconds": 120, "w_min_pct": 0.05, "w_max_pct": 5}
    m = market(still())
    no_fallback = run(config(order=LIMIT, entry_zone=zone), [m], [signal(201)])
    assert [o.status for o in no_fallback.outcomes] == ["expired"]
    assert no_fallback.trades == []
    fallback = {"enabled": True, "seconds_before_expiry": 20, "max_spread_bps": 10}
    cfg = config(order=LIMIT, entry_zone=zone, fallback_end_of_zone=fallback)
    result = run(cfg, [m], [signal(201)])
    trade = only_trade(result)
    entry = trade.entries[0]
    assert entry.reason == "fallback" and not entry.maker
    assert entry.ms == T0 + 201 * MINUTE + 100_000, "in the zone's last 20 s"
    assert entry.price == slipped(m.spec, Decimal("100.00"), buy=True, bps=BPS)


def test_a_resting_limit_fills_as_maker_when_traded_through() -> None:
    zone = {"ttl_seconds": 300, "w_min_pct": 0.5, "w_max_pct": 5}
    m = market(still(lows={202: 98.5}))
    result = run(config(order=LIMIT, entry_zone=zone), [m], [signal(201)])
    trade, plan = only_trade(result), placed_plan(result)
    entry = trade.entries[0]
    assert entry.maker and entry.reason == "limit" and entry.price == plan.entry_price
    assert entry.ms == T0 + 203 * MINUTE
    fee = entry.price * entry.size * m.spec.contract_size * COSTS.maker_fee
    assert entry.fee == fee.quantize(Decimal("1e-8"))
    # a stop armed by the fill is checked on the rest of the candle: it reached 98.5
    assert trade.exits[0].ms == T0 + 203 * MINUTE and trade.exit_reason == "stop"


def test_signals_on_a_busy_symbol_are_left_out() -> None:
    m = market(minutes(flat()))
    result = run(config(), [m], [signal(200), signal(202), signal(260)], end_minute=300)
    assert [o.status for o in result.outcomes][:2] == ["filled", "busy"]


def test_max_concurrent_positions_and_cooldown() -> None:
    risk = {"max_concurrent_positions": 1, "cooldown_minutes": 30}
    a = market(minutes(flat(), symbol="AAAUSDT", lows={210: 97.0}))
    b = market(minutes(flat(), symbol="BBBUSDT"))
    signals = [signal(200, symbol="AAAUSDT"), signal(200, symbol="BBBUSDT")]
    signals += [signal(220, symbol="AAAUSDT"), signal(250, symbol="AAAUSDT")]
    result = run(config(risk=risk), [a, b], signals, end_minute=300)
    by = [(o.symbol, o.status, o.reason) for o in result.outcomes]
    assert by[0] == ("AAAUSDT", "filled", None)
    assert by[1] == ("BBBUSDT", "blocked", "max_concurrent_positions")
    assert by[2] == ("AAAUSDT", "blocked", "cooldown"), "stopped out at 211, 30 min cool-down"
    assert by[3][1] == "filled"


def test_the_daily_loss_cap_stops_new_entries_until_the_next_utc_day() -> None:
    risk = {"daily_loss_limit_usdt": 15, "cooldown_minutes": 0}  # a stop loses about 10
    closes = flat(1800)
    lows = {205: 97.0, 225: 97.0}
    m = market(minutes(closes, lows=lows))
    signals = [signal(200), signal(220), signal(240), signal(1441)]
    result = run(config(risk=risk), [m], signals)
    statuses = [(o.status, o.reason) for o in result.outcomes]
    assert statuses[:3] == [("filled", None), ("filled", None), ("blocked", "daily_loss_limit")]
    assert statuses[3][0] == "filled", "a new UTC day has a new baseline"


def test_the_same_inputs_give_the_same_trades() -> None:
    m = market(minutes(flat(), lows={205: 97.0}, highs={230: 103.0}))
    signals = [signal(200), signal(220, "short"), signal(240)]
    first, second = run(config(), [m], signals), run(config(), [m], signals)
    assert first.trades == second.trades and first.outcomes == second.outcomes


def test_the_simulation_touches_no_file_socket_or_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy

    m = market(minutes(flat(), lows={205: 97.0}))
    cfg = config()

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("I/O during the simulation")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(sqlalchemy, "create_engine", refuse)
    assert run(cfg, [m], [signal(200)]).trades
