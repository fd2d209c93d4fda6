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

    @property
    def execution_tf(self) -> Timeframe | None:
        return Timeframe(self.current_tf) if self.current_tf else None
