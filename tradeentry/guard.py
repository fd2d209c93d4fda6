"""What the TP/SL sweep remembers between sweeps (the database, shared by every host).

* `ProtectiveOrders`: the generations of each protective order. The same level asked for again
  soon after (a redelivered or concurrent sweep) reuses its generation, so the exchange
  recognises the order instead of taking a second one; asked for again after
  `REPLACE_AFTER_MS` the previous generation is not at the exchange any more (cancelled there,
  or never landed) and the next generation, with a new client id, replaces it.
* `PositionGuards`: the latest sweep's verdict per open position (`protected`, `unprotected`,
  `unknown`), which the metrics and `mtf account` read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from infra.db import engine_session
from infra.models import PositionGuardRow, ProtectiveOrderRow, table_of
from tradeentry.ids import protective_order_id

#: A level still wanted this long after its generation was claimed is not at the exchange.
#: Longer than a placement takes to show in the exchange's trigger list, shorter than the
#: sweep's cadence, so the next sweep after a cancellation replaces the order.
REPLACE_AFTER_MS = 30_000

#: Verdicts of a sweep on a position.
PROTECTED, UNPROTECTED, UNKNOWN = "protected", "unprotected", "unknown"

_ORDERS = table_of(ProtectiveOrderRow)
_GUARDS = table_of(PositionGuardRow)


@dataclass(frozen=True)
class Claim:
    level_key: str
    generation: int
    client_order_id: str
    claimed_ms: int


class ProtectiveOrders:
    """Generations of protective orders on one exchange."""

    def __init__(self, engine: Engine, exchange: str, *, replace_after_ms: int = REPLACE_AFTER_MS):
        self.engine = engine
        self.exchange = exchange
        self.replace_after_ms = replace_after_ms

    def claim(self, level_key: str, symbol: str, role: str, now_ms: int) -> Claim:
        """The generation to send for `level_key` now: the latest one while it is recent,
        else the next one."""
        latest = self.latest(level_key)
        if latest is None:
            return self._claim(level_key, 0, symbol, role, now_ms)
        if now_ms - latest.claimed_ms < self.replace_after_ms:
            return latest
        return self._claim(level_key, latest.generation + 1, symbol, role, now_ms)

    def supersede(self, claim: Claim, symbol: str, role: str, now_ms: int) -> Claim:
        """The next generation after `claim`, whose order the exchange holds but no longer
        keeps active (it said so)."""
        return self._claim(claim.level_key, claim.generation + 1, symbol, role, now_ms)

    def placed(self, claim: Claim, order_id: str) -> None:
        with engine_session(self.engine) as s:
            row = s.get(ProtectiveOrderRow, claim.client_order_id)
            if row is not None:
                row.order_id = order_id

    def latest(self, level_key: str) -> Claim | None:
        with engine_session(self.engine) as s:
            row = s.scalars(
                select(ProtectiveOrderRow)
                .where(
                    ProtectiveOrderRow.exchange == self.exchange,
                    ProtectiveOrderRow.level_key == level_key,
                )
                .order_by(ProtectiveOrderRow.generation.desc())
                .limit(1)
            ).first()
            return None if row is None else _claim_of(row)

    def count(self) -> int:
        with engine_session(self.engine) as s:
            query = select(func.count()).where(ProtectiveOrderRow.exchange == self.exchange)
            return int(s.scalar(query) or 0)

    def _claim(self, level_key: str, generation: int, symbol: str, role: str, now: int) -> Claim:
        cid = protective_order_id(level_key, generation)
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with engine_session(self.engine) as s:
            s.execute(
                insert(_ORDERS)
                .values(
                    client_order_id=cid,
                    exchange=self.exchange,
                    level_key=level_key,
                    generation=generation,
                    symbol=symbol,
                    role=role,
                    claimed_ms=now,
                )
                # A concurrent sweep claimed the same generation first: send the same id.
                .on_conflict_do_nothing()
            )
            row = s.get(ProtectiveOrderRow, cid)
            assert row is not None
            return _claim_of(row)


def _claim_of(row: ProtectiveOrderRow) -> Claim:
    return Claim(row.level_key, row.generation, row.client_order_id, row.claimed_ms)


@dataclass(frozen=True)
class Guard:
    """A sweep's verdict on one position."""

    exchange: str
    symbol: str
    side: str
    status: str
    size: Decimal | None
    stop_price: Decimal | None
    detail: str | None
    checked_ms: int


class PositionGuards:
    """The latest sweep's verdict per open position."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self, exchange: str, guards: Iterable[Guard], *, symbol: str | None, now_ms: int
    ) -> None:
        """Replace what is known of `exchange`'s positions (of `symbol`, when given). Each
        verdict is an upsert: a concurrent sweep of the same position writes after this one
        instead of failing on the row it wrote."""
        rows = [
            {
                "exchange": g.exchange,
                "symbol": g.symbol,
                "side": g.side,
                "status": g.status,
                "size": g.size,
                "stop_price": g.stop_price,
                "detail": g.detail,
                "checked_ms": now_ms,
            }
            for g in guards
        ]
        keys = _GUARDS.c.exchange, _GUARDS.c.symbol, _GUARDS.c.side
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with engine_session(self.engine) as s:
            gone = delete(PositionGuardRow).where(PositionGuardRow.exchange == exchange)
            if symbol is not None:
                gone = gone.where(PositionGuardRow.symbol == symbol)
            if rows:
                gone = gone.where(
                    tuple_(*keys).not_in([(r["exchange"], r["symbol"], r["side"]) for r in rows])
                )
            s.execute(gone)
            for row in rows:
                upsert = insert(_GUARDS).values(**row)
                s.execute(
                    upsert.on_conflict_do_update(
                        index_elements=list(keys),
                        set_={
                            k: upsert.excluded[k]
                            for k in row
                            if k not in ("exchange", "symbol", "side")
                        },
                    )
                )

    def mark_unknown(self, exchange: str, *, symbol: str | None, why: str, now_ms: int) -> int:
        """The positions could not be read: what was known of them becomes `unknown` (they
        are still counted as open). Returns how many."""
        with engine_session(self.engine) as s:
            query = select(PositionGuardRow).where(PositionGuardRow.exchange == exchange)
            if symbol is not None:
                query = query.where(PositionGuardRow.symbol == symbol)
            rows = list(s.scalars(query))
            for row in rows:
                row.status, row.detail, row.checked_ms = UNKNOWN, why, now_ms
            return len(rows)

    def all(self, exchange: str | None = None) -> list[Guard]:
        with engine_session(self.engine) as s:
            query = select(PositionGuardRow).order_by(
                PositionGuardRow.exchange, PositionGuardRow.symbol, PositionGuardRow.side
            )
            if exchange is not None:
                query = query.where(PositionGuardRow.exchange == exchange)
            return [
                Guard(
                    r.exchange,
                    r.symbol,
                    r.side,
                    r.status,
                    r.size,
                    r.stop_price,
                    r.detail,
                    r.checked_ms,
                )
                for r in s.scalars(query)
            ]
