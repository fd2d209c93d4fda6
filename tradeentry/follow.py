"""Following a submitted entry (shell around `watcher.decide_watch`): read the order, then wait,
cancel it at the end of its zone, fall back to a taker order, or hand the fill to protection.

Ledger statuses written here: `fallback_submitted` (the limit was replaced by a taker order),
`filled` (the entry is done and something was filled: protect it), `expired` (the zone ended
with nothing filled), `cancelled` / `rejected` (the exchange ended the order unfilled).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from infra.models import OrderRow
from providers.port import Exchange, NotFoundError
from providers.types import Order, OrderRequest, OrderSide, OrderType, PositionSide, TopOfBook
from tradeentry.config import TradeEntryConfig
from tradeentry.execute import price_type_of
from tradeentry.ids import client_order_id
from tradeentry.ledger import OrderLedger
from tradeentry.model import EntryZone
from tradeentry.watcher import (
    FallbackRisk,
    FallbackRule,
    Polling,
    WatchAction,
    WatchDecision,
    decide_watch,
    fallback_size,
)

log = logging.getLogger("mtf.orders")

#: Ledger statuses the watcher still follows.
FOLLOWED = ("submitted", "fallback_submitted")
#: How long a taker order may stay unfilled after the zone's end before it is cancelled.
TAKER_GRACE_MS = 60_000


@dataclass(frozen=True)
class FollowResult:
    status: str  # the ledger status after this look
    detail: str
    next_in_s: float | None = None  # look again in that many seconds
    protect: bool = False  # a fill to protect now

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def zone_of(plan: dict[str, Any]) -> EntryZone:
    z = plan["zone"]
    return EntryZone(
        Decimal(z["low"]),
        Decimal(z["high"]),
        Decimal(z["anchor"]),
        z["anchor_kind"],
        int(z["expires_ms"]),
    )


def fallback_risk(plan: dict[str, Any], limit: Order, config: TradeEntryConfig) -> FallbackRisk:
    """The bounds of a taker fallback for a recorded plan whose limit order is `limit`."""
    entry = Decimal(plan["entry_price"])
    return FallbackRisk(
        side=PositionSide(plan["side"]),
        stop_loss=Decimal(plan["stop_loss"]),
        risk_usdt=Decimal(plan["risk_usdt"]),
        fee_reserve_pct=config.order.fee_reserve_pct,
        filled=limit.filled_size,
        filled_price=limit.avg_fill_price or entry,
    )


def fallback_rule(config: TradeEntryConfig) -> FallbackRule:
    f = config.fallback_end_of_zone
    return FallbackRule(
        f.enabled,
        float(f.seconds_before_expiry),
        float(f.max_spread_bps),
        f.only_inside_zone,
        float(f.max_slippage_bps),
    )


def taker_client_id(decision_key: str) -> str:
    return client_order_id(decision_key + ":taker")


def follow_entry(
    row: OrderRow,
    exchange: Exchange,
    ledger: OrderLedger,
    config: TradeEntryConfig,
    now_ms: int,
    look: int = 0,
    idle_poll_seconds: float | None = None,
) -> FollowResult:
    """The `look`-th look at the entry of `row` (a ledger row in a FOLLOWED status); see
    `decide_watch` for `idle_poll_seconds`. One follower at a time: a look that finds the
    entry held by another (the watcher, a sweep) does nothing and comes back a second later."""
    if row.status not in FOLLOWED:
        return FollowResult(row.status, f"entry is {row.status}; nothing to follow")
    if not ledger.hold_follow(row.decision_key):
        return FollowResult(row.status, "another follower is looking at it", next_in_s=1.0)
    try:
        # What the other follower did before letting go is read, not overwritten.
        fresh = ledger.get(row.decision_key)
        assert fresh is not None
        return _look(fresh, exchange, ledger, config, now_ms, look, idle_poll_seconds)
    finally:
        ledger.release_follow(row.decision_key)


def _look(
    row: OrderRow,
    exchange: Exchange,
    ledger: OrderLedger,
    config: TradeEntryConfig,
    now_ms: int,
    look: int,
    idle_poll_seconds: float | None,
) -> FollowResult:
    if row.status not in FOLLOWED:
        return FollowResult(row.status, f"entry is {row.status}; nothing to follow")
    plan = row.plan
    zone = zone_of(plan)
    taker = row.status == "fallback_submitted"
    cid = taker_client_id(row.decision_key) if taker else row.client_order_id
    order = exchange.order(row.symbol, client_order_id=cid)
    earlier = (row.filled_size or Decimal(0)) if taker else Decimal(0)
    rule = fallback_rule(config)
    if taker:  # a market order: give it a grace period, never a second fallback
        zone = EntryZone(
            zone.low, zone.high, zone.anchor, zone.anchor_kind, zone.expires_ms + TAKER_GRACE_MS
        )
        rule = FallbackRule(False, 0, 0, False, 0)
    book = None
    if rule.enabled and (zone.expires_ms - now_ms) / 1000 <= rule.seconds_before_expiry:
        book = exchange.top_of_book(row.symbol)
    w = config.watcher
    polling = Polling(w.poll_seconds, w.backoff, w.max_poll_seconds)
    decision = decide_watch(order, zone, book, now_ms, rule, polling, look, idle_poll_seconds)
    log.info(
        "entry %s (%s): %s, %s",
        row.decision_key,
        order.status.value,
        decision.action.value,
        decision.detail,
    )
    if decision.action is WatchAction.WAIT:
        return FollowResult(row.status, decision.detail, next_in_s=decision.wait_s)
    if decision.action is WatchAction.PROTECT:
        return _filled(ledger, row, order, earlier, decision.detail)
    if decision.action is WatchAction.DONE:
        return _ended(ledger, row, order, earlier, order.status.value, decision.detail)
    order = _cancel(exchange, row.symbol, cid, order)
    if decision.action is WatchAction.CANCEL or order.status.value == "filled":
        return _ended(ledger, row, order, earlier, "expired", decision.detail)
    assert book is not None  # a fallback is only decided on a book
    return _fall_back(exchange, ledger, row, order, decision, config, book)


def _cancel(exchange: Exchange, symbol: str, cid: str, order: Order) -> Order:
    """Cancel and read back: what filled before the cancel took effect counts."""
    with contextlib.suppress(NotFoundError):  # finished meanwhile: the read-back says how
        exchange.cancel_order(symbol, client_order_id=cid)
    return exchange.order(symbol, client_order_id=cid)


def _filled(
    ledger: OrderLedger, row: OrderRow, order: Order, earlier: Decimal, detail: str
) -> FollowResult:
    total = earlier + order.filled_size
    ledger.update(
        row.decision_key,
        status="filled",
        filled_size=total,
        avg_fill_price=order.avg_fill_price,
        detail=detail,
    )
    return FollowResult("filled", f"entry filled: {total:f} contracts", protect=True)


def _ended(
    ledger: OrderLedger, row: OrderRow, order: Order, earlier: Decimal, status: str, detail: str
) -> FollowResult:
    if earlier + order.filled_size > 0:
        return _filled(ledger, row, order, earlier, f"{detail}; partially filled")
    ledger.update(row.decision_key, status=status, filled_size=Decimal(0), detail=detail)
    return FollowResult(status, detail)


def _fall_back(
    exchange: Exchange,
    ledger: OrderLedger,
    row: OrderRow,
    limit: Order,
    decision: WatchDecision,
    config: TradeEntryConfig,
    book: TopOfBook,
) -> FollowResult:
    """The rest of the entry as a taker order, no larger than the risk allows at the book's
    price (`fallback_size`). Its stop and target are preset only when the limit filled
    nothing: otherwise the limit's presets already cover the whole position."""
    spec = exchange.contract(row.symbol)
    rest = limit.size - limit.filled_size
    if rest < spec.min_volume:
        return _filled(ledger, row, limit, Decimal(0), "filled before the fallback")
    plan = row.plan
    sized = fallback_size(fallback_risk(plan, limit, config), rest, book, spec)
    if isinstance(sized, str):
        log.info("entry %s: no taker fallback: %s", row.decision_key, sized)
        return _ended(ledger, row, limit, Decimal(0), "expired", f"no fallback: {sized}")
    rest = sized
    bare = limit.filled_size == 0
    taker = exchange.submit_order(
        OrderRequest(
            symbol=row.symbol,
            side=OrderSide.open(PositionSide(row.side)),
            type=OrderType.MARKET,
            size=rest,
            client_order_id=taker_client_id(row.decision_key),
            leverage=int(plan["leverage"]),
            preset_take_profit=Decimal(plan["take_profit"]) if bare else None,
            preset_stop_loss=Decimal(plan["stop_loss"]) if bare else None,
            preset_price_type=price_type_of(config),
        )
    )
    ledger.update(
        row.decision_key,
        status="fallback_submitted",
        filled_size=limit.filled_size,
        detail=f"fallback to a taker order {taker.order_id} for {rest:f}: {decision.detail}",
    )
    log.info("entry %s: taker fallback %s for %s", row.decision_key, taker.order_id, rest)
    return FollowResult("fallback_submitted", decision.detail, next_in_s=1.0)
