"""The lease lock behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.db import get_engine
from mtf.lock import LeaseLock


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_lease_excludes_then_expires(db_url: str) -> None:
    clock = Clock()
    lock = LeaseLock(get_engine(db_url), "run:p", 60, clock)
    assert lock.acquire("a") == (True, None)
    ok, holder = lock.acquire("b")
    assert not ok and holder is not None and holder.holder == "a"
    assert lock.holder() is not None
    clock.now += timedelta(seconds=61)
    assert lock.holder() is None
    assert lock.acquire("b")[0]
    assert not lock.release("a"), "only the holder releases"
    assert lock.release("b")
    assert lock.acquire("c")[0]


def test_locks_are_per_name(db_url: str) -> None:
    engine = get_engine(db_url)
    assert LeaseLock(engine, "run:a", 60).acquire("x")[0]
    assert LeaseLock(engine, "run:b", 60).acquire("y")[0]
