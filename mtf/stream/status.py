"""What the stream leader reports (`stream_status`), and the predicates read from it.

`candles_ready(engine, minute_ms)` is the readiness predicate of event-driven cycle starts:
true when a live stream leader has stored the candles closing at `minute_ms` for every symbol
it covers (symbols it marked stale are left to the cycle's REST fallback).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from infra import clock
from infra.db import get_engine
from infra.models import StreamStatusRow, table_of
from infra.settings import get_settings
from providers.timeframes import to_ms

log = logging.getLogger("mtf.stream")
_T = table_of(StreamStatusRow)
MARKET = "market"
PRIVATE = "private"
#: A leader silent this long is not trusted (it writes its heartbeat every second).
HEARTBEAT_MS = 5_000


@dataclass(frozen=True)
class StreamStatus:
    name: str
    leader: str
    heartbeat_ms: int
    connected: bool
    complete_ms: int = 0
    symbols: int = 0
    stale: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def alive(self, now_ms: int, max_silence_ms: int = HEARTBEAT_MS) -> bool:
        return self.connected and now_ms - self.heartbeat_ms <= max_silence_ms


class StatusStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, status: StreamStatus) -> None:
        values = dict(status.__dict__)
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(_T).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_T.c.name], set_={k: v for k, v in values.items() if k != "name"}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def get(self, name: str) -> StreamStatus | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_T).where(_T.c.name == name)).first()
        return None if row is None else StreamStatus(**row._mapping)

    def all(self) -> list[StreamStatus]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_T).order_by(_T.c.name)).all()
        return [StreamStatus(**r._mapping) for r in rows]


def candles_ready(engine: Engine, minute_ms: int, now_ms: int | None = None) -> bool:
    """Whether the candles closing at `minute_ms` (a minute boundary, the cycle's `as_of`) are
    stored for every symbol the live stream covers."""
    status = StatusStore(engine).get(MARKET)
    now = clock.now_ms() if now_ms is None else now_ms
    return status is not None and status.alive(now) and status.complete_ms >= minute_ms


def schedule_ready(schedule: Any, scheduled_for: datetime) -> bool:
    """Beat's readiness hook (`MTF_BEAT_READINESS=mtf.stream:schedule_ready`): the candles of
    the scheduled minute are in, so its cycle may start before the schedule's offset. Never
    raises: a store that cannot be read says "not yet", and the offset stays the deadline."""
    try:
        engine = get_engine(get_settings().database_url)
        return candles_ready(engine, to_ms(scheduled_for))
    except Exception as exc:
        log.debug("readiness not read: %s", exc)
        return False


def private_stream_live(engine: Engine, now_ms: int | None = None) -> bool:
    """Whether order and position pushes are flowing (a logged-in private stream)."""
    status = StatusStore(engine).get(PRIVATE)
    now = clock.now_ms() if now_ms is None else now_ms
    return status is not None and status.alive(now)
