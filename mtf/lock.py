"""Lease locks in the database: the per-profile overlap lock of the runner.

A lease is taken by a holder (the run id) and released by that holder only; if the holder dies
the lease expires after its TTL. The lock lives in the database, so the embedded mode (no Redis)
and the distributed mode share one implementation and one behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from infra import clock
from infra.models import LockRow, table_of

_T = table_of(LockRow)


def wall_clock() -> datetime:
    """The cluster's clock: a host whose own clock runs ahead never sees a live lease as
    expired."""
    return clock.now()


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
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.engine = engine
        self.name = name
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def acquire(self, holder: str) -> tuple[bool, LeaseHolder | None]:
        """Take the lease; on failure return who holds it."""
        now = self.clock()
        values = {
            "name": self.name,
            "holder": holder,
            "acquired_at": now,
            "expires_at": now + self.ttl,
        }
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: drivers report -1 for INSERT .. ON CONFLICT DO NOTHING
            inserted = conn.execute(
                insert(_T)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[_T.c.name])
                .returning(_T.c.name)
            ).first()
            if inserted is not None:
                return True, None
            taken = conn.execute(
                update(_T)
                .where(_T.c.name == self.name, _T.c.expires_at < now)
                .values(holder=holder, acquired_at=now, expires_at=now + self.ttl)
            ).rowcount
            if taken:
                return True, None
            row = conn.execute(
                select(_T.c.holder, _T.c.acquired_at, _T.c.expires_at).where(_T.c.name == self.name)
            ).first()
        if row is None:  # released between our statements: try once more
            return self.acquire(holder)
        return False, LeaseHolder(row.holder, row.acquired_at, row.expires_at)

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
                select(_T.c.holder, _T.c.acquired_at, _T.c.expires_at).where(_T.c.name == self.name)
            ).first()
        if row is None or row.expires_at < self.clock():
            return None
        return LeaseHolder(row.holder, row.acquired_at, row.expires_at)


def run_lock_name(profile: str) -> str:
    return f"run:{profile}"
