"""The cluster clock: offsets measured against the database, the corrected reading, and the
background re-measurement."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from infra import clock
from infra.db import ensure_schema, get_engine


@pytest.fixture(autouse=True)
def fresh_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


def skew_this_host(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """This process's wall clock reads `seconds` ahead (negative: behind) of the real one."""
    monkeypatch.setattr(clock, "time", SimpleNamespace(time=lambda: time.time() + seconds))


def test_the_offset_corrects_the_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    skew_this_host(monkeypatch, 90.0)
    clock.set_offset_ms(-90_000)
    assert abs(clock.now_ms() - time.time() * 1000) < 50
    assert abs(clock.wall_ms() - (time.time() + 90) * 1000) < 50
    assert clock.now().tzinfo is not None
    assert clock.to_local_ms(1_000_000) == 1_090_000, "reference moment on this host's clock"


def test_sqlite_is_this_hosts_clock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mtf.db'}"
    ensure_schema(url)
    found = clock.sync_with(get_engine(url))
    assert found.offset_ms == 0 and clock.offset_ms() == 0
    assert "SQLite" in found.describe()


@pytest.mark.services
@pytest.mark.parametrize("skew_s", [0.0, 40.0, -150.0])
def test_offset_measured_against_the_database(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, skew_s: float
) -> None:
    skew_this_host(monkeypatch, skew_s)
    found = clock.sync_with(get_engine(pg_database))
    # The server runs on the real clock: the offset undoes this host's skew, within the
    # round trip (generous: the machine is shared).
    assert abs(found.offset_ms + skew_s * 1000) < 250 + found.round_trip_ms
    assert found.round_trip_ms >= 0
    assert abs(clock.now_ms() - time.time() * 1000) < 300
    assert clock.last_measurement() == found
    assert clock.skew_seconds() == pytest.approx(abs(skew_s), abs=0.3)
    if skew_s > 0:
        assert "ahead of the database's" in found.describe()
    elif skew_s < 0:
        assert "behind the database's" in found.describe()


@pytest.mark.services
def test_background_sync_follows_a_drifting_host(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = get_engine(pg_database)
    clock.sync_with(engine)
    skew_this_host(monkeypatch, 25.0)  # the host's clock jumps after the start
    clock.start_sync(lambda: engine, every_s=0.1, max_skew_s=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and abs(clock.offset_ms() + 25_000) > 300:
        time.sleep(0.05)
    assert abs(clock.offset_ms() + 25_000) <= 300
    assert abs(clock.now_ms() - time.time() * 1000) < 400


def test_ensure_synced_measures_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[object] = []
    monkeypatch.setattr(clock, "sync_with", lambda engine: calls.append(engine))
    url = f"sqlite:///{tmp_path / 'x.db'}"
    clock.ensure_synced(get_engine(url))
    assert calls == [], "a SQLite database is this host: nothing to measure"
