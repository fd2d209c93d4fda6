"""The TP/SL sweep under exchange faults and cancellations, on the paper exchange and on the
Bitmart adapter over the fake Bitmart: a read failure is never reported as a missing stop nor
acted upon, a stop cancelled at the exchange is replaced by the next sweep exactly once, and a
sweep reads each symbol's book once and its contract spec from the store."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.port import Exchange, TransientError
from providers.timeframes import Timeframe
from providers.types import OrderRequest, OrderSide, OrderType, PositionSide, TriggerKind
from tests.helpers import make_candles, random_walk
from tests.providers.bitmart.fake.faults import Fault
from tests.tradeentry.venue import (
    HISTORY,
    SPEC,
    SYMBOL,
    Market,
    Venue,
    build_market,
    config,
    open_long,
)
from tradeentry.guard import PROTECTED, REPLACE_AFTER_MS, UNKNOWN, UNPROTECTED, ProtectiveOrders
from tradeentry.sweep import SweepResult, ledger_intents, sweep

OTHERS = ("OTHRUSDT", "THIRDUSDT")
POSITIONS = [
    (SYMBOL, PositionSide.LONG),
    (SYMBOL, PositionSide.SHORT),
    ("OTHRUSDT", PositionSide.LONG),
    ("OTHRUSDT", PositionSide.SHORT),
    ("THIRDUSDT", PositionSide.LONG),
    ("THIRDUSDT", PositionSide.SHORT),
]


def with_other_symbols(m: Market) -> Market:
    """Two more contracts with candles of their own, on the same exchange."""
    for i, symbol in enumerate(OTHERS):
        ContractStore(m.engine).upsert(replace(SPEC, symbol=symbol), source="import")
        walk = [round(x, 2) for x in random_walk(HISTORY + 5, seed=10 + i, vol=0.001)]
        series = make_candles(walk, Timeframe.M1, spread=0.0005)
        KlineStore(m.engine).upsert(replace(series, symbol=symbol))
    return m


@pytest.fixture(params=["paper", "bitmart"])
def market(db_url: str, request: pytest.FixtureRequest) -> Market:
    return with_other_symbols(build_market(db_url, adapter=request.param))


def open_positions(m: Market) -> Exchange:
    exchange = m.exchange()
    for symbol, side in POSITIONS:
        exchange.submit_order(
            OrderRequest(
                symbol=symbol,
                side=OrderSide.open(side),
                type=OrderType.MARKET,
                size=Decimal(10),
                leverage=5,
            )
        )
    assert len(exchange.positions()) == len(POSITIONS)
    return exchange


class BookDown(Venue):
    """The paper exchange with its book and contract reads failing."""

    def top_of_book(self, symbol: str) -> Any:
        raise TransientError(f"book of {symbol} not read: timed out")

    def contract(self, symbol: str) -> Any:
        raise TransientError(f"contract {symbol} not read: timed out")


def run_sweep(
    m: Market, now_ms: int, *, act: bool = True, venue: Exchange | None = None
) -> SweepResult:
    return sweep(
        venue or m.exchange(),
        ledger_intents(m.ledger(), m.name, lambda _: config()),
        act=act,
        orders=ProtectiveOrders(m.engine, m.name),
        now_ms=now_ms,
        spec_for=ContractStore(m.engine).find,
    )


def stops(m: Market) -> dict[tuple[str, str], list[str]]:
    """Client ids of the stops in force, per position."""
    out: dict[tuple[str, str], list[str]] = {}
    for t in m.exchange().trigger_orders():
        if t.kind is TriggerKind.STOP_LOSS:
            out.setdefault((t.symbol, t.side.position_side.value), []).append(
                t.client_order_id or ""
            )
    return out


def statuses(result: SweepResult) -> dict[tuple[str, str], str]:
    return {(r.symbol, r.side): r.status for r in result.positions}


def everyone(status: str) -> dict[tuple[str, str], str]:
    return {(s, side.value): status for s, side in POSITIONS}


def test_stops_cancelled_at_the_exchange_are_restored_by_the_next_sweep_once(
    market: Market,
) -> None:
    open_positions(market)
    t0 = market.clock
    assert statuses(run_sweep(market, t0)) == everyone(PROTECTED)
    first = stops(market)
    assert len(first) == len(POSITIONS) and all(len(ids) == 1 for ids in first.values())

    # Every stop is cancelled at the exchange.
    exchange = market.exchange()
    for t in exchange.trigger_orders():
        if t.kind is TriggerKind.STOP_LOSS:
            exchange.cancel_trigger_order(t.symbol, t.order_id)
    assert stops(market) == {}

    # The next sweep replaces every one, under a new client id.
    result = run_sweep(market, t0 + REPLACE_AFTER_MS + 1)
    assert statuses(result) == everyone(PROTECTED)
    second = stops(market)
    assert set(second) == set(first)
    for key, ids in second.items():
        assert len(ids) == 1, f"{key}: exactly one stop"
        assert ids != first[key], f"{key}: a replacement has a new client id"
    placed = [a for r in result.positions for a in r.actions if a["role"] == "stop"]
    assert len(placed) == len(POSITIONS) and all(a["done"] for a in placed)

    # Sweeping again (a redelivered sweep, or the next one) places nothing more.
    for later in (t0 + REPLACE_AFTER_MS + 1, t0 + 10 * REPLACE_AFTER_MS):
        again = run_sweep(market, later)
        assert statuses(again) == everyone(PROTECTED)
        assert [a for r in again.positions for a in r.actions] == []
        assert stops(market) == second

    # A second cancellation round: a third generation, once again.
    for t in exchange.trigger_orders():
        if t.kind is TriggerKind.STOP_LOSS:
            exchange.cancel_trigger_order(t.symbol, t.order_id)
    assert statuses(run_sweep(market, t0 + 20 * REPLACE_AFTER_MS)) == everyone(PROTECTED)
    third = stops(market)
    assert all(len(ids) == 1 and ids not in (first[k], second[k]) for k, ids in third.items())


def test_a_stop_cancelled_right_after_it_was_placed_is_never_doubled(market: Market) -> None:
    """Within the grace period the same generation is asked for again: the paper exchange says
    that order was cancelled (replaced at once); Bitmart no longer lists it, which may also mean
    not listed yet, so the protection is `unknown` and the next sweep replaces it."""
    open_positions(market)
    t0 = market.clock
    run_sweep(market, t0)
    exchange = market.exchange()
    for t in exchange.trigger_orders():
        if t.kind is TriggerKind.STOP_LOSS:
            exchange.cancel_trigger_order(t.symbol, t.order_id)
    soon = run_sweep(market, t0 + 1_000)
    if market.name == "paper":
        assert statuses(soon) == everyone(PROTECTED)
        assert all(len(ids) == 1 for ids in stops(market).values())
        assert len(stops(market)) == len(POSITIONS)
    else:
        assert statuses(soon) == everyone(UNKNOWN)
        assert stops(market) == {}
        assert all("no longer lists" in (r.uncertain or "") for r in soon.positions)
    later = run_sweep(market, t0 + REPLACE_AFTER_MS + 1)
    assert statuses(later) == everyone(PROTECTED)
    assert len(stops(market)) == len(POSITIONS)
    assert all(len(ids) == 1 for ids in stops(market).values())


def test_a_placement_whose_answer_was_lost_is_not_placed_twice(db_url: str) -> None:
    m = build_market(db_url, adapter="bitmart")
    assert m.fake is not None
    exchange = m.exchange()
    open_long(exchange, 10)
    # The exchange takes the stop but its answer never comes back; the adapter's retry is
    # refused as a duplicate and adopts the order.
    m.fake.faults.add(
        Fault.timeout(executed=True), path="/contract/private/submit-tp-sl-order", times=1
    )
    [report] = run_sweep(m, m.clock).positions
    assert report.status == PROTECTED
    assert len(stops(m)) == 1 and len(next(iter(stops(m).values()))) == 1
    # A redelivered sweep (same time) finds it and sends nothing.
    sent = len(m.fake.requests("/contract/private/submit-tp-sl-order"))
    [again] = run_sweep(m, m.clock).positions
    assert again.status == PROTECTED and again.actions == []
    assert len(m.fake.requests("/contract/private/submit-tp-sl-order")) == sent


def test_book_and_contract_read_failures_are_never_reported_as_missing_stops(
    market: Market,
) -> None:
    open_positions(market)
    run_sweep(market, market.clock)  # everyone gets a stop
    protected = stops(market)
    if market.fake is not None:
        # Every depth and contract-details read fails, retries included.
        market.fake.faults.add(Fault.server_error(503), path="/contract/public/depth", times=500)
        market.fake.faults.add(Fault.server_error(503), path="/contract/public/details", times=500)
    venue = BookDown(market.exchange()) if market.fake is None else None
    result = run_sweep(market, market.clock + REPLACE_AFTER_MS + 1, venue=venue)
    assert statuses(result) == everyone(PROTECTED), [r.error for r in result.positions]
    assert all(r.error for r in result.positions), "the read failure is reported"
    assert all(not any(a.get("done") for a in r.actions) for r in result.positions)
    if market.fake is not None:
        market.fake.faults.clear()
    assert stops(market) == protected, "nothing was sent"


def test_an_unreadable_trigger_list_makes_protection_unknown_and_sends_nothing(
    db_url: str,
) -> None:
    m = build_market(db_url, adapter="bitmart")
    assert m.fake is not None
    exchange = m.exchange()
    open_long(exchange, 10)
    m.fake.faults.add(
        Fault.server_error(502), path="/contract/private/current-plan-order", times=500
    )
    result = run_sweep(m, m.clock)
    m.fake.faults.clear()
    assert result.error is not None and "trigger orders not read" in result.error
    assert statuses(result) == {(SYMBOL, "long"): UNKNOWN}
    assert m.fake.requests("/contract/private/submit-tp-sl-order") == []
    # Readable again: the next sweep protects it.
    assert statuses(run_sweep(m, m.clock)) == {(SYMBOL, "long"): PROTECTED}


def test_an_unprotected_position_is_reported_when_the_live_switch_is_off(market: Market) -> None:
    open_positions(market)
    result = run_sweep(market, market.clock, act=False)
    assert statuses(result) == everyone(UNPROTECTED)
    assert stops(market) == {}


def test_a_sweep_reads_each_book_once_and_specs_from_the_store(db_url: str) -> None:
    m = with_other_symbols(build_market(db_url, adapter="bitmart"))
    assert m.fake is not None
    open_positions(m)
    run_sweep(m, m.clock)  # protects everyone
    before = len(m.fake.requests())
    result = run_sweep(m, m.clock)
    assert statuses(result) == everyone(PROTECTED)
    seen = m.fake.requests()[before:]
    paths = [s.path for s in seen]
    symbols = len({s for s, _ in POSITIONS})
    print(
        f"sweep of {len(POSITIONS)} protected positions on {symbols} symbols: "
        f"{len(seen)} requests ({', '.join(sorted(set(paths)))})"
    )
    assert paths.count("/contract/public/depth") == symbols
    # Contract details are read only for the book's mark price, once per symbol.
    assert paths.count("/contract/public/details") == symbols
    assert len(seen) == 2 + 2 * symbols  # positions, trigger orders, then per symbol


def test_partial_stops_stay_while_their_whole_replacement_is_not_in_force(db_url: str) -> None:
    """Places first, cancels after: when the whole-size stop's placement cannot be confirmed
    (Bitmart no longer lists that generation), the partial stops are kept, never cancelled
    under a bare position."""
    m = build_market(db_url, adapter="bitmart")
    exchange = m.exchange()
    open_long(exchange, 10)
    t0 = m.clock
    run_sweep(m, t0)
    [whole] = [t for t in exchange.trigger_orders() if t.kind is TriggerKind.STOP_LOSS]
    exchange.cancel_trigger_order(SYMBOL, whole.order_id)
    partial = exchange.submit_trigger_order(
        SYMBOL,
        kind=TriggerKind.STOP_LOSS,
        position_side=PositionSide.LONG,
        trigger_price=whole.trigger_price,
        size=Decimal(5),
    )
    [report] = run_sweep(m, t0 + 1_000).positions
    assert report.status == UNKNOWN, report.to_dict()
    left = [t for t in exchange.trigger_orders() if t.kind is TriggerKind.STOP_LOSS]
    assert [t.order_id for t in left] == [partial.order_id], "the partial stop is kept"
    # The next sweep replaces the whole stop, then cancels the partial one.
    [later] = run_sweep(m, t0 + REPLACE_AFTER_MS + 1).positions
    assert later.status == PROTECTED
    [now] = [t for t in exchange.trigger_orders() if t.kind is TriggerKind.STOP_LOSS]
    assert now.size is None or now.size >= Decimal(10)
