"""The kline store: closed candles by (symbol, timeframe, open time), in the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sqlalchemy import Connection, Engine, and_, delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    import psycopg

from infra.models import KlineRow, table_of
from providers.candles import Candles
from providers.timeframes import Timeframe

_T = table_of(KlineRow)
_COLS = (_T.c.open_time_ms, _T.c.open, _T.c.high, _T.c.low, _T.c.close, _T.c.volume)
_BATCH = 2000
#: (symbol, open time ms, open, high, low, close, volume)
Bar = tuple[str, int, float, float, float, float, float]


def _candles(symbol: str, timeframe: Timeframe, rows: Sequence[Any]) -> Candles:
    """Rows (open time, o, h, l, c, v) to `Candles`. Values go through `fromiter`: handing
    database row objects to numpy directly is tens of times slower."""
    if not rows:
        return Candles.empty(symbol, timeframe)
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=len(rows) * 6)
    return Candles.from_rows(symbol, timeframe, flat.reshape(-1, 6))


_NEWEST_SQL = (
    "SELECT open_time_ms, open, high, low, close, volume FROM klines "
    "WHERE symbol = %s AND timeframe = %s AND open_time_ms <= %s "
    "ORDER BY open_time_ms DESC LIMIT %s"
)


_WINDOW_SQL = (
    "SELECT symbol, open_time_ms, open, high, low, close, volume FROM klines "
    "WHERE symbol = ANY(%s) AND timeframe = %s AND open_time_ms BETWEEN %s AND %s "
    "ORDER BY symbol, open_time_ms"
)


def _fetch_binary(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Run a read on the psycopg connection in binary mode: decoding doubles from text costs
    more than the query itself on the hot path of every validation."""
    raw = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with raw.cursor(binary=True) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


