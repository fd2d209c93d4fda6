"""Lease locks in the database: the per-profile overlap lease of the runner.

A lease is taken by a holder (the run id), renewed by that holder while its run progresses and
released by it at the end; it is never taken from a holder whose lease is still valid. If the
holder dies, the lease expires `ttl` after its last renewal (or the run reaper frees it sooner,
at the run's deadline). Expiry is judged by one clock for every host: the database's own
(`now()`) on PostgreSQL, `infra.clock` on SQLite (one host by construction). The lock lives in
the database, so the embedded and the distributed mode share one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import DateTime, Interval

from infra import clock as shared_clock
from infra.models import LockRow, UTCDateTime, table_of

_T = table_of(LockRow)


@dataclass(frozen=True)
class LeaseHolder:
    holder: str
    acquired_at: datetime
    expires_at: datetime


class LeaseLock:
    def __init__(
        self,
        engine: Engine,
        name: str,
        ttl_seconds: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.name = name
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def _times(self) -> tuple[Any, Any]:
        """(now, now + ttl) as SQL expressions: the database's clock on PostgreSQL (shared by
        every host), else this process's shared clock."""
        if self.clock is None and self.engine.dialect.name == "postgresql":
            now = func.now().cast(DateTime(timezone=True))
            return now, now + literal(self.ttl, Interval())
        moment = self.clock() if self.clock is not None else shared_clock.now()
        return literal(moment, UTCDateTime()), literal(moment + self.ttl, UTCDateTime())

    def acquire(self, holder: str) -> tuple[bool, LeaseHolder | None]:
        """Take the lease (again, for its holder); on failure return who holds it."""
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            now, expires = self._times()
            # RETURNING, not rowcount: drivers report -1 for INSERT .. ON CONFLICT DO NOTHING
            inserted = conn.execute(
                insert(_T)
                .from_select(
                    ["name", "holder", "acquired_at", "expires_at"],
                    select(literal(self.name), literal(holder), now, expires),
                )
                .on_conflict_do_nothing(index_elements=[_T.c.name])
                .returning(_T.c.name)
            ).first()
            if inserted is not None:
                return True, None
            taken = conn.execute(
                update(_T)
                .where(_T.c.name == self.name)
                .where((_T.c.expires_at < now) | (_T.c.holder == holder))
                .values(holder=holder, acquired_at=now, expires_at=expires)
            ).rowcount
            if taken:
                return True, None
            row = conn.execute(
                select(_T.c.holder, _T.c.acquired_at, _T.c.expires_at).where(_T.c.name == self.name)
            ).first()
        if row is None:  # released between our statements: try once more
            return self.acquire(holder)
        return False, LeaseHolder(row.holder, row.acquired_at, row.expires_at)

    def renew(self, holder: str) -> bool:
        """Extend the lease by its TTL from now; False if `holder` no longer holds it."""
        with self.engine.begin() as conn:
            _, expires = self._times()
            renewed = conn.execute(
                update(_T)
                .where(_T.c.name == self.name, _T.c.holder == holder)
                .values(expires_at=expires)
            ).rowcount
        return bool(renewed)

    def release(self, holder: str) -> bool:
        """Release the lease if `holder` still holds it."""
        with self.engine.begin() as conn:
            deleted = conn.execute(
                delete(_T).where(_T.c.name == self.name, _T.c.holder == holder)
            ).rowcount
        return bool(deleted)

    def holder(self) -> LeaseHolder | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_T.c.holder, _T.c.acquired_at, _T.c.expires_at).where(
                    _T.c.name == self.name, _T.c.expires_at >= self._times()[0]
                )
            ).first()
        if row is None:
            return None
        return LeaseHolder(row.holder, row.acquired_at, row.expires_at)


def release_held_by(engine: Engine, holders: Iterable[str]) -> int:
    """Free every lease held by these holders (the reaper, for runs it declared dead)."""
    ids = list(holders)
    if not ids:
        return 0
    with engine.begin() as conn:
        return int(conn.execute(delete(_T).where(_T.c.holder.in_(ids))).rowcount or 0)


def run_lock_name(profile: str) -> str:
    return f"run:{profile}"
