"""The limit-fill watcher's decision (pure): wait, cancel at the zone's end, fall back to a taker
order just before it, or hand a filled entry over to protection.

Order states are read as the exchange reports them (`OrderStatus`): a finished order is FILLED
only when everything was filled, so a filled entry is never mistaken for a pending one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from providers.types import ContractSpec, Order, OrderStatus, OrderType, PositionSide, TopOfBook
from tradeentry.model import EntryZone
from tradeentry.planner.sizing import volume_cap


class WatchAction(StrEnum):
    WAIT = "wait"
    CANCEL = "cancel"  # the zone expired unfilled (a partial fill is then protected)
    FALLBACK = "fallback"  # cancel the limit and take the rest at market
    PROTECT = "protect"  # filled: place the stop and targets
    DONE = "done"  # cancelled or rejected by the exchange: nothing left to do


@dataclass(frozen=True)
class FallbackRule:
    enabled: bool
    seconds_before_expiry: float
    max_spread_bps: float
    only_inside_zone: bool
    max_slippage_bps: float


@dataclass(frozen=True)
class WatchDecision:
    action: WatchAction
    detail: str
    wait_s: float = 0.0


@dataclass(frozen=True)
class Polling:
    """Waits between looks: `first`, then `backoff` times longer each look, up to `longest`."""

    first: float
    backoff: float = 1.0
    longest: float | None = None

    def wait(self, look: int) -> float:
        """The wait after the `look`-th look (0 for the first)."""
        wait = self.first * self.backoff ** max(0, look)
        return min(wait, max(self.first, self.longest or wait))


def decide_watch(
    order: Order,
    zone: EntryZone,
    book: TopOfBook | None,
    now_ms: int,
    fallback: FallbackRule,
    poll_seconds: float | Polling,
    look: int = 0,
    idle_poll_seconds: float | None = None,
) -> WatchDecision:
    """What to do with a resting entry order now, at its `look`-th look (waits grow with it,
    except inside the end-of-zone window). `idle_poll_seconds` (when order pushes wake the
    watcher up) spaces the looks before the fallback window at least that much; inside it, the
    book is watched every poll."""
    polling = poll_seconds if isinstance(poll_seconds, Polling) else Polling(poll_seconds)
    poll_seconds = polling.first
    if order.status is OrderStatus.FILLED:
        return WatchDecision(
            WatchAction.PROTECT, f"filled {order.filled_size} at {order.avg_fill_price}"
        )
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
        filled = f", {order.filled_size} filled" if order.filled_size else ""
        return WatchDecision(WatchAction.DONE, f"{order.status.value} by the exchange{filled}")
    remaining_s = (zone.expires_ms - now_ms) / 1000
    if remaining_s <= 0:
        return WatchDecision(
            WatchAction.CANCEL,
            "entry zone expired unfilled"
            if not order.filled_size
            else f"entry zone expired with {order.filled_size} filled",
        )
    window = fallback.seconds_before_expiry if fallback.enabled else 0.0
    if fallback.enabled and remaining_s <= window and book is not None:
        why_not = _fallback_blocked(zone, book, fallback)
        if why_not is None:
            return WatchDecision(
                WatchAction.FALLBACK, f"{remaining_s:.0f}s left, spread {book.spread_bps:.1f} bps"
            )
        # Conditions may still turn before the end: look again, then cancel at expiry.
        return WatchDecision(
            WatchAction.WAIT, f"no fallback: {why_not}", min(poll_seconds, remaining_s)
        )
    until_window = remaining_s - window if fallback.enabled else remaining_s
    wait = polling.wait(look)
    if idle_poll_seconds is not None:
        wait = max(wait, idle_poll_seconds)
    return WatchDecision(
        WatchAction.WAIT,
        f"resting, {remaining_s:.0f}s left",
        max(0.5, min(wait, until_window)),
    )


def _fallback_blocked(zone: EntryZone, book: TopOfBook, rule: FallbackRule) -> str | None:
    if book.spread_bps > rule.max_spread_bps:
        return f"spread {book.spread_bps:.1f} bps above {rule.max_spread_bps:g}"
    price = book.mark
    if rule.only_inside_zone and not zone.contains(price):
        return f"price {price} outside the zone [{zone.low}, {zone.high}]"
    slippage = abs(price - zone.mid) / zone.mid * Decimal(10_000)
    if slippage > Decimal(str(rule.max_slippage_bps)):
        return f"price {slippage:.1f} bps from the zone's middle, above {rule.max_slippage_bps:g}"
    return None


@dataclass(frozen=True)
class FallbackRisk:
    """What bounds the taker fallback: the plan's stop and risk, and what the limit filled."""

    side: PositionSide
    stop_loss: Decimal
    risk_usdt: Decimal
    fee_reserve_pct: Decimal  # round trip, % of the notional, as in the planner
    filled: Decimal
    filled_price: Decimal


def fallback_size(
    risk: FallbackRisk, rest: Decimal, book: TopOfBook, spec: ContractSpec
) -> Decimal | str:
    """The taker size for the rest of an entry whose loss at the stop, with what the limit
    already filled and round-trip fees, stays within the plan's risk; or why none fits.

    The position was sized for the limit price: a taker fill at the far side of the book can
    sit farther from the stop, so the rest shrinks (on the volume step) rather than the loss
    growing past the risk."""
    price = book.ask if risk.side is PositionSide.LONG else book.bid
    if (risk.side is PositionSide.LONG and price <= risk.stop_loss) or (
        risk.side is PositionSide.SHORT and price >= risk.stop_loss
    ):
        return f"the book ({price}) is already beyond the stop {risk.stop_loss}"
    fee_rate = risk.fee_reserve_pct / Decimal(100)

    def loss_per_contract(at: Decimal) -> Decimal:
        distance = abs(at - risk.stop_loss)
        return (distance + max(at, risk.stop_loss) * fee_rate) * spec.contract_size

    left = risk.risk_usdt - risk.filled * loss_per_contract(risk.filled_price)
    per_contract = loss_per_contract(price)
    cap = min(rest, volume_cap(spec, OrderType.MARKET))
    size = spec.round_size(min(cap, max(left, Decimal(0)) / per_contract))
    while size > 0 and size * per_contract > left:
        size -= spec.volume_step
    if size < spec.min_volume or size <= 0:
        return (
            f"a taker fill at {price} would lose more than the {risk.risk_usdt} USDT risk "
            f"left after {risk.filled} filled; min_volume is {spec.min_volume}"
        )
    return size
