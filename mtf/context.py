"""`RunContext`: what every task of one cycle needs to know, as a plain serialisable record."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from providers.timeframes import Timeframe, iso


@dataclass(frozen=True)
class RunContext:
    run_id: str
    profile: str
    as_of_ms: int
    dry_run: bool
    exchange: str
    started_ms: int
    skip_context: bool = False
    current_tf: str | None = None
    validation_mode: str | None = None
    force_run: bool = False
    skip_open_state_filter: bool = False
    sync_tables: bool = True
    process_tp_sl: bool = True
    symbols: tuple[str, ...] = ()
    # Versions of the profiles the run started with ("": not carried); see `mtf.versions`.
    profile_digest: str = ""
    entry_digest: str = ""
    # Staleness: the run places no entry once it is older than `stale_after_ms`, counted from
    # `due_ms` (its scheduled time, or when it was requested). None: never stale (a replay).
    due_ms: int | None = None
    stale_after_ms: int | None = None
    schedule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["symbols"] = list(self.symbols)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunContext:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["symbols"] = tuple(values.get("symbols") or ())
        return cls(**values)

    @property
    def as_of_iso(self) -> str:
        return iso(self.as_of_ms)

    def staleness(self, now_ms: int) -> int | None:
        """The run's age in ms when it is stale at `now_ms`, else None."""
        if self.stale_after_ms is None or self.due_ms is None:
            return None
        age = now_ms - self.due_ms
        return age if age > self.stale_after_ms else None

    @property
    def entry_deadline_ms(self) -> int | None:
        """No entry may be sent for this run after this time."""
        if self.stale_after_ms is None or self.due_ms is None:
            return None
        return self.due_ms + self.stale_after_ms

    @property
    def execution_tf(self) -> Timeframe | None:
        return Timeframe(self.current_tf) if self.current_tf else None
