"""Dispatch of the cycle schedules: every scheduled time of every active schedule is either
sent as a run (claimed once in the database, so two beats never send it twice) or recorded as
missed with why.

For each active schedule, from its cursor (everything up to it is accounted for) to now:

* a time whose offset has not passed yet waits, unless the readiness predicate says its
  candles are in (then it goes early);
* a time still inside the catch-up window is claimed (`runs` row, unique per schedule and time)
  and sent; if the broker refuses it, the claim stays and is sent again on the next tick, until
  the window closes and it is recorded missed (broker unreachable);
* a time past the catch-up window is recorded missed: beat down (no leader then), database or
  broker unreachable (outages this beat lived through), or simply too late.

Times that passed while a schedule was paused are not accounted: pausing is an operator's
decision, and resuming starts afresh.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from infra.models import ScheduleRow
from infra.settings import Settings
from mtf.runs import RunStore
from mtf.staleness import run_deadline, stale_after_ms
from schedules.cadence import Cadence, CadenceError, parse_cadence
from schedules.store import ScheduleStore

log = logging.getLogger("mtf.beat")

#: `ready(schedule, scheduled_for)`: the candles of that scheduled time are in, so its run may
#: start before the offset (the market-data stream provides one; default: never early).
Readiness = Callable[[ScheduleRow, datetime], bool]
#: `publish(run_id, request, scheduled_for)` sends a run; raises if the broker refuses it.
Publish = Callable[[str, dict[str, Any], datetime], None]
#: How often the readiness predicate is asked while a time waits for its offset.
READY_POLL_S = 0.2
#: Missed times recorded per schedule and tick at most (a long outage is caught up over a few
#: ticks instead of one long transaction).
MAX_MISSES_PER_TICK = 500


def never_ready(schedule: ScheduleRow, scheduled_for: datetime) -> bool:
    return False


@dataclass
class Outage:
    what: str
    since: datetime
    until: datetime | None = None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.since <= end and (self.until is None or self.until >= start)

    def describe(self) -> str:
        end = f"{self.until:%H:%M:%S}" if self.until else "now"
        return f"{self.what} unreachable from {self.since:%H:%M:%S} to {end}"


@dataclass
class Dispatcher:
    settings: Settings
    schedules: ScheduleStore
    runs: RunStore
    publish: Publish
    ready: Readiness = never_ready
    leading_since: datetime | None = None
    outages: list[Outage] = field(default_factory=list)
    _cadences: dict[str, Cadence] = field(default_factory=dict)
    _broker_retry_at: datetime | None = None

    # --- outages this process lived through (the why of missed times) --------------------

    def outage(self, what: str, now: datetime) -> None:
        current = self._open(what)
        if current is None:
            self.outages.append(Outage(what, now))
            del self.outages[:-20]

    def recovered(self, what: str, now: datetime) -> Outage | None:
        current = self._open(what)
        if current is not None:
            current.until = now
        return current

    def _open(self, what: str) -> Outage | None:
        for o in reversed(self.outages):
            if o.what == what and o.until is None:
                return o
        return None

    def why_missed(self, fire_at: datetime, late_s: float, window_s: int) -> str:
        # an outage during the time's window kept it from being sent
        window_end = fire_at + timedelta(seconds=window_s)
        for what in ("database", "broker"):
            for o in reversed(self.outages):
                if o.what == what and o.overlaps(fire_at, window_end):
                    return f"{o.describe()}; outside the catch-up window ({window_s} s)"
        if self.leading_since is None or fire_at < self.leading_since:
            since = f"{self.leading_since:%H:%M:%S}" if self.leading_since else "?"
            return (
                f"beat down: no beat was leading at {fire_at:%H:%M:%S} (this one leads since "
                f"{since}); outside the catch-up window ({window_s} s)"
            )
        return f"sent {late_s:.0f} s late, outside the catch-up window ({window_s} s)"

    # --- the tick ---------------------------------------------------------------------------

    def cadence(self, spec: str) -> Cadence | None:
        if spec not in self._cadences:
            try:
                self._cadences[spec] = parse_cadence(spec)
            except CadenceError as exc:
                log.error("beat: %s", exc)
                return None
        return self._cadences[spec]

    def tick(self, now: datetime) -> float:
        """Dispatch what is due; return the seconds until something may be due again.
        Database errors propagate (the scheduler backs off and records the outage)."""
        wait = float("inf")
        for schedule in self.schedules.active(now):
            wait = min(wait, self._dispatch(schedule, now))
        return wait

    def _dispatch(self, schedule: ScheduleRow, now: datetime) -> float:
        cadence = self.cadence(schedule.cadence)
        if cadence is None:
            return float("inf")
        offset = timedelta(seconds=schedule.offset_seconds)
        window = schedule.catchup_window_seconds
        for row in self.runs.unsent(schedule.name):
            assert row.scheduled_for is not None
            late = (now - (row.scheduled_for + offset)).total_seconds()
            if late > window:
                why = self.why_missed(row.scheduled_for + offset, late, window)
                self.runs.expire_unsent(row.run_id, why)
            elif not self._send(row.run_id, dict(row.request or {}), row.scheduled_for, now):
                return 1.0
        cursor = schedule.cursor_at or now
        misses = 0
        for scheduled in cadence.times(cursor, now):
            fire_at = scheduled + offset
            if now < fire_at and not self.ready(schedule, scheduled):
                return min(
                    (fire_at - now).total_seconds(),
                    READY_POLL_S if self.ready is not never_ready else float("inf"),
                )
            late = (now - fire_at).total_seconds()
            if late > window:
                why = self.why_missed(fire_at, late, window)
                self.runs.record_missed(
                    _run_id(),
                    schedule=schedule.name,
                    scheduled_for=scheduled,
                    profile=schedule.profile,
                    detail=why,
                )
                self.schedules.advance_cursor(schedule.name, scheduled)
                misses += 1
                if misses == 1:
                    log.warning(
                        "beat: %s %s missed: %s", schedule.name, f"{scheduled:%H:%M:%S}", why
                    )
                if misses >= MAX_MISSES_PER_TICK:
                    return 0.0
                continue
            if not self._claim_and_send(schedule, scheduled, now):
                return 1.0
        following = cadence.next_after(max(cursor, cadence.latest_at_or_before(now)))
        until = (following + offset - now).total_seconds()
        if self.ready is not never_ready:
            until = min(until, max((following - now).total_seconds(), READY_POLL_S))
        return max(until, 0.0)

    def _claim_and_send(self, schedule: ScheduleRow, scheduled: datetime, now: datetime) -> bool:
        request = {**(schedule.request or {}), "profile": schedule.profile}
        stale_after = stale_after_ms(
            self.settings,
            schedule.profile,
            current_tf=request.get("current_tf"),
            override_seconds=schedule.stale_after_seconds,
        )
        run_id = _run_id()
        claimed = self.runs.claim_scheduled(
            run_id,
            schedule=schedule.name,
            scheduled_for=scheduled,
            profile=schedule.profile,
            request=request,
            deadline=run_deadline(self.settings, scheduled, stale_after),
        )
        self.schedules.advance_cursor(schedule.name, scheduled)
        if not claimed:
            log.info("beat: %s %s already claimed by another beat", schedule.name, scheduled)
            return True
        return self._send(run_id, request, scheduled, now)

    def _send(
        self, run_id: str, request: dict[str, Any], scheduled: datetime, now: datetime
    ) -> bool:
        if self._broker_retry_at is not None and now < self._broker_retry_at:
            return False
        try:
            self.publish(run_id, request, scheduled)
        except Exception as exc:
            self.outage("broker", now)
            self._broker_retry_at = now + timedelta(seconds=2)
            log.warning(
                "beat: cannot send run %s (%s: %s); retrying while inside the catch-up window",
                run_id,
                type(exc).__name__,
                str(exc).splitlines()[0][:200] if str(exc) else "",
            )
            return False
        self._broker_retry_at = None
        back = self.recovered("broker", now)
        if back is not None:
            log.warning("beat: broker reachable again (%s)", back.describe())
        self.runs.mark_queued(run_id)
        return True


def _run_id() -> str:
    return str(uuid.uuid4())
