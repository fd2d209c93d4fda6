"""Closed positions and the day's totals from an account's fills (pure).

Fills are replayed oldest first per symbol and position side: opening fills grow the position at
their average price, each closing fill realises `(exit - average entry) x size x contract size`
(the other way round for shorts); when the position is flat again the round trip is a closed
position. A closing fill whose opening fell before the history read has no known entry: its P&L
is the exchange's own figure when it gives one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from providers.types import Fill, PositionSide

ZERO = Decimal(0)
ContractSize = Callable[[str], Decimal]


@dataclass(frozen=True)
class ClosedPosition:
    symbol: str
    side: str  # long | short
    size: Decimal  # contracts opened (closed, when the opening is not in the history)
    entry_price: Decimal | None  # average; None when the opening fills are not in the history
    exit_price: Decimal  # average
    opened_ms: int | None
    closed_ms: int
    pnl: Decimal  # realised, before fees
    fees: Decimal  # of the opening and closing fills

    @property
    def net(self) -> Decimal:
        return self.pnl - self.fees

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "side": self.side,
            "size": str(self.size),
            "entry_price": None if self.entry_price is None else str(self.entry_price),
            "exit_price": str(self.exit_price),
            "opened_ms": self.opened_ms,
            "closed_ms": self.closed_ms,
            "pnl": str(self.pnl),
            "fees": str(self.fees),
            "net": str(self.net),
        }


@dataclass(frozen=True)
class Realized:
    """What one closing fill realised."""

    fill: Fill
    pnl: Decimal


@dataclass
class _Trip:
    size: Decimal = ZERO  # still open
    cost: Decimal = ZERO  # still open, at the average entry
    opened: Decimal = ZERO
    opened_cost: Decimal = ZERO
    closed: Decimal = ZERO
    closed_value: Decimal = ZERO
    fees: Decimal = ZERO
    pnl: Decimal = ZERO
    opened_ms: int | None = None
    known_entry: bool = True
    realized: list[Realized] = field(default_factory=list)


def replay(
    fills: Iterable[Fill], contract_size: ContractSize
) -> tuple[list[ClosedPosition], list[Realized]]:
    """Round trips completed within `fills`, and what every closing fill realised; oldest
    first."""
    trips: dict[tuple[str, PositionSide], _Trip] = {}
    done: list[ClosedPosition] = []
    realized: list[Realized] = []
    for f in sorted(fills, key=lambda f: f.time_ms):
        side = f.side.position_side
        trip = trips.setdefault((f.symbol, side), _Trip())
        trip.fees += f.fee
        if not f.side.is_close:
            trip.opened_ms = f.time_ms if trip.opened_ms is None else trip.opened_ms
            trip.size += f.size
            trip.cost += f.size * f.price
            trip.opened += f.size
            trip.opened_cost += f.size * f.price
            continue
        qty = min(f.size, trip.size)
        pnl = ZERO
        if qty > 0:
            entry = trip.cost / trip.size
            sign = 1 if side is PositionSide.LONG else -1
            pnl = sign * (f.price - entry) * qty * contract_size(f.symbol)
            trip.cost -= entry * qty
            trip.size -= qty
        if f.size > qty:  # opened before the history: only the exchange knows its P&L
            trip.known_entry = False
            pnl += f.realized_pnl or ZERO
        trip.pnl += pnl
        trip.closed += f.size
        trip.closed_value += f.size * f.price
        realized.append(Realized(f, pnl))
        if trip.size == 0:
            done.append(_closed(f, side, trip))
            del trips[(f.symbol, side)]
    return done, realized


def _closed(last: Fill, side: PositionSide, trip: _Trip) -> ClosedPosition:
    known = trip.known_entry and trip.opened > 0
    return ClosedPosition(
        symbol=last.symbol,
        side=side.value,
        size=trip.opened if known else trip.closed,
        entry_price=trip.opened_cost / trip.opened if known else None,
        exit_price=trip.closed_value / trip.closed,
        opened_ms=trip.opened_ms if known else None,
        closed_ms=last.time_ms,
        pnl=trip.pnl,
        fees=trip.fees,
    )


@dataclass(frozen=True)
class PeriodTotals:
    realized_pnl: Decimal  # of the closing fills in the period, before fees
    fees: Decimal  # of every fill in the period
    fills: int


def totals_since(fills: Iterable[Fill], contract_size: ContractSize, since_ms: int) -> PeriodTotals:
    """What the fills from `since_ms` realised and paid (earlier fills give their entries)."""
    fills = list(fills)
    _, realized = replay(fills, contract_size)
    recent = [f for f in fills if f.time_ms >= since_ms]
    return PeriodTotals(
        realized_pnl=sum((r.pnl for r in realized if r.fill.time_ms >= since_ms), ZERO),
        fees=sum((f.fee for f in recent), ZERO),
        fills=len(recent),
    )