class KlineStore:
    """Reads and writes candles. Every read returns `Candles`, oldest first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, symbol: str, timeframe: Timeframe, *, as_of_ms: int, limit: int) -> Candles:
        """The newest `limit` candles closed at `as_of_ms`."""
        last_open = timeframe.last_closed_open_ms(as_of_ms)
        stmt = (
            select(*_COLS)
            .where(
                _T.c.symbol == symbol,
                _T.c.timeframe == timeframe.value,
                _T.c.open_time_ms <= last_open,
            )
            .order_by(_T.c.open_time_ms.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                rows = _fetch_binary(conn, _NEWEST_SQL, (symbol, timeframe.value, last_open, limit))
            else:
                rows = list(conn.execute(stmt).all())
        return _candles(symbol, timeframe, rows[::-1])

    def load_window(
        self, symbols: Sequence[str], timeframe: Timeframe, *, as_of_ms: int, limit: int
    ) -> dict[str, Candles]:
        """For several symbols at once: candles of the `limit` bars closed at `as_of_ms` (fewer
        where some are missing). One query instead of one per symbol."""
        last_open = timeframe.last_closed_open_ms(as_of_ms)
        first_open = last_open - (limit - 1) * timeframe.ms
        out = {s: Candles.empty(s, timeframe) for s in symbols}
        if not symbols:
            return out
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                params = (list(symbols), timeframe.value, first_open, last_open)
                rows = _fetch_binary(conn, _WINDOW_SQL, params)
            else:
                stmt = (
                    select(_T.c.symbol, *_COLS)
                    .where(
                        _T.c.symbol.in_(list(symbols)),
                        _T.c.timeframe == timeframe.value,
                        _T.c.open_time_ms >= first_open,
                        _T.c.open_time_ms <= last_open,
                    )
                    .order_by(_T.c.symbol, _T.c.open_time_ms)
                )
                rows = list(conn.execute(stmt).all())
        for symbol, group in groupby(rows, key=itemgetter(0)):
            out[symbol] = _candles(symbol, timeframe, [row[1:] for row in group])
        return out

    def load_range(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        """Candles with open time in [start_ms, end_ms)."""
        stmt = (
            select(*_COLS)
            .where(
                _T.c.symbol == symbol,
                _T.c.timeframe == timeframe.value,
                _T.c.open_time_ms >= start_ms,
                _T.c.open_time_ms < end_ms,
            )
            .order_by(_T.c.open_time_ms)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return _candles(symbol, timeframe, rows)

    def newest_open_ms(self, symbol: str, timeframe: Timeframe) -> int | None:
        stmt = select(func.max(_T.c.open_time_ms)).where(
            _T.c.symbol == symbol, _T.c.timeframe == timeframe.value
        )
        with self.engine.connect() as conn:
            value = conn.execute(stmt).scalar()
        return int(value) if value is not None else None

    def oldest_open_ms(self, symbol: str, timeframe: Timeframe) -> int | None:
        stmt = select(func.min(_T.c.open_time_ms)).where(
            _T.c.symbol == symbol, _T.c.timeframe == timeframe.value
        )
        with self.engine.connect() as conn:
            value = conn.execute(stmt).scalar()
        return int(value) if value is not None else None

    def newest_by_symbol(self, timeframe: Timeframe) -> dict[str, int]:
        """Newest stored open time of every symbol for one timeframe."""
        stmt = (
            select(_T.c.symbol, func.max(_T.c.open_time_ms))
            .where(_T.c.timeframe == timeframe.value)
            .group_by(_T.c.symbol)
        )
        with self.engine.connect() as conn:
            return {str(s): int(t) for s, t in conn.execute(stmt).all()}

    def upsert(self, candles: Candles) -> int:
        """Insert or replace candles; returns the number of rows written."""
        if not len(candles):
            return 0
        candles.validate()
        rows = [
            {
                "symbol": candles.symbol,
                "timeframe": candles.timeframe.value,
                "open_time_ms": t,
                "open": o,
                "high": h,
                "low": lo,
                "close": c,
                "volume": v,
            }
            for t, o, h, lo, c, v in candles.rows()
        ]
        self._upsert_rows(rows)
        return len(rows)

    def upsert_many(self, blocks: Iterable[Candles]) -> int:
        return sum(self.upsert(block) for block in blocks)

    def upsert_bars(
        self,
        timeframe: Timeframe,
        bars: Iterable[tuple[str, int, float, float, float, float, float]],
    ) -> int:
        """Insert or replace candles of many symbols in one transaction: rows of (symbol,
        open time, open, high, low, close, volume)."""
        rows = [
            {
                "symbol": s,
                "timeframe": timeframe.value,
                "open_time_ms": t,
                "open": o,
                "high": h,
                "low": lo,
                "close": c,
                "volume": v,
            }
            for s, t, o, h, lo, c, v in bars
        ]
        if rows:
            self._upsert_rows(rows)
        return len(rows)

    def _upsert_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        dialect = self.engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            for i in range(0, len(rows), _BATCH):
                stmt = insert(_T)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_T.c.symbol, _T.c.timeframe, _T.c.open_time_ms],
                    set_={
                        "open": stmt.excluded.open,
                        "high": stmt.excluded.high,
                        "low": stmt.excluded.low,
                        "close": stmt.excluded.close,
                        "volume": stmt.excluded.volume,
                    },
                )
                conn.execute(stmt, list(rows[i : i + _BATCH]))

    def count(self, symbol: str | None = None, timeframe: Timeframe | None = None) -> int:
        stmt = select(func.count()).select_from(_T)
        if symbol is not None:
            stmt = stmt.where(_T.c.symbol == symbol)
        if timeframe is not None:
            stmt = stmt.where(_T.c.timeframe == timeframe.value)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def symbols(self) -> list[str]:
        with self.engine.connect() as conn:
            return sorted(str(s) for s in conn.execute(select(_T.c.symbol).distinct()).scalars())

    def delete_symbol(self, symbol: str) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(delete(_T).where(_T.c.symbol == symbol)).rowcount or 0)

    def prune(self, keep: int) -> int:
        """Keep only the newest `keep` candles of every (symbol, timeframe)."""
        ranked = select(
            _T.c.symbol,
            _T.c.timeframe,
            _T.c.open_time_ms,
            func.row_number()
            .over(
                partition_by=(_T.c.symbol, _T.c.timeframe),
                order_by=_T.c.open_time_ms.desc(),
            )
            .label("rn"),
        ).subquery()
        doomed = select(ranked.c.symbol, ranked.c.timeframe, ranked.c.open_time_ms).where(
            ranked.c.rn > keep
        )
        stmt = delete(_T).where(
            and_(tuple_(_T.c.symbol, _T.c.timeframe, _T.c.open_time_ms).in_(doomed))
        )
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount or 0)
