"""The limit-fill watcher's decision (pure): order states read exactly, cancel at the zone's
end, fall back to a taker order only in the window, inside the zone, with a tight spread."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from providers.types import (
    OpenType,
    Order,
    OrderMode,
    OrderSide,
    OrderStatus,
    OrderType,
    TopOfBook,
)
from tradeentry.model import EntryZone
from tradeentry.watcher import FallbackRule, Polling, WatchAction, decide_watch

D = Decimal
NOW = 1_700_000_000_000
ZONE = EntryZone(D("99.00"), D("101.00"), D(100), "vwap", NOW + 120_000)
RULE = FallbackRule(True, 20, 5, True, 80)
OFF = replace(RULE, enabled=False)


def order(status: OrderStatus, filled: str = "0") -> Order:
    return Order(
        order_id="1",
        client_order_id="c",
        symbol="TESTUSDT",
        side=OrderSide.BUY_OPEN_LONG,
        type=OrderType.LIMIT,
        mode=OrderMode.GTC,
        price=D("99.50"),
        size=D(10),
        filled_size=D(filled),
        avg_fill_price=D("99.50") if filled != "0" else None,
        status=status,
        reduce_only=False,
        leverage=5,
        open_type=OpenType.ISOLATED,
        preset_take_profit=None,
        preset_stop_loss=None,
        fee=D(0),
        created_ms=NOW,
        updated_ms=NOW,
    )


def book(bid: str, ask: str, mark: str | None = None) -> TopOfBook:
    return TopOfBook("TESTUSDT", D(bid), D(ask), D(1), D(1), D(mark or bid), NOW)


OPEN = order(OrderStatus.OPEN)


@pytest.mark.parametrize(
    ("status", "filled", "action"),
    [
        (OrderStatus.FILLED, "10", WatchAction.PROTECT),
        (OrderStatus.CANCELLED, "0", WatchAction.DONE),
        (OrderStatus.CANCELLED, "4", WatchAction.DONE),
        (OrderStatus.REJECTED, "0", WatchAction.DONE),
        (OrderStatus.OPEN, "0", WatchAction.WAIT),
        (OrderStatus.PENDING, "0", WatchAction.WAIT),
        (OrderStatus.PARTIALLY_FILLED, "4", WatchAction.WAIT),
    ],
)
def test_each_order_state_is_read_as_what_it_is(
    status: OrderStatus, filled: str, action: WatchAction
) -> None:
    assert decide_watch(order(status, filled), ZONE, None, NOW, OFF, 5).action is action


def test_an_open_order_is_cancelled_when_its_zone_expires() -> None:
    assert decide_watch(OPEN, ZONE, None, ZONE.expires_ms, OFF, 5).action is WatchAction.CANCEL
    partly = decide_watch(
        order(OrderStatus.PARTIALLY_FILLED, "3"), ZONE, None, ZONE.expires_ms + 1, RULE, 5
    )
    assert partly.action is WatchAction.CANCEL and "3" in partly.detail


def test_waits_poll_seconds_and_never_sleeps_past_the_fallback_window() -> None:
    far = decide_watch(OPEN, ZONE, None, NOW, RULE, 5)
    assert far.action is WatchAction.WAIT and far.wait_s == 5
    near = decide_watch(OPEN, ZONE, None, ZONE.expires_ms - 22_000, RULE, 5)
    assert near.wait_s == pytest.approx(2.0)  # wakes at the window's start
    end = decide_watch(OPEN, ZONE, None, ZONE.expires_ms - 3_000, OFF, 5)
    assert end.wait_s == pytest.approx(3.0)  # wakes at the zone's end


def test_with_order_pushes_it_sleeps_until_the_window_not_every_poll() -> None:
    pushed = decide_watch(OPEN, ZONE, None, NOW, RULE, 5, idle_poll_seconds=60)
    assert pushed.wait_s == 60  # a safety-net look; pushes bring the others
    later = decide_watch(OPEN, ZONE, None, NOW + 60_000, RULE, 5, idle_poll_seconds=60)
    assert later.wait_s == pytest.approx(40.0)  # wakes at the window's start
    no_fallback = decide_watch(OPEN, ZONE, None, NOW, OFF, 5, idle_poll_seconds=60)
    assert no_fallback.wait_s == 60
    # inside the window the book is still watched every poll
    book_ok = book("100.00", "100.02")
    inside = decide_watch(OPEN, ZONE, book("99.0", "101.0"), ZONE.expires_ms - 15_000, RULE, 5, 60)
    assert inside.action is WatchAction.WAIT and inside.wait_s == 5
    assert decide_watch(OPEN, ZONE, book_ok, ZONE.expires_ms - 15_000, RULE, 5, 60).action is (
        WatchAction.FALLBACK
    )


def test_falls_back_in_the_window_with_a_tight_spread_inside_the_zone() -> None:
    at = ZONE.expires_ms - 10_000
    tight = book("100.00", "100.02")
    assert decide_watch(OPEN, ZONE, tight, at, RULE, 5).action is WatchAction.FALLBACK
    # Not before the window, not when disabled.
    assert decide_watch(OPEN, ZONE, tight, NOW, RULE, 5).action is WatchAction.WAIT
    assert decide_watch(OPEN, ZONE, tight, at, OFF, 5).action is WatchAction.WAIT


@pytest.mark.parametrize(
    ("quote", "why"),
    [
        (book("100.00", "100.20"), "spread"),  # 20 bps
        (book("101.50", "101.51"), "outside the zone"),
    ],
)
def test_no_fallback_when_a_condition_fails(quote: TopOfBook, why: str) -> None:
    out = decide_watch(OPEN, ZONE, quote, ZONE.expires_ms - 10_000, RULE, 5)
    assert out.action is WatchAction.WAIT and why in out.detail
    assert out.wait_s <= 5


def test_no_fallback_when_the_price_slipped_too_far_from_the_zone_middle() -> None:
    strict = replace(RULE, max_slippage_bps=30)
    out = decide_watch(OPEN, ZONE, book("100.90", "100.91"), ZONE.expires_ms - 10_000, strict, 5)
    assert out.action is WatchAction.WAIT and "bps from the zone" in out.detail


def looks_until_done(polling: Polling | float, rule: FallbackRule) -> list[tuple[int, str]]:
    """Follow a resting order that never fills: (seconds after start, action) of every look."""
    now, look, seen = NOW, 0, []
    book = TopOfBook("TESTUSDT", D("99.99"), D("100.01"), D(5), D(5), D(100), NOW)
    while True:
        d = decide_watch(order(OrderStatus.OPEN), ZONE, book, now, rule, polling, look)
        seen.append(((now - NOW) // 1000, d.action.value))
        if d.action is not WatchAction.WAIT:
            return seen
        now += int(d.wait_s * 1000)
        look += 1


def test_waits_grow_so_a_resting_entry_is_looked_at_a_few_times_not_every_poll() -> None:
    flat = looks_until_done(5, OFF)
    backed_off = looks_until_done(Polling(5, 1.5, 30), OFF)
    assert len(flat) == 25  # every 5 s over 120 s, then the cancel
    assert len(backed_off) <= 10
    assert backed_off[-1] == (120, "cancel"), "the zone's end is still met on time"


def test_the_fallback_window_is_still_polled_at_the_short_interval() -> None:
    seen = looks_until_done(Polling(5, 2, 60), RULE)
    # Waits of 5, 10, 20, 40 s, then the window opens 20 s before the end: a look lands on it.
    waits = [(0, "wait"), (5, "wait"), (15, "wait"), (35, "wait"), (75, "wait")]
    assert seen == [*waits, (100, "fallback")]


def test_polling_waits() -> None:
    p = Polling(5, 1.5, 30)
    assert [p.wait(n) for n in range(6)] == [5, 7.5, 11.25, 16.875, 25.3125, 30]
    assert Polling(5).wait(10) == 5
