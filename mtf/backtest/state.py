"""One symbol's side of the backtest account (the paper exchange's book in memory, the entry
being followed, the trade being built) and the searches that skip quiet candles (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from mtf.backtest.market import SymbolMarket
from mtf.backtest.records import BacktestSignal, Trade
from providers.paper import fills as bar_fills
from providers.paper.book import Book, Working
from providers.timeframes import Timeframe
from providers.types import Order, OrderType, TriggerKind, TriggerOrder
from tradeentry.model import EntryZone, TradePlan
from tradeentry.protection import Intent

MINUTE = Timeframe.M1.ms


@dataclass
class Entry:
    key: str
    signal: BacktestSignal
    plan: TradePlan
    zone: EntryZone
    order_id: str
    looks: list[int]
    outcome_index: int
    taker_id: str | None = None
    filled: Decimal = Decimal(0)


@dataclass
class SymbolState:
    market: SymbolMarket
    book: Book
    cursor: int = 0  # next bar not yet stepped
    version: int = 0
    entry: Entry | None = None
    trade: Trade | None = None
    intent: Intent | None = None
    last_exit_ms: int | None = None
    reasons: dict[str, str] = field(default_factory=dict)  # order id -> fill reason
    orders: dict[str, Order] = field(default_factory=dict)  # newest state of finished orders

    def latest(self, order_id: str) -> Order:
        """The newest state of an order (the book's journal is emptied as it is read)."""
        for item in reversed(self.book.journal):
            if isinstance(item, Working) and item.order.order_id == order_id:
                return item.order
        working = self.book.working(order_id)
        return working.order if working is not None else self.orders[order_id]


def next_event_bar(state: SymbolState, end_ms: int) -> int | None:
    """The first bar from the cursor whose range reaches a price something waits for."""
    book = state.book
    low_levels: list[float] = []
    high_levels: list[float] = []
    for working in book.orders:
        order = working.order
        if order.type is OrderType.LIMIT and order.price is not None:
            (low_levels if order.side.is_buy else high_levels).append(float(order.price))
    for trigger in book.triggers:
        down = bar_fills.trigger_leg(trigger) is bar_fills.Leg.DOWN
        (low_levels if down else high_levels).append(float(trigger.trigger_price))
    if not low_levels and not high_levels:
        return None
    bars = state.market.bars
    # A hair wider than the exact decimal comparison: `fills.step` decides exactly.
    low = max(low_levels) * (1 + 1e-12) if low_levels else -np.inf
    high = min(high_levels) * (1 - 1e-12) if high_levels else np.inf
    last = min(len(bars), bars_until(bars.open_time, end_ms))
    start = state.cursor
    chunk = 64
    while start < last:
        stop = min(last, start + chunk)
        hit = (bars.low[start:stop] <= low) | (bars.high[start:stop] >= high)
        if hit.any():
            return start + int(np.argmax(hit))
        start, chunk = stop, chunk * 4
    return None


def recorded(plan: TradePlan) -> dict[str, Any]:
    """The part of `TradePlan.to_dict()` the ledger's protection intent and the taker
    fallback's bounds are read from."""
    return {
        "side": plan.side.value,
        "entry_price": str(plan.entry_price),
        "risk_usdt": str(plan.risk_usdt),
        "stop_loss": str(plan.stop_loss),
        "size": str(plan.size),
        "targets": [{"price": str(t.price), "size": str(t.size)} for t in plan.targets],
    }


def exit_reason(trigger: TriggerOrder | None) -> str:
    if trigger is None:
        return "close"
    if trigger.kind is TriggerKind.STOP_LOSS:
        return "stop"
    return "tp1" if trigger.size is not None else "take_profit"


def look_times(
    market: SymbolMarket, placed_ms: int, expires_ms: int, fallback: bool, window_s: float
) -> list[int]:
    """When the watcher's decision can change: every bar close while the entry rests, the
    start of the end-of-zone window, and the zone's end."""
    first_close = (placed_ms // MINUTE) * MINUTE + MINUTE
    looks = set(range(first_close, expires_ms + 1, MINUTE))
    looks.add(expires_ms)
    if fallback:
        start = expires_ms - int(window_s * 1000)
        if start > placed_ms:
            looks.add(start)
    return sorted(t for t in looks if t > placed_ms)


def bars_until(open_time: np.ndarray, end_ms: int) -> int:
    """How many 1m bars close at or before `end_ms`."""
    return int(np.searchsorted(open_time, end_ms - MINUTE, side="right"))


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
