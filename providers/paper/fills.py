"""Fill simulation over closed candles (pure).

Bars are walked once each, oldest first. Within a bar:

* Only orders and triggers that existed when the bar opened take part (`created_ms <= open`):
  nothing fills on prices traded before it was placed.
* A resting buy limit fills when the bar trades below its price (`low < price`), a sell limit
  when it trades above it (`high > price`), at the limit price, paying the maker fee.
* A stop-loss fires when the bar reaches it (long: `low <= trigger`, short: `high >= trigger`),
  a take-profit likewise (long: `high >= trigger`, short: `low <= trigger`). Both close at
  market paying the taker fee: a take-profit at its trigger price, a stop at its trigger minus
  slippage, or at the bar's open minus slippage when the bar opened beyond it (a gap).
* A bar does not tell whether its high or its low came first, so each position side is walked
  along the path that is worst for it: for longs the bar goes down to its low, then up to its
  high; for shorts up first. Along a leg, events meet in price order (highest first on the way
  down), a trigger before a limit at the same price (a touch comes before a trade-through).
  Hence a stop fires before a take-profit reached in the same bar, and an add to a long fills
  before the stop below it closes the whole position.
* A stop armed by a fill during the bar is checked on the rest of the path: the price has to
  pass the entry before it reaches the stop. A take-profit armed by a fill waits for the next
  bar, since the bar cannot tell whether its high came after the fill.
* Fills happen at the bar's close time, the first moment they are known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from providers.paper.book import Book, Costs, execute, fire
from providers.paper.quotes import Bar, slipped
from providers.types import ContractSpec, OrderType, PositionSide, TriggerKind, TriggerOrder


class Leg(Enum):
    DOWN = "down"
    UP = "up"


#: The worst path for each side: the adverse move first.
PATHS = {
    PositionSide.LONG: (Leg.DOWN, Leg.UP),
    PositionSide.SHORT: (Leg.UP, Leg.DOWN),
}


@dataclass(frozen=True)
class _Event:
    order_id: str
    price: Decimal
    is_trigger: bool
    created_ms: int


def simulate(book: Book, bars: Iterable[Bar], costs: Costs) -> Book:
    """The book after every bar, in order."""
    for bar in bars:
        book = step(book, bar, costs)
    return book


def step(book: Book, bar: Bar, costs: Costs) -> Book:
    """The book after one bar."""
    armed_before = frozenset(t.order_id for t in book.triggers)
    done: set[str] = set()
    for side in PositionSide:
        for leg in PATHS[side]:
            while True:
                event = _next_event(book, bar, side, leg, armed_before, done)
                if event is None:
                    break
                done.add(event.order_id)
                book = _apply(book, bar, event, armed_before, costs)
    return book


def trigger_leg(trigger: TriggerOrder) -> Leg:
    """The leg on which a trigger is reached: a long's stop and a short's take-profit below."""
    long = trigger.side.position_side is PositionSide.LONG
    stop = trigger.kind is TriggerKind.STOP_LOSS
    return Leg.DOWN if long == stop else Leg.UP


def stop_price(
    spec: ContractSpec, trigger: TriggerOrder, bar: Bar, costs: Costs, *, gap: bool
) -> Decimal:
    """Execution price of a stop: its trigger, or the open when `gap` and the bar opened
    beyond it, moved by slippage against the position."""
    buy = trigger.side.is_buy
    base = trigger.trigger_price
    if gap:
        base = max(base, bar.open) if buy else min(base, bar.open)
    return slipped(spec, base, buy=buy, bps=costs.slippage_bps)


def _next_event(
    book: Book,
    bar: Bar,
    side: PositionSide,
    leg: Leg,
    armed_before: frozenset[str],
    done: set[str],
) -> _Event | None:
    events: list[_Event] = []
    for working in book.orders:
        order = working.order
        if (
            order.type is OrderType.LIMIT
            and order.price is not None
            and order.side.position_side is side
            and order.created_ms <= bar.open_ms
            and order.order_id not in done
            and (Leg.DOWN if order.side.is_buy else Leg.UP) is leg
            and (bar.low < order.price if leg is Leg.DOWN else bar.high > order.price)
        ):
            events.append(_Event(order.order_id, order.price, False, order.created_ms))
    for trigger in book.triggers:
        if (
            trigger.side.position_side is side
            and trigger.order_id not in done
            and _eligible(trigger, bar, armed_before)
            and trigger_leg(trigger) is leg
            and _reached(trigger.trigger_price, bar, leg)
        ):
            events.append(_Event(trigger.order_id, trigger.trigger_price, True, trigger.created_ms))
    if not events:
        return None

    def along_path(event: _Event) -> tuple[Decimal, int, int, int, str]:
        price = -event.price if leg is Leg.DOWN else event.price
        return (
            price,
            0 if event.is_trigger else 1,
            event.created_ms,
            len(event.order_id),
            event.order_id,
        )

    return min(events, key=along_path)


def _eligible(trigger: TriggerOrder, bar: Bar, armed_before: frozenset[str]) -> bool:
    if trigger.kind not in (TriggerKind.STOP_LOSS, TriggerKind.TAKE_PROFIT):
        return False
    if trigger.order_id in armed_before:
        return trigger.created_ms <= bar.open_ms
    # Armed by a fill in this bar: only a stop can be known to be reached afterwards.
    return trigger.kind is TriggerKind.STOP_LOSS


def _reached(price: Decimal, bar: Bar, leg: Leg) -> bool:
    return bar.low <= price if leg is Leg.DOWN else bar.high >= price


def _apply(book: Book, bar: Bar, event: _Event, armed_before: frozenset[str], costs: Costs) -> Book:
    if not event.is_trigger:
        return execute(book, event.order_id, event.price, maker=True, ms=bar.close_ms, costs=costs)
    trigger = book.trigger(event.order_id)
    if trigger is None:
        return book
    if trigger.kind is TriggerKind.STOP_LOSS:
        # A stop armed during this bar was reached after the fill, not at the open.
        gap = trigger.order_id in armed_before
        price = stop_price(book.spec, trigger, bar, costs, gap=gap)
    else:
        price = trigger.trigger_price
    return fire(book, trigger.order_id, price, ms=bar.close_ms, costs=costs)
