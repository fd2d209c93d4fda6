"""Streamed top of book in the database: written by the stream leader, read by whoever needs a
quote (spread checks, order snapshots, the fill watcher) instead of a depth request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from infra.models import StreamQuoteRow, table_of
from providers.types import TopOfBook

_T = table_of(StreamQuoteRow)


@dataclass(frozen=True)
class Quote:
    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal
    exchange_ms: int
    received_ms: int

    def top_of_book(self) -> TopOfBook:
        """As a `TopOfBook` marked at the mid (the book ticker carries no mark price)."""
        return TopOfBook(
            symbol=self.symbol,
            bid=self.bid,
            ask=self.ask,
            bid_size=self.bid_size,
            ask_size=self.ask_size,
            mark=(self.bid + self.ask) / 2,
            ts_ms=self.exchange_ms or self.received_ms,
        )


class QuoteStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_many(self, quotes: Iterable[Quote]) -> int:
        rows = [q.__dict__ for q in quotes]
        if not rows:
            return 0
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(_T)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.c.symbol],
            set_={c: stmt.excluded[c] for c in rows[0] if c != "symbol"},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def get(self, symbol: str) -> Quote | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_T).where(_T.c.symbol == symbol)).first()
        return None if row is None else Quote(**row._mapping)

    def fresh(self, symbol: str, now_ms: int, max_age_ms: int) -> TopOfBook | None:
        """The symbol's streamed quote if received within `max_age_ms` of `now_ms` and
        sane (bid below ask, both positive); None otherwise (the caller asks the exchange)."""
        quote = self.get(symbol)
        if quote is None or now_ms - quote.received_ms > max_age_ms:
            return None
        if not (0 < quote.bid < quote.ask):
            return None
        return quote.top_of_book()
