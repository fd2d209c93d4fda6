"""How old a run may grow before it stops acting, and by when it must have ended.

A run decides on the candles of its minute; once it is older than its *stale-after* age
(counted from the time it was scheduled or requested) its READY symbols are recorded `stale`
and no entry is placed for them. The age defaults to half the profile's fastest execution
timeframe (30 s for 1m): past that, the next candle is closer than the one decided on.
A run still unfinished `run_deadline_grace_seconds` after it went stale is abandoned by the
reaper: it can no longer act, and its minute must be accounted for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from infra.settings import Settings
from mtf.rules.compiler import ProfileError
from mtf.rules.profile import load_profile
from providers.timeframes import Timeframe

FALLBACK_MS = 30_000


def stale_after_ms(
    settings: Settings,
    profile: str,
    *,
    current_tf: str | None = None,
    override_seconds: int | None = None,
) -> int:
    """The stale-after age of a run of `profile` in ms (a schedule's override first, then
    MTF_STALE_AFTER_SECONDS, then half the fastest execution timeframe)."""
    if override_seconds:
        return int(override_seconds) * 1000
    if settings.stale_after_seconds:
        return settings.stale_after_seconds * 1000
    if current_tf:
        return Timeframe.parse(current_tf).ms // 2
    try:
        execution = load_profile(profile).execution
    except ProfileError:
        return FALLBACK_MS
    return min(tf.ms for tf in execution) // 2 if execution else FALLBACK_MS


def decision_stale_after_ms(settings: Settings, timeframe: str) -> int:
    """Stale-after age of an order decision that carries no deadline of its own."""
    if settings.stale_after_seconds:
        return settings.stale_after_seconds * 1000
    try:
        return Timeframe.parse(timeframe).ms // 2
    except ValueError:
        return FALLBACK_MS


def run_deadline(settings: Settings, due: datetime, stale_after: int | None) -> datetime:
    """When the reaper ends a run that has not finished (`stale_after` in ms, None: a replay
    that never goes stale, given `run_timeout_seconds` from `due`)."""
    if stale_after is None:
        return due + timedelta(seconds=settings.run_timeout_seconds)
    return due + timedelta(milliseconds=stale_after, seconds=settings.run_deadline_grace_seconds)
