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


def test_lease_is_renewed_and_judged_by_one_clock(db_url: str) -> None:
    """Without an injected clock: the database's time on PostgreSQL, the shared clock on
    SQLite; a renewed lease outlives its first TTL, an unrenewed one lapses."""
    import time

    engine = get_engine(db_url)
    lock = LeaseLock(engine, "run:renewed", 1.0)
    assert lock.acquire("a") == (True, None)
    assert lock.acquire("a") == (True, None), "its holder takes it again"
    for _ in range(3):
        time.sleep(0.4)
        assert lock.renew("a")
    ok, holder = lock.acquire("b")
    assert not ok and holder is not None and holder.holder == "a", "never taken from a live holder"
    time.sleep(1.3)
    assert lock.holder() is None
    assert lock.acquire("b")[0], "a lapsed lease is taken"
    assert not lock.renew("a"), "the old holder learns it lost the lease"


def test_reaper_frees_leases_of_dead_holders(db_url: str) -> None:
    from mtf.lock import release_held_by

    engine = get_engine(db_url)
    assert LeaseLock(engine, "run:x", 60).acquire("dead")[0]
    assert LeaseLock(engine, "run:y", 60).acquire("alive")[0]
    assert release_held_by(engine, ["dead"]) == 1
    assert LeaseLock(engine, "run:x", 60).holder() is None
    assert LeaseLock(engine, "run:y", 60).holder() is not None
