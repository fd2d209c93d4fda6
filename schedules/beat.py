"""What beat runs besides the cycle schedules: the TP/SL sweep and maintenance.

Cycle schedules are rows in the database (`schedules.store`), dispatched by the scheduler of
`schedules.scheduler`, which accounts for every scheduled time. The entries here are static:
derived from the settings at every start and kept in RedBeat's store, from which they are
rebuilt whenever they go missing (a Redis that lost its data).

The TP/SL sweep has its own entry, half a minute off the candle close, so open positions stay
protected even when every cycle schedule is paused; cycles sweep as well (for their report),
and two sweeps never place anything twice.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from infra.settings import Settings
from schedules.store import ScheduleSpec

CYCLE_TASK = "mtf.run_cycle"
TPSL_TASK = "mtf.recalc_tpsl"
TPSL_ENTRY = "tpsl:sweep"
TPSL_OFFSET_SECONDS = 30


def seed_defaults(settings: Settings) -> ScheduleSpec:
    """The definition of the schedules seeded from MTF_SCHEDULE_PROFILES (name and profile
    are filled per profile): every minute, on the close, after the beat offset."""
    return ScheduleSpec(
        name="seed",
        profile=settings.profile,
        cadence="* * * * *",
        offset_seconds=float(settings.beat_offset_seconds),
        catchup_window_seconds=settings.catchup_window_seconds,
    )


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The static entries (RedBeat keeps them in Redis and beat restores them when lost)."""
    entries: dict[str, dict[str, Any]] = {}
    every = settings.tpsl_every_minutes
    entries[TPSL_ENTRY] = {
        "task": TPSL_TASK,
        "schedule": crontab(minute="*" if every == 1 else f"*/{every}"),
        "kwargs": {},
        "options": {
            "queue": "tpsl",
            "countdown": TPSL_OFFSET_SECONDS,
            "expires": TPSL_OFFSET_SECONDS + 60 * every,
            "ignore_result": True,
        },
    }
    if settings.exchange != "paper":
        entries["maintenance:contracts"] = {
            "task": "mtf.sync_contracts",
            "schedule": crontab(minute=0, hour=9),
            "kwargs": {},
            "options": {"queue": "maintenance", "ignore_result": True},
        }
    entries["maintenance:cleanup"] = {
        "task": "mtf.cleanup",
        "schedule": crontab(minute=17, hour=3),
        "kwargs": {},
        "options": {"queue": "maintenance", "ignore_result": True},
    }
    return entries
