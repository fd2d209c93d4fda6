"""When a schedule fires: a cron spec (minute resolution, UTC) or a fixed interval.

    "* * * * *"      every minute, on the minute (the scalping default)
    "*/5 * * * *"    every five minutes
    "17 3 * * *"     daily at 03:17 UTC
    "@hourly"        the cron aliases (@hourly, @daily, @weekly, @monthly, @yearly)
    "@every 10s"     every 10 seconds, aligned on multiples of the interval since the epoch
                     (seconds, minutes or hours: "@every 30s", "@every 2m", "@every 1h")

Pure: a cadence maps a moment to the scheduled times around it; the clock is the caller's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

_EVERY = re.compile(r"^@every\s+(\d+)\s*([smh])$")
_UNITS = {"s": 1, "m": 60, "h": 3600}
_ALIASES = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")
ALLOWED = (
    "a 5-field cron spec in UTC (e.g. '* * * * *', '17 3 * * *'), a cron alias "
    f"({', '.join(_ALIASES[:-2])}) or '@every N' with s, m or h (e.g. '@every 10s')"
)


class CadenceError(ValueError):
    """A cadence spec that cannot be read; the message says what is allowed."""


@dataclass(frozen=True)
class Cadence:
    spec: str
    every_s: int | None = None  # fixed interval; None for cron

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled time strictly after `moment`."""
        moment = _utc(moment)
        if self.every_s is not None:
            step = self.every_s
            epoch = moment.timestamp()
            slot = (int(epoch) // step + 1) * step
            return datetime.fromtimestamp(slot, UTC)
        return croniter(self.spec, moment).get_next(datetime).astimezone(UTC)

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last scheduled time at or before `moment`."""
        moment = _utc(moment)
        if self.every_s is not None:
            slot = int(moment.timestamp()) // self.every_s * self.every_s
            return datetime.fromtimestamp(slot, UTC)
        after = self.next_after(moment)
        return croniter(self.spec, after).get_prev(datetime).astimezone(UTC)

    def times(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Scheduled times in (after, until]."""
        current = self.next_after(after)
        until = _utc(until)
        while current <= until:
            yield current
            current = self.next_after(current)

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        out: list[datetime] = []
        current = _utc(after)
        for _ in range(count):
            current = self.next_after(current)
            out.append(current)
        return out

    @property
    def period_hint(self) -> timedelta:
        """The gap between two scheduled times (the smallest for irregular cron specs, close
        enough to size windows)."""
        if self.every_s is not None:
            return timedelta(seconds=self.every_s)
        base = datetime(2026, 1, 5, tzinfo=UTC)
        times = self.upcoming(base, 3)
        return min(b - a for a, b in itertools.pairwise(times))

    def __str__(self) -> str:
        return self.spec


def parse_cadence(spec: str) -> Cadence:
    """A cadence from its spec; `CadenceError` names what was wrong and what is allowed."""
    text = " ".join(str(spec).split())
    if not text:
        raise CadenceError(f"empty cadence; expected {ALLOWED}")
    match = _EVERY.match(text)
    if match:
        every = int(match.group(1)) * _UNITS[match.group(2)]
        if every < 1:
            raise CadenceError(f"cadence {spec!r}: the interval must be at least 1 second")
        if every > 86_400 or 86_400 % every:
            raise CadenceError(
                f"cadence {spec!r}: an interval must divide a day evenly (e.g. 5s, 10s, 30s, "
                "1m, 5m, 1h); use a cron spec for other cadences"
            )
        return Cadence(f"@every {match.group(1)}{match.group(2)}", every)
    if text.startswith("@"):
        if text not in _ALIASES:
            raise CadenceError(f"cadence {spec!r} is not known; expected {ALLOWED}")
        return Cadence(text)
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise CadenceError(f"cadence {spec!r} is not a valid cron spec; expected {ALLOWED}")
    return Cadence(text)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a cadence")
    return moment.astimezone(UTC)
