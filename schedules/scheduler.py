"""Beat's scheduler: RedBeat for the leader lock and the static entries, the database for the
cycle schedules, and no exit on a fault.

Every tick (at most `beat_loop_seconds` apart):

1. Leadership: the leader extends its Redis lock; a standby tries to take it (without
   blocking), so it leads within the lock timeout plus one tick after the leader died.
2. As leader: restores the static entries (TP/SL sweep, maintenance) in Redis if they are gone
   and sends those that are due; dispatches the cycle schedules from the database
   (`schedules.dispatch`: every scheduled time claimed once or recorded missed); every few
   seconds reaps runs past their deadline. A paused schedule is a database row: no beat, leader
   or standby, brings it back.
3. Faults: Redis or the database unreachable is logged once per attempt, with a backoff, and the
   tick returns early; nothing is raised to Celery's beat loop, so beat never exits on them and
   resumes by itself when they come back.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

import redis
from redbeat.schedulers import RedBeatScheduler, get_redis
from redis.exceptions import LockError

from infra import clock
from infra.db import ensure_schema, get_engine
from infra.settings import get_settings
from mtf import health
from mtf.runs import RunStore
from mtf.tasks.lifecycle import is_db_down, publish_outcome
from schedules.beat import CYCLE_TASK, TPSL_TASK, seed_defaults
from schedules.dispatch import Dispatcher, Readiness, never_ready
from schedules.store import ScheduleStore

log = logging.getLogger("mtf.beat")
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)
REAP_EVERY_S = 5.0
MAX_BACKOFF_S = 8.0


def load_readiness(path: str) -> Readiness:
    """The readiness predicate named `module:callable` (empty: never early)."""
    if not path:
        return never_ready
    module, _, name = path.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"MTF_BEAT_READINESS={path!r}: cannot load it ({exc})") from None
    if not callable(found):
        raise ValueError(f"MTF_BEAT_READINESS={path!r} is not callable")
    return found


class DurableScheduler(RedBeatScheduler):
    def __init__(self, app: Any, **kwargs: Any) -> None:
        self.settings = get_settings()
        self.identity = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.leader = False
        self._lock: Any = None
        self._lock_valid_until: datetime | None = None
        self._backoff: dict[str, float] = {}
        self._retry_at: dict[str, datetime] = {}
        self._statics_ok = False
        self._seeded = False
        self._last_reap: datetime | None = None
        self._dispatcher: Dispatcher | None = None
        self._ready = load_readiness(self.settings.beat_readiness)
        super().__init__(app, **kwargs)
        # RedBeat's own start-up hook blocks until it holds the lock; this scheduler takes the
        # lock from its ticks instead (a standby keeps ticking, and survives Redis going away).
        self.leader_key: str = str(getattr(self, "lock_key", "") or "")
        self.lock_key = None

    # --- start-up ---------------------------------------------------------------------------

    def setup_schedule(self) -> None:
        try:
            super().setup_schedule()
            self._statics_ok = True
        except REDIS_DOWN as exc:
            self._fault("redis", exc, clock.now())

    @property
    def info(self) -> str:
        return (
            f"       . leader lock -> {self.leader_key} ({self.lock_timeout}s)\n"
            f"       . cycle schedules -> the database ({self.settings.database_url.split(':')[0]})"
        )

    # --- the tick ---------------------------------------------------------------------------

    def tick(self, min: Any = min, **kwargs: Any) -> float:
        now = clock.now()
        wait = float(self.max_interval)
        try:
            wait = self._tick(now)
        except Exception as exc:  # never let a fault end beat: log it and tick again
            log.error("beat: tick failed (%s: %s); retrying", type(exc).__name__, exc)
            wait = float(self.max_interval)
        health.write(
            "beat",
            socket.gethostname(),
            role="leader" if self.leader else "standby",
            redis="down" if "redis" in self._backoff else "ok",
            database="down" if "database" in self._backoff else "ok",
        )
        return max(0.05, min(wait, float(self.max_interval)))

    def _tick(self, now: datetime) -> float:
        if not self._ready_for("redis", now):
            if not self._still_leading(now):
                return self._wait("redis", now)
        else:
            try:
                self._lead(now)
                if self.leader:
                    self._static_entries()
                self._recovered("redis", now)
            except REDIS_DOWN as exc:
                self._fault("redis", exc, now)
                if not self._still_leading(now):
                    return self._wait("redis", now)
        if not self.leader:
            return float(self.max_interval)
        if not self._ready_for("database", now):
            return self._wait("database", now)
        try:
            wait = self._cycles(now)
        except Exception as exc:
            if not is_db_down(exc):
                raise
            self._fault("database", exc, now)
            if self._dispatcher is not None:
                self._dispatcher.outage("database", now)
            return self._wait("database", now)
        back = self._recovered("database", now)
        if back and self._dispatcher is not None:
            self._dispatcher.recovered("database", now)
        return wait

    # --- leadership -------------------------------------------------------------------------

    def _lead(self, now: datetime) -> None:
        client = get_redis(self.app)
        if self._lock is None:
            self._lock = client.lock(self.leader_key, timeout=self.lock_timeout, thread_local=False)
        if self.leader:
            try:
                self._lock.extend(self.lock_timeout, replace_ttl=True)
                self._lock_valid_until = now + timedelta(seconds=self.lock_timeout)
                return
            except LockError:
                log.warning("beat: lost the leader lock (Redis restarted or it expired)")
                self._set_leader(False, now)
        if self._lock.acquire(blocking=False):
            self._lock_valid_until = now + timedelta(seconds=self.lock_timeout)
            self._set_leader(True, now)

    def _still_leading(self, now: datetime) -> bool:
        """Redis unreachable: a leader keeps leading until its lock would have expired (no
        other beat can take it meanwhile); the database still guards every scheduled time."""
        if self.leader and self._lock_valid_until is not None and now < self._lock_valid_until:
            return True
        if self.leader:
            self._set_leader(False, now)
        return False

    def _set_leader(self, leading: bool, now: datetime) -> None:
        if leading == self.leader:
            return
        self.leader = leading
        if leading:
            log.warning("beat: %s leads (lock %s)", self.identity, self.leader_key)
            self._statics_ok = False  # check them now: Redis may have lost them
        else:
            log.warning("beat: %s is standby", self.identity)
        if self._dispatcher is not None:
            self._dispatcher.leading_since = now if leading else None

    # --- static entries (RedBeat) -----------------------------------------------------------

    def _static_entries(self) -> None:
        conf = self.app.redbeat_conf
        client = get_redis(self.app)
        names = list(conf.schedule)
        if names:
            keys = [self.Entry.generate_key(self.app, n) for n in names]
            with client.pipeline() as pipe:
                for key in keys:
                    pipe.exists(key)
                present = pipe.execute()
            if not all(present) or not self._statics_ok:
                missing = [n for n, ok in zip(names, present, strict=True) if not ok]
                if missing:
                    log.warning(
                        "beat: restoring %d static entries in Redis: %s",
                        len(missing),
                        ", ".join(missing),
                    )
                super().setup_schedule()
                self._statics_ok = True
        for entry in self.schedule.values():
            self.maybe_due(entry, **self._maybe_due_kwargs)

    def maybe_due(self, entry: Any, **kwargs: Any) -> Any:
        # RedBeat logs a traceback on every failed send; one line is enough (the broker being
        # away is logged by the reconnection itself).
        is_due, next_time_to_run = entry.is_due()
        if is_due:
            try:
                self.apply_async(entry, **kwargs)
            except Exception as exc:
                first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
                log.warning(
                    "beat: %s not sent (%s: %s)", entry.name, type(exc).__name__, first_line
                )
            else:
                log.info("beat: sent %s (%s)", entry.name, entry.task)
        return next_time_to_run

    # --- cycle schedules (database) ---------------------------------------------------------

    def _cycles(self, now: datetime) -> float:
        dispatcher = self._dispatcher or self._make_dispatcher(now)
        if not self._seeded:
            created = dispatcher.schedules.seed(
                list(self.settings.schedule_profiles), seed_defaults(self.settings)
            )
            if created:
                log.warning(
                    "beat: seeded schedules from MTF_SCHEDULE_PROFILES: %s", ", ".join(created)
                )
            self._seeded = True
        wait = dispatcher.tick(now)
        if self._last_reap is None or (now - self._last_reap).total_seconds() >= REAP_EVERY_S:
            self._reap(dispatcher.runs, now)
            self._last_reap = now
        return wait

    def _make_dispatcher(self, now: datetime) -> Dispatcher:
        ensure_schema(self.settings.database_url)
        engine = get_engine(self.settings.database_url)
        self._dispatcher = Dispatcher(
            settings=self.settings,
            schedules=ScheduleStore(engine),
            runs=RunStore(engine),
            publish=self._publish,
            ready=self._ready,
            leading_since=now if self.leader else None,
        )
        return self._dispatcher

    def _publish(self, run_id: str, request: dict[str, Any], scheduled: datetime) -> None:
        self.app.send_task(
            CYCLE_TASK,
            kwargs=request,
            task_id=run_id,
            queue="mtf",
            ignore_result=True,
            headers={"mtf_requested_ms": int(scheduled.timestamp() * 1000)},
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2},
        )

    def _reap(self, runs: RunStore, now: datetime) -> None:
        reaped = runs.reap(now)
        profiles = set()
        for r in reaped:
            profiles.add(r.profile)
            publish_outcome(self.app, r.run_id, r.status, {"status": r.status, "message": r.detail})
        for profile in profiles:
            row = runs.release_buffered(profile)
            if row is not None:
                self._publish(row.run_id, dict(row.request or {}), row.scheduled_for or now)

    # --- faults -----------------------------------------------------------------------------

    def _ready_for(self, what: str, now: datetime) -> bool:
        at = self._retry_at.get(what)
        return at is None or now >= at

    def _wait(self, what: str, now: datetime) -> float:
        at = self._retry_at.get(what, now)
        return max((at - now).total_seconds(), 0.05)

    def _fault(self, what: str, exc: BaseException, now: datetime) -> None:
        delay = min(self._backoff.get(what, 0.5) * 2, MAX_BACKOFF_S)
        self._backoff[what] = delay
        self._retry_at[what] = now + timedelta(seconds=delay)
        first_line = str(exc).splitlines()[0][:200] if str(exc) else ""
        log.warning(
            "beat: %s unreachable (%s: %s); retrying in %.0f s",
            what,
            type(exc).__name__,
            first_line,
            delay,
        )

    def _recovered(self, what: str, now: datetime) -> bool:
        if what not in self._backoff:
            return False
        del self._backoff[what]
        self._retry_at.pop(what, None)
        log.warning("beat: %s reachable again", what)
        if what == "redis" and self.leader:
            # Sweeps may have been missed while the broker was away: protect positions now.
            try:
                self.app.send_task(TPSL_TASK, kwargs={}, queue="tpsl", ignore_result=True)
            except Exception as exc:
                log.warning("beat: catch-up TP/SL sweep not sent (%s)", type(exc).__name__)
        return True

    def close(self) -> None:
        try:
            if self._lock is not None and self.leader:
                self._lock.release()
                log.info("beat: released the leader lock")
        except (LockError, *REDIS_DOWN):
            pass
        self._lock = None
        with contextlib.suppress(Exception):
            super(RedBeatScheduler, self).close()
