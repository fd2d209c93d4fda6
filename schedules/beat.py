"""Beat schedule definitions: one cycle per enabled profile every minute, the TP/SL sweep,
plus maintenance.

A cycle is sent on the minute and held back `beat_offset_seconds` (the candle must be closed and
published by the exchange); it expires `beat_expires_seconds` after that, so a backlog never runs
a stale minute. Beat-sent cycles ignore their Celery result (the run is in the database and in
Flower's events), which also keeps beat from subscribing to result channels it never reads.

The TP/SL sweep has its own entry, half a minute off the candle close, so open positions stay
protected even when every cycle schedule is disabled; cycles sweep as well (for their report),
and two sweeps never place anything twice.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from infra.settings import Settings

CYCLE_TASK = "mtf.run_cycle"
TPSL_TASK = "mtf.recalc_tpsl"
TPSL_ENTRY = "tpsl:sweep"
TPSL_OFFSET_SECONDS = 30


def cycle_entry_name(profile: str) -> str:
    return f"cycle:{profile}"


def cycle_options(settings: Settings) -> dict[str, Any]:
    return {
        "queue": "mtf",
        "countdown": settings.beat_offset_seconds,
        "expires": settings.beat_offset_seconds + settings.beat_expires_seconds,
        "ignore_result": True,
    }


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The static schedule (RedBeat loads it into Redis at start)."""
    entries: dict[str, dict[str, Any]] = {}
    for profile in settings.schedule_profiles:
        entries[cycle_entry_name(profile)] = {
            "task": CYCLE_TASK,
            "schedule": crontab(minute="*"),
            "kwargs": {"profile": profile},
            "options": cycle_options(settings),
        }
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
