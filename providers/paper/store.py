"""Persistence of the paper exchange: the Paper* tables, read and written in one transaction.

The account row is the lock: every call of the exchange starts by creating it if needed and
locking it, so calls on one account are serialised across processes (row lock on PostgreSQL,
the database write lock on SQLite, taken by that first write).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from infra.models import (
    PaperAccountRow,
    PaperCursorRow,
    PaperLeverageRow,
    PaperOrderRow,
    PaperPositionRow,
)
from providers.paper import rows as convert
from providers.paper.book import Book, Working
from providers.paper.ledger import ZERO, Holding
from providers.port import InvalidOrderError, NotFoundError
from providers.types import (
    ContractSpec,
    Fill,
    OpenType,
    Order,
    OrderSide,
    PositionSide,
    TriggerOrder,
)


@dataclass(frozen=True)
class Account:
    currency: str
    wallet: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal


class PaperStore:
    """The paper tables of one account, through a session the caller commits."""

    def __init__(self, session: Session, account: str) -> None:
        self.session = session
        self.account = account
        self._row: PaperAccountRow | None = None

    # --- account ----------------------------------------------------------------------------

    def lock(self, initial_balance: Decimal, currency: str) -> None:
        """Create the account with `initial_balance` on first use, then lock it."""
        values = {
            "account": self.account,
            "currency": currency,
            "wallet_balance": initial_balance,
            "fees_paid": ZERO,
            "realized_pnl": ZERO,
            "next_order_id": 1,
        }
        dialect = self.session.get_bind().dialect.name
        stmt: postgresql.Insert | sqlite.Insert
        if dialect == "postgresql":
            stmt = postgresql.insert(PaperAccountRow).values(**values)
        elif dialect == "sqlite":
            stmt = sqlite.insert(PaperAccountRow).values(**values)
        else:
            raise RuntimeError(f"the paper exchange runs on sqlite or postgresql, not {dialect}")
        stmt = stmt.on_conflict_do_nothing(index_elements=["account"])
        self.session.execute(stmt)
        self._row = self.session.get(PaperAccountRow, self.account, with_for_update=True)

    @property
    def row(self) -> PaperAccountRow:
        if self._row is None:
            raise RuntimeError("paper account used before lock()")
        return self._row

    def account_state(self) -> Account:
        row = self.row
        return Account(
            row.currency,
            convert.plain(row.wallet_balance),
            convert.plain(row.realized_pnl),
            convert.plain(row.fees_paid),
        )

    # --- books ------------------------------------------------------------------------------

    def symbols_with_work(self) -> list[str]:
        """Symbols with an open order or an active trigger."""
        stmt = (
            select(PaperOrderRow.symbol)
            .where(PaperOrderRow.account == self.account, PaperOrderRow.is_open.is_(True))
            .distinct()
        )
        return sorted(self.session.scalars(stmt))

    def load_book(self, spec: ContractSpec) -> Book:
        """Open orders, active triggers and positions of one symbol."""
        found = self.session.scalars(
            select(PaperOrderRow).where(
                PaperOrderRow.account == self.account,
                PaperOrderRow.symbol == spec.symbol,
                PaperOrderRow.is_open.is_(True),
            )
        ).all()
        orders = sorted(
            (convert.working(r) for r in found if r.kind == convert.NORMAL),
            key=lambda w: convert.age(w.order),
        )
        triggers = sorted(
            (convert.trigger(r) for r in found if r.kind != convert.NORMAL),
            key=lambda t: (t.created_ms, len(t.order_id), t.order_id),
        )
        return Book(
            spec=spec,
            orders=tuple(orders),
            triggers=tuple(triggers),
            holdings=tuple(self.holdings(spec.symbol)),
            next_id=self.row.next_order_id,
        )

    def save_book(self, book: Book, now_ms: int) -> None:
        """Write what the book journalled, its positions, and the cash its fills moved."""
        latest: dict[str, Working | TriggerOrder] = {}
        for entry in book.journal:
            latest[entry.order.order_id if isinstance(entry, Working) else entry.order_id] = entry
        for order_id, entry in latest.items():
            row = self.session.get(PaperOrderRow, (self.account, order_id))
            if row is None:
                row = PaperOrderRow(account=self.account, order_id=order_id)
                self.session.add(row)
            if isinstance(entry, Working):
                convert.write_order(row, entry)
            else:
                convert.write_trigger(row, entry, now_ms)
        self._save_holdings(book.spec.symbol, book.holdings)
        account = self.row
        realized = sum((f.realized_pnl for f in book.fills), ZERO)
        fees = sum((f.fee for f in book.fills), ZERO)
        account.wallet_balance = account.wallet_balance + realized - fees
        account.realized_pnl = account.realized_pnl + realized
        account.fees_paid = account.fees_paid + fees
        account.next_order_id = book.next_id
        self.session.flush()

    def _save_holdings(self, symbol: str, holdings: Iterable[Holding]) -> None:
        by_side = {h.side: h for h in holdings}
        for side in PositionSide:
            row = self.session.get(PaperPositionRow, (self.account, symbol, side.value))
            holding = by_side.get(side)
            if holding is None:
                if row is not None:
                    self.session.delete(row)
                continue
            if row is None:
                row = PaperPositionRow(account=self.account, symbol=symbol, side=side.value)
                self.session.add(row)
            row.size = holding.size
            row.entry_price = holding.entry_price
            row.leverage = holding.leverage
            row.open_type = holding.open_type.value
            row.margin = holding.margin
            row.realized_pnl = holding.realized_pnl
            row.opened_ms = holding.opened_ms
            row.updated_ms = holding.updated_ms

    # --- reads ------------------------------------------------------------------------------

    def holdings(self, symbol: str | None = None) -> list[Holding]:
        stmt = select(PaperPositionRow).where(PaperPositionRow.account == self.account)
        if symbol is not None:
            stmt = stmt.where(PaperPositionRow.symbol == symbol)
        found = self.session.scalars(stmt).all()
        return sorted(
            (convert.holding(r) for r in found),
            key=lambda h: (h.symbol, h.side is PositionSide.SHORT),
        )

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        found = self._open_rows(symbol, trigger=False)
        return sorted((convert.working(r).order for r in found), key=convert.age)

    def triggers(self, symbol: str | None = None) -> list[TriggerOrder]:
        found = self._open_rows(symbol, trigger=True)
        return sorted(
            (convert.trigger(r) for r in found),
            key=lambda t: (t.symbol, t.created_ms, len(t.order_id), t.order_id),
        )

    def fills(self, symbol: str | None, since_ms: int) -> list[Fill]:
        """Filled normal orders (each fills at once here) from `since_ms`, oldest first."""
        stmt = select(PaperOrderRow).where(
            PaperOrderRow.account == self.account,
            PaperOrderRow.kind == convert.NORMAL,
            PaperOrderRow.filled_size > 0,
            PaperOrderRow.updated_ms >= since_ms,
        )
        if symbol is not None:
            stmt = stmt.where(PaperOrderRow.symbol == symbol)
        rows = sorted(self.session.scalars(stmt), key=lambda r: (r.updated_ms, int(r.order_id)))
        return [
            Fill(
                r.order_id,
                r.symbol,
                OrderSide(r.side),
                r.avg_fill_price or ZERO,
                r.filled_size,
                r.fee,
                r.updated_ms,
            )
            for r in rows
        ]

    def order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        """A normal order of `symbol` by id or client id; `NotFoundError` when there is none."""
        if (order_id is None) == (client_order_id is None):
            raise InvalidOrderError("give exactly one of order_id and client_order_id")
        if order_id is not None:
            row = self.session.get(PaperOrderRow, (self.account, order_id))
        else:
            row = self._by_client(client_order_id or "")
        if row is None or row.symbol != symbol or row.kind != convert.NORMAL:
            which = (
                f"order {order_id}" if order_id is not None else f"client order {client_order_id}"
            )
            raise NotFoundError(f"unknown {which} of {symbol}")
        return convert.working(row).order

    def trigger(self, symbol: str, order_id: str) -> TriggerOrder:
        """A trigger order of `symbol`; `NotFoundError` when there is none."""
        row = self.session.get(PaperOrderRow, (self.account, order_id))
        if row is None or row.symbol != symbol or row.kind == convert.NORMAL:
            raise NotFoundError(f"unknown trigger order {order_id} of {symbol}")
        return convert.trigger(row)

    def by_client(self, client_order_id: str) -> Order | TriggerOrder | None:
        """Whatever order or trigger already uses `client_order_id`."""
        row = self._by_client(client_order_id)
        if row is None:
            return None
        return convert.working(row).order if row.kind == convert.NORMAL else convert.trigger(row)

    def _by_client(self, client_order_id: str) -> PaperOrderRow | None:
        stmt = select(PaperOrderRow).where(
            PaperOrderRow.account == self.account,
            PaperOrderRow.client_order_id == client_order_id,
        )
        return self.session.scalars(stmt).one_or_none()

    def _open_rows(self, symbol: str | None, *, trigger: bool) -> list[PaperOrderRow]:
        stmt = select(PaperOrderRow).where(
            PaperOrderRow.account == self.account,
            PaperOrderRow.is_open.is_(True),
            PaperOrderRow.kind != convert.NORMAL
            if trigger
            else PaperOrderRow.kind == convert.NORMAL,
        )
        if symbol is not None:
            stmt = stmt.where(PaperOrderRow.symbol == symbol)
        return list(self.session.scalars(stmt))

    # --- cursors and leverage ---------------------------------------------------------------

    def cursor(self, symbol: str) -> int | None:
        row = self.session.get(PaperCursorRow, (self.account, symbol))
        return None if row is None else row.simulated_until_ms

    def set_cursor(self, symbol: str, until_ms: int) -> None:
        row = self.session.get(PaperCursorRow, (self.account, symbol))
        if row is None:
            self.session.add(
                PaperCursorRow(account=self.account, symbol=symbol, simulated_until_ms=until_ms)
            )
        else:
            row.simulated_until_ms = max(row.simulated_until_ms, until_ms)

    def leverage(self, symbol: str) -> tuple[int, OpenType] | None:
        row = self.session.get(PaperLeverageRow, (self.account, symbol))
        return None if row is None else (row.leverage, OpenType(row.open_type))

    def set_leverage(self, symbol: str, leverage: int, open_type: OpenType) -> None:
        row = self.session.get(PaperLeverageRow, (self.account, symbol))
        if row is None:
            row = PaperLeverageRow(account=self.account, symbol=symbol)
            self.session.add(row)
        row.leverage = leverage
        row.open_type = open_type.value
