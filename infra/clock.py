"""The clock of shared decisions: candle closure, staleness, leases, the trading day and
cool-downs.

Every process reads time here rather than from its own wall clock, so hosts whose clocks
disagree still agree on which candle has closed or which lease has expired: `now_ms()` is this
host's wall clock corrected by an offset measured against the cluster's reference clock, the
database server's (`sync_with`). Pure code never calls it; it takes `as_of` as an input.

The offset is measured NTP-style: several `clock_timestamp()` round trips, the one with the
shortest round trip wins, and the server's reading is compared with the midpoint of the local
send and receive times (the error is at most half that round trip). A SQLite database is on
this host: its clock is this clock, the offset stays 0. `start_sync` keeps measuring in a
background thread, so a drifting host keeps agreeing with the others.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

log = logging.getLogger("infra.clock")

_offset_ms = 0
_measured: Measurement | None = None
_state_lock = threading.Lock()
_sync_thread: threading.Thread | None = None
_stop_sync = threading.Event()

#: Round trips per measurement; the shortest is kept.
SAMPLES = 5


def wall_ms() -> int:
    """This host's own wall clock, in epoch milliseconds (for durations and diagnostics)."""
    return int(time.time() * 1000)


def now_ms() -> int:
    """The reference time in epoch milliseconds."""
    return wall_ms() + _offset_ms


def now() -> datetime:
    """The reference time as an aware UTC datetime."""
    return datetime.fromtimestamp(now_ms() / 1000, tz=UTC)


def offset_ms() -> int:
    """How far the reference clock is ahead of this host's wall clock."""
    return _offset_ms


def set_offset_ms(offset: int) -> None:
    """Correct this process's reading of the reference clock by `offset` milliseconds."""
    global _offset_ms
    _offset_ms = int(offset)


def to_local_ms(reference_ms: float) -> float:
    """The moment on this host's wall clock at which the reference clock reads `reference_ms`
    (for libraries that wait on the local clock, e.g. Celery's ETA timer)."""
    return reference_ms - _offset_ms


@dataclass(frozen=True)
class Measurement:
    """One offset measurement against a reference clock."""

    offset_ms: float  # reference minus this host's wall clock
    round_trip_ms: float  # of the best sample: the error is at most half of it
    source: str  # what was measured against ("postgresql", "sqlite: this host")
    at_wall_ms: int

    def describe(self) -> str:
        """e.g. `this host's clock is 40.012 s behind the database's (±0.4 ms)`."""
        if self.source.startswith("sqlite"):
            return "the database is a SQLite file on this host: its clock is the reference"
        seconds = abs(self.offset_ms) / 1000
        where = "behind" if self.offset_ms > 0 else "ahead of"
        return (
            f"this host's clock is {seconds:.3f} s {where} the database's "
            f"(±{self.round_trip_ms / 2:.1f} ms)"
        )


def measure(engine: Engine, samples: int = SAMPLES) -> Measurement:
    """The offset of `engine`'s server clock from this host's (no change to the clock)."""
    if engine.dialect.name != "postgresql":
        return Measurement(0.0, 0.0, f"{engine.dialect.name}: this host", wall_ms())
    best: tuple[float, float] | None = None
    query = text("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # the connection is open before the first sample
        for _ in range(max(1, samples)):
            sent = time.time() * 1000
            server = float(conn.execute(query).scalar_one())
            received = time.time() * 1000
            trip = received - sent
            if best is None or trip < best[1]:
                best = (server - (sent + received) / 2, trip)
        conn.rollback()
    assert best is not None
    return Measurement(best[0], best[1], "postgresql", wall_ms())


def sync_with(engine: Engine, samples: int = SAMPLES) -> Measurement:
    """Measure the offset against `engine`'s server and use it from now on."""
    global _measured
    found = measure(engine, samples)
    with _state_lock:
        set_offset_ms(round(found.offset_ms))
        _measured = found
    return found


def last_measurement() -> Measurement | None:
    """The measurement in use (None: never measured; the offset is then 0 or set by hand)."""
    return _measured


def skew_seconds() -> float:
    """The measured difference between this host and the reference, in seconds (a gauge)."""
    return abs(_offset_ms) / 1000


def ensure_synced(engine: Engine) -> None:
    """Measure once in this process if nothing was measured yet (one-shot tools)."""
    if _measured is None and engine.dialect.name == "postgresql":
        try:
            sync_with(engine)
        except Exception as exc:  # the tool reports its own database errors
            log.warning("clock: cannot measure the offset against the database: %s", exc)


def start_sync(engine: Callable[[], Engine], every_s: float, max_skew_s: float) -> None:
    """Re-measure every `every_s` seconds in a daemon thread (one per process; a forked child
    starts its own). `engine` gives the engine at each measurement (a forked child replaces
    its engines). A measurement that fails keeps the last offset; a skew past `max_skew_s` is
    logged at error level each time it is seen."""
    global _sync_thread, _stop_sync
    if engine().dialect.name != "postgresql" or every_s <= 0:
        return
    if _sync_thread is not None and _sync_thread.is_alive():
        return
    stop = _stop_sync = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                found = sync_with(engine())
            except Exception as exc:
                log.warning("clock: re-measuring against the database failed: %s", exc)
                continue
            if abs(found.offset_ms) > max_skew_s * 1000:
                log.error(
                    "clock: %s, beyond MTF_MAX_CLOCK_SKEW_SECONDS=%s; decisions still use the "
                    "database's time, but synchronise this host (NTP)",
                    found.describe(),
                    max_skew_s,
                )

    _sync_thread = threading.Thread(target=loop, name="mtf-clock-sync", daemon=True)
    _sync_thread.start()


def stop_sync() -> None:
    """Stop the background re-measurement (tests)."""
    global _sync_thread
    _stop_sync.set()
    if _sync_thread is not None:
        _sync_thread.join(timeout=5)
    _sync_thread = None


def _after_fork_in_child() -> None:
    # The parent's sync thread does not exist here; its locks may have been held at the fork.
    global _state_lock, _sync_thread, _stop_sync
    _state_lock = threading.Lock()
    _sync_thread = None
    _stop_sync = threading.Event()


os.register_at_fork(after_in_child=_after_fork_in_child)


def reset() -> None:
    """Forget any measurement (tests)."""
    global _measured
    stop_sync()
    with _state_lock:
        set_offset_ms(0)
        _measured = None
