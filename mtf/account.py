"""Account state at the start of a cycle: positions and open orders read from the exchange and,
when the run asks for it (`sync_tables`), stored so they can be inspected and queried."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update

from infra import clock
from infra.db import engine_session
from infra.models import ExchangeOrderRow, PositionRow
from providers.port import Exchange
from providers.types import Order, Position


@dataclass(frozen=True)
class AccountSnapshot:
    positions: list[Position]
    orders: list[Order]

    def busy_symbols(self) -> dict[str, str]:
        """Symbols with an open position or order, and which."""
        busy = {p.symbol: "open position" for p in self.positions}
        for order in self.orders:
            busy.setdefault(order.symbol, "open order")
        return busy


def read_account(exchange: Exchange) -> AccountSnapshot:
    """Positions and open orders; an exchange that cannot be read raises (never "none")."""
    return AccountSnapshot(exchange.positions(), exchange.open_orders())


def store_account(engine: Engine, exchange: str, snapshot: AccountSnapshot) -> None:
    """Upsert open positions, mark the others CLOSED, and replace the open-order list."""
    now = clock.now()
    with engine_session(engine) as s:
        seen = set()
        for p in snapshot.positions:
            key = (exchange, p.symbol, p.side.value)
            seen.add(key)
            row = s.get(PositionRow, key) or PositionRow(
                exchange=exchange, symbol=p.symbol, side=p.side.value
            )
            row.status = "OPEN"
            row.size, row.entry_price, row.mark_price = p.size, p.entry_price, p.mark_price
            row.leverage, row.unrealized_pnl, row.margin = p.leverage, p.unrealized_pnl, p.margin
            row.opened_ms, row.synced_at = p.opened_ms, now
            s.add(row)
        open_rows = s.scalars(
            select(PositionRow).where(
                PositionRow.exchange == exchange, PositionRow.status == "OPEN"
            )
        )
        gone = [r for r in open_rows if (r.exchange, r.symbol, r.side) not in seen]
        for row in gone:
            s.execute(
                update(PositionRow)
                .where(
                    PositionRow.exchange == exchange,
                    PositionRow.symbol == row.symbol,
                    PositionRow.side == row.side,
                )
                .values(status="CLOSED", synced_at=now)
            )
        s.execute(delete(ExchangeOrderRow).where(ExchangeOrderRow.exchange == exchange))
        s.add_all(
            ExchangeOrderRow(
                exchange=exchange,
                order_id=o.order_id,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                side=int(o.side),
                order_type=o.type.value,
                status=o.status.value,
                price=o.price,
                size=o.size,
                filled_size=o.filled_size,
                created_ms=o.created_ms,
                synced_at=now,
            )
            for o in snapshot.orders
        )


def stored_positions(engine: Engine, exchange: str) -> list[PositionRow]:
    with engine_session(engine) as s:
        return list(
            s.scalars(
                select(PositionRow).where(
                    PositionRow.exchange == exchange, PositionRow.status == "OPEN"
                )
            )
        )
