"""What happens to a new order the moment it reaches the paper exchange (pure).

* Market orders fill at once at the last price moved by slippage, as taker.
* A limit that crosses the book (buy at or above the ask, sell at or below the bid) fills at
  once at the touch as taker, unless it is maker-only: Bitmart cancels a post-only order that
  would take, and the paper exchange reports it REJECTED (finished, nothing filled).
* A limit that does not cross rests OPEN (GTC, maker-only); IOC and FOK are CANCELLED unfilled.
  Fills are all-or-nothing, so IOC and FOK behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from providers.paper import ledger
from providers.paper.book import Book, Costs, Working, execute, finish, place
from providers.paper.quotes import slipped
from providers.types import ContractSpec, Order, OrderMode, OrderType, TopOfBook


class Action(StrEnum):
    FILL = "fill"
    REST = "rest"
    REJECT = "reject"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Outcome:
    """The fate of a new order; `price` is its fill price, or its limit price otherwise."""

    action: Action
    price: Decimal
    maker: bool


def decide(
    spec: ContractSpec, order: Order, quote: TopOfBook, last: Decimal, costs: Costs
) -> Outcome:
    """Fill, rest, reject or cancel a new order against the current quote and last price."""
    buy = order.side.is_buy
    if order.type is OrderType.MARKET:
        return Outcome(Action.FILL, slipped(spec, last, buy=buy, bps=costs.slippage_bps), False)
    if order.price is None:
        raise ValueError(f"limit order {order.order_id} of {order.symbol} has no price")
    crosses = order.price >= quote.ask if buy else order.price <= quote.bid
    if crosses:
        if order.mode is OrderMode.MAKER_ONLY:
            return Outcome(Action.REJECT, order.price, True)
        return Outcome(Action.FILL, quote.ask if buy else quote.bid, False)
    if order.mode in (OrderMode.IOC, OrderMode.FOK):
        return Outcome(Action.CANCEL, order.price, True)
    return Outcome(Action.REST, order.price, True)


def cost(spec: ContractSpec, order: Order, outcome: Outcome, costs: Costs) -> Decimal:
    """Margin plus fee an opening order takes from the available balance (closing: nothing)."""
    if order.side.is_close or outcome.action in (Action.REJECT, Action.CANCEL):
        return ledger.ZERO
    if not order.leverage:
        raise ValueError(f"opening order {order.order_id} of {order.symbol} has no leverage")
    return ledger.margin(spec, order.size, outcome.price, order.leverage) + ledger.fee(
        spec, order.size, outcome.price, costs.rate(maker=outcome.maker)
    )


def admit(book: Book, working: Working, outcome: Outcome, *, ms: int, costs: Costs) -> Book:
    """The book once the new order met its outcome."""
    order_id = working.order.order_id
    book = place(book, working)
    if outcome.action is Action.FILL:
        return execute(book, order_id, outcome.price, maker=False, ms=ms, costs=costs)
    if outcome.action is Action.REJECT:
        return finish(book, order_id, ms, rejected=True)
    if outcome.action is Action.CANCEL:
        return finish(book, order_id, ms)
    return book
