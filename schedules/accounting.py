"""Which scheduled times have no completed run, and why (`mtf runs gaps`).

Expected times come from each schedule's cadence over the periods it was active (from its
creation, minus the paused stretches its change log records); each is matched with its run.
A time without a run is reported as not accounted for yet: no beat has dispatched it (none is
running, or it is catching up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from infra.models import RunRow, ScheduleChangeRow, ScheduleRow
from mtf.runs import RunStore
from schedules.cadence import CadenceError, parse_cadence
from schedules.store import ScheduleStore

MAX_EXPECTED = 20_000


@dataclass(frozen=True)
class Gap:
    schedule: str
    scheduled_for: datetime
    status: str
    detail: str
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "scheduled_for": self.scheduled_for.isoformat(),
            "status": self.status,
            "detail": self.detail,
            "run_id": self.run_id,
        }


def active_periods(
    schedule: ScheduleRow, changes: list[ScheduleChangeRow], until: datetime
) -> list[tuple[datetime, datetime]]:
    """[start, end) stretches during which the schedule fired (oldest first)."""
    periods: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    for change in sorted(changes, key=lambda c: (c.at, c.id)):
        if change.action in ("created", "resumed") and start is None:
            start = change.at
        elif change.action in ("paused", "deleted") and start is not None:
            periods.append((start, change.at))
            start = None
    if start is None and not periods and not schedule.paused:
        start = schedule.created_at  # a schedule from before the change log
    if start is not None:
        end = until
        if schedule.expires_at is not None:
            end = min(end, schedule.expires_at)
        periods.append((start, end))
    return periods


def find_gaps(
    schedules: ScheduleStore,
    runs: RunStore,
    since: datetime,
    until: datetime,
    name: str | None = None,
) -> list[Gap]:
    """Scheduled times in [since, until) (whose fire time has passed) without a completed run."""
    rows = {(r.schedule, r.scheduled_for): r for r in runs.in_window(since, until)}
    gaps: list[Gap] = []
    for schedule in schedules.all():
        if name is not None and schedule.name != name:
            continue
        try:
            cadence = parse_cadence(schedule.cadence)
        except CadenceError:
            continue
        offset = timedelta(seconds=schedule.offset_seconds)
        changes = schedules.history(schedule.name, limit=10_000)
        expected: list[datetime] = []
        for start, end in active_periods(schedule, changes, until):
            # a time belongs to the period its run fires in (its time plus the offset)
            lo, hi = max(start - offset, since), min(end - offset, until - offset)
            for moment in cadence.times(lo - timedelta(microseconds=1), hi):
                if moment + offset < end and len(expected) < MAX_EXPECTED:
                    expected.append(moment)
        seen = set()
        for moment in expected:
            seen.add(moment)
            row = rows.get((schedule.name, moment))
            if row is None:
                gaps.append(
                    Gap(
                        schedule.name,
                        moment,
                        "unaccounted",
                        "no run recorded yet: no beat has dispatched it (is a beat running?)",
                    )
                )
            elif row.status != "completed":
                gaps.append(_gap(row))
        # runs outside the cadence (triggered) that did not complete
        gaps.extend(
            _gap(r)
            for (sched, moment), r in rows.items()
            if sched == schedule.name and moment not in seen and r.status != "completed"
        )
    return sorted(gaps, key=lambda g: (g.scheduled_for, g.schedule))


def _gap(row: RunRow) -> Gap:
    assert row.schedule is not None and row.scheduled_for is not None
    return Gap(row.schedule, row.scheduled_for, row.status, row.detail or "", row.run_id)


def parse_since(text: str, now: datetime) -> datetime:
    """'1h', '30m', '2d', '90s' back from now, or an ISO time."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip()
    if text and text[-1] in units and text[:-1].isdigit():
        return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give a duration back from now (90s, 30m, 1h, 2d) or an ISO time"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"--since {text!r}: give a time zone (e.g. 2026-01-01T00:00Z)")
    return moment
