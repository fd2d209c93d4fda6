"""Stream leadership: one lease in the database (`locks`), taken by one process and renewed
while it runs, so two stream processes never write the same rows; a standby takes over when
the leader stops renewing (crash, lost database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, update

from infra import clock
from infra.models import LockRow, table_of
from mtf.lock import LeaseLock

_T = table_of(LockRow)
LEASE_NAME = "stream:leader"


class Leadership:
    def __init__(
        self,
        engine: Engine,
        holder: str,
        ttl_s: float,
        *,
        name: str = LEASE_NAME,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.engine = engine
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_s)
        self.name = name
        self.now = now
        self.lock = LeaseLock(engine, name, ttl_s, clock=now)

    def acquire(self) -> bool:
        """Take the lease (or keep it, if this holder already has it)."""
        taken, holder = self.lock.acquire(self.holder)
        if taken:
            return True
        return holder is not None and holder.holder == self.holder and self.renew()

    def renew(self) -> bool:
        """Push the lease's expiry out; False when this holder no longer holds it."""
        now = self.now()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(_T)
                .where(_T.c.name == self.name, _T.c.holder == self.holder, _T.c.expires_at >= now)
                .values(expires_at=now + self.ttl)
            ).rowcount
        return bool(done)

    def release(self) -> None:
        self.lock.release(self.holder)

    def current(self) -> str | None:
        held = self.lock.holder()
        return None if held is None else held.holder
