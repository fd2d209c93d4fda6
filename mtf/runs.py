"""Persistence and accounting of runs and their per-symbol results.

A run's life: `scheduled` (claimed by beat for one scheduled time, not yet sent) -> `queued`
(sent) -> `running` -> `completed` | `stale` | `failed` | `abandoned`; or, before it starts,
`skipped` (overlap), `buffered` (overlap policy buffer_one, then `queued` again), `missed`
(never started: beat or broker down, outside the catch-up window, message lost) or `rejected`
(bad request). Transitions are conditional updates, so a redelivered or duplicated message
never moves a run backwards or runs it twice; the reaper ends whatever passed its deadline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from infra import clock, telemetry
from infra.db import engine_session
from infra.models import (
    RunResultRow,
    RunRow,
    ScheduleChangeRow,
    ScheduleRow,
    table_of,
)
from mtf.context import RunContext
from mtf.lock import release_held_by
from providers.timeframes import from_ms

log = logging.getLogger("mtf.runs")
_RESULTS = table_of(RunResultRow)
_RUNS = table_of(RunRow)
_SCHEDULES = table_of(ScheduleRow)
_CHANGES = table_of(ScheduleChangeRow)

#: Not started yet.
WAITING = ("scheduled", "queued", "buffered")
#: Not finished: the reaper watches these.
ACTIVE = (*WAITING, "running")
#: Every outcome a run can end with.
FINAL = ("completed", "stale", "skipped", "missed", "failed", "abandoned", "rejected")


def _now() -> datetime:
    return clock.now()


@dataclass(frozen=True)
class Finished:
    """How `RunStore.finish` left a run: its status, whether this call ended it, and whether
    what follows its end (orders, TP/SL sweep, buffered run) was already sent."""

    status: str
    first: bool
    dispatched: bool


@dataclass(frozen=True)
class Reaped:
    """A run the reaper ended: what it was, what it became and why."""

    run_id: str
    profile: str
    schedule: str | None
    was: str
    status: str
    detail: str


def jsonable(value: Any) -> Any:
    """Plain JSON types only (tuples to lists, numpy scalars to floats)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


class RunStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        ctx: RunContext,
        request: dict[str, Any],
        *,
        deadline: datetime | None = None,
        lateness_ms: int | None = None,
    ) -> bool:
        """Mark the run running (a claimed run, or a new ad-hoc one). False when the run is
        already past that point: a duplicate delivery, which must do nothing."""
        with engine_session(self.engine) as s:
            row = s.get(RunRow, ctx.run_id, with_for_update=True)
            if row is not None and row.status not in WAITING:
                return False
            row = row or RunRow(run_id=ctx.run_id, schedule=ctx.schedule)
            row.profile = ctx.profile
            row.status = "running"
            row.as_of = from_ms(ctx.as_of_ms)
            row.dry_run = ctx.dry_run
            row.exchange = ctx.exchange
            row.started_at = from_ms(ctx.started_ms)
            row.request = jsonable(request)
            row.due_at = from_ms(ctx.due_ms) if ctx.due_ms is not None else None
            row.deadline_at = deadline or row.deadline_at
            row.lateness_ms = lateness_ms
            s.add(row)
        return True

    def unstart(self, run_id: str) -> None:
        """A run whose chain could not be sent: waiting again (its next delivery starts it)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id, _RUNS.c.status == "running")
                .values(status="queued")
            )

    def claim_scheduled(
        self,
        run_id: str,
        *,
        schedule: str,
        scheduled_for: datetime,
        profile: str,
        request: dict[str, Any],
        deadline: datetime,
    ) -> bool:
        """Beat's claim on one scheduled time, before it sends the run: unique per schedule
        and time, so two beats (or a retried tick) never send the same time twice."""
        now = _now()
        values = {
            "run_id": run_id,
            "profile": profile,
            "status": "scheduled",
            "as_of": scheduled_for,
            "dry_run": bool(request.get("dry_run", True)),
            "exchange": str(request.get("exchange") or request.get("cex") or "")[:20],
            "started_at": now,
            "request": jsonable(request),
            "schedule": schedule,
            "scheduled_for": scheduled_for,
            "due_at": scheduled_for,
            "deadline_at": deadline,
        }
        return self._insert_unique(values)

    def mark_queued(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id, _RUNS.c.status == "scheduled")
                .values(status="queued")
            )

    def unsent(self, schedule: str) -> list[RunRow]:
        """Claimed times of a schedule whose message could not be sent yet."""
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(RunRow)
                    .where(RunRow.schedule == schedule, RunRow.status == "scheduled")
                    .order_by(RunRow.scheduled_for)
                )
            )

    def record_missed(
        self,
        run_id: str,
        *,
        schedule: str,
        scheduled_for: datetime,
        profile: str,
        detail: str,
    ) -> bool:
        """Account for a scheduled time that will not run (False if it is already accounted)."""
        now = _now()
        recorded = self._insert_unique(
            {
                "run_id": run_id,
                "profile": profile,
                "status": "missed",
                "detail": detail[:4000],
                "as_of": scheduled_for,
                "dry_run": True,
                "exchange": "",
                "started_at": now,
                "finished_at": now,
                "request": {},
                "schedule": schedule,
                "scheduled_for": scheduled_for,
                "due_at": scheduled_for,
            }
        )
        if recorded:
            telemetry.run_recorded(profile, "missed")
        return recorded

    def expire_unsent(self, run_id: str, detail: str) -> bool:
        """A claimed time whose message never left: missed, with why."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(_RUNS)
                    .where(_RUNS.c.run_id == run_id, _RUNS.c.status == "scheduled")
                    .values(status="missed", detail=detail[:4000], finished_at=_now())
                ).rowcount
            )

    def _insert_unique(self, values: dict[str, Any]) -> bool:
        insert_ = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    insert_(_RUNS)
                    .values(**values)
                    .on_conflict_do_nothing()
                    .returning(_RUNS.c.run_id)
                ).first()
                is not None
            )

    def buffer(self, run_id: str, detail: str) -> bool:
        """Hold a waiting run until the lease holder finishes (overlap policy buffer_one)."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(_RUNS)
                    .where(_RUNS.c.run_id == run_id, _RUNS.c.status.in_(WAITING))
                    .values(status="buffered", detail=detail[:4000])
                ).rowcount
            )

    def buffered(self, profile: str) -> RunRow | None:
        with engine_session(self.engine) as s:
            return s.scalars(
                select(RunRow)
                .where(RunRow.profile == profile, RunRow.status == "buffered")
                .order_by(RunRow.scheduled_for, RunRow.started_at)
                .limit(1)
            ).first()

    def release_buffered(self, profile: str) -> RunRow | None:
        """The buffered run of `profile`, moved back to `queued` to be sent again."""
        row = self.buffered(profile)
        if row is None:
            return None
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == row.run_id, _RUNS.c.status == "buffered")
                .values(status="queued")
            ).rowcount
        return row if moved else None

    def record_outcome(
        self,
        run_id: str,
        *,
        profile: str,
        status: str,
        detail: str,
        request: dict[str, Any],
        dry_run: bool,
        exchange: str,
        as_of_ms: int | None,
    ) -> None:
        """A run that ended before validation (skipped for overlap, rejected request, stale
        before it started). A run already past waiting keeps its outcome."""
        with engine_session(self.engine) as s:
            now = _now()
            row = s.get(RunRow, run_id, with_for_update=True)
            if row is not None and row.status not in WAITING:
                return
            row = row or RunRow(run_id=run_id, started_at=now)
            row.profile = profile
            row.status = status
            row.detail = detail[:4000]
            row.request = jsonable(request)
            row.dry_run = dry_run
            row.exchange = exchange
            row.as_of = from_ms(as_of_ms) if as_of_ms is not None else row.as_of
            row.finished_at = now
            s.add(row)
            if status in ("failed", "rejected") and row.schedule:
                _pause_on_failure(s, row.schedule, run_id, detail)
        telemetry.run_recorded(profile, status)

    def finish(
        self, ctx: RunContext, response: dict[str, Any], status: str = "completed"
    ) -> Finished:
        """Record the run's end (its per-symbol results are saved by `save_results`), once: a
        run that already ended (reaped, failed, or ended by an earlier delivery of its
        reducer) keeps its status, and keeps this response only if it had none."""
        run = response["run"]
        with engine_session(self.engine) as s:
            row = s.get(RunRow, ctx.run_id, with_for_update=True) or RunRow(
                run_id=ctx.run_id,
                profile=ctx.profile,
                dry_run=ctx.dry_run,
                exchange=ctx.exchange,
                as_of=from_ms(ctx.as_of_ms),
                started_at=from_ms(ctx.started_ms),
                request={},
            )
            first = row.status is None or row.status in ACTIVE
            if first:
                row.status = status if response["status"] != "failed" else "failed"
                row.finished_at = _now()
            if first or row.response is None:
                row.symbols_total = run["symbols_processed"]
                row.ready, row.invalid = run["ready"], run["invalid"]
                row.skipped, row.errors = run["skipped"], run["errors"]
                row.response = jsonable(response)
            s.add(row)
            ended = Finished(row.status, first, row.dispatched_at is not None)
            request = dict(row.request or {})
        if first:  # a redelivered reducer is not another run
            telemetry.run_finished(ctx, ended.status, response, request)
        return ended

    def mark_dispatched(self, run_id: str) -> None:
        """What follows the run's end is sent: a redelivered reducer sends nothing again."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id, _RUNS.c.dispatched_at.is_(None))
                .values(dispatched_at=_now())
            )

    def mark_stale_results(self, run_id: str, symbols: list[str], detail: str) -> None:
        """READY results of a run that went stale: recorded `STALE`, with the age."""
        if not symbols:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(_RESULTS)
                .where(_RESULTS.c.run_id == run_id, _RESULTS.c.symbol.in_(symbols))
                .values(status="STALE", reason="stale")
            )
        log.warning("run %s: %d READY symbols recorded stale (%s)", run_id, len(symbols), detail)

    def save_results(self, run_id: str, results: list[dict[str, Any]]) -> None:
        """Upsert per-symbol results (a redelivered batch rewrites the same rows)."""
        if not results:
            return
        rows = [
            {
                "run_id": run_id,
                "symbol": r["symbol"],
                "status": r["status"],
                "side": r.get("side"),
                "execution_tf": r.get("execution_tf"),
                "reason": (r.get("reason") or None) and str(r["reason"])[:120],
                "candle_open_ms": r.get("candle_open_ms"),
                "reasons": jsonable(
                    {
                        "detail": r.get("detail"),
                        "blocking_tf": r.get("blocking_tf"),
                        "context": r.get("context"),
                        "selection": r.get("selection"),
                    }
                ),
                "decisions": jsonable(r.get("trace") or r.get("timeframes") or {}),
            }
            for r in results
        ]
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(_RESULTS)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_RESULTS.c.run_id, _RESULTS.c.symbol],
            set_={
                name: stmt.excluded[name]
                for name in (
                    "status",
                    "side",
                    "execution_tf",
                    "reason",
                    "candle_open_ms",
                    "reasons",
                    "decisions",
                )
            },
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)

    def fail(self, run_id: str, detail: str, status: str = "failed") -> bool:
        """End a running run as `failed` (or `abandoned`); False if it had already ended."""
        with engine_session(self.engine) as s:
            row = s.get(RunRow, run_id, with_for_update=True)
            if row is None or row.status not in ACTIVE:
                return False
            row.status = status
            row.detail = detail[:4000]
            row.finished_at = _now()
            if row.schedule:
                _pause_on_failure(s, row.schedule, run_id, detail)
            profile = row.profile
        telemetry.run_recorded(profile, status)
        return True

    def reap(self, now: datetime | None = None, *, log_each: bool = True) -> list[Reaped]:
        """End every run past its deadline: a started one `abandoned`, one that never started
        `missed`; free the leases they hold. Idempotent and safe from several processes.
        Each is logged unless `log_each` is off (a caller that prints them itself)."""
        now = now or _now()
        with engine_session(self.engine) as s:
            late = list(
                s.scalars(
                    select(RunRow).where(
                        RunRow.status.in_(ACTIVE),
                        RunRow.deadline_at.is_not(None),
                        RunRow.deadline_at < now,
                    )
                )
            )
        reaped: list[Reaped] = []
        for row in late:
            status, detail = _reaped_outcome(row, now)
            with engine_session(self.engine) as s:
                result: Any = s.execute(
                    update(_RUNS)
                    .where(_RUNS.c.run_id == row.run_id, _RUNS.c.status == row.status)
                    .values(status=status, detail=detail, finished_at=now)
                )
                moved = result.rowcount
                if moved and status == "abandoned" and row.schedule:
                    _pause_on_failure(s, row.schedule, row.run_id, detail)
            if moved:
                reaped.append(
                    Reaped(row.run_id, row.profile, row.schedule, row.status, status, detail)
                )
                if log_each:
                    log.warning("run %s %s: %s", row.run_id, status, detail)
                telemetry.run_recorded(row.profile, status)
        release_held_by(self.engine, [r.run_id for r in reaped])
        return reaped

    def for_schedule(self, schedule: str, limit: int = 10) -> list[RunRow]:
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(RunRow)
                    .where(RunRow.schedule == schedule)
                    .order_by(RunRow.scheduled_for.desc())
                    .limit(limit)
                )
            )

    def in_window(self, since: datetime, until: datetime) -> list[RunRow]:
        """Scheduled runs whose time falls in [since, until)."""
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(RunRow)
                    .where(
                        RunRow.schedule.is_not(None),
                        RunRow.scheduled_for >= since,
                        RunRow.scheduled_for < until,
                    )
                    .order_by(RunRow.scheduled_for)
                )
            )

    def schedule(self, name: str) -> ScheduleRow | None:
        """The schedule a run belongs to (its overlap policy and stale-after age)."""
        with engine_session(self.engine) as s:
            return s.get(ScheduleRow, name)

    def set_detail(self, run_id: str, detail: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(_RUNS).where(_RUNS.c.run_id == run_id).values(detail=detail[:4000]))

    def get(self, run_id: str) -> RunRow | None:
        with engine_session(self.engine) as s:
            return s.get(RunRow, run_id)

    def find(self, prefix: str) -> RunRow | None:
        """A run by id or unique id prefix."""
        with engine_session(self.engine) as s:
            rows = s.scalars(select(RunRow).where(RunRow.run_id.startswith(prefix)).limit(2)).all()
            return rows[0] if len(rows) == 1 else None

    def results(self, run_id: str) -> list[RunResultRow]:
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(RunResultRow)
                    .where(RunResultRow.run_id == run_id)
                    .order_by(RunResultRow.symbol)
                )
            )

    def recent(self, limit: int = 20, profile: str | None = None) -> list[RunRow]:
        with engine_session(self.engine) as s:
            stmt = select(RunRow).order_by(RunRow.started_at.desc()).limit(limit)
            if profile:
                stmt = stmt.where(RunRow.profile == profile)
            return list(s.scalars(stmt))


def _reaped_outcome(row: RunRow, now: datetime) -> tuple[str, str]:
    deadline = f"{row.deadline_at:%H:%M:%S}" if row.deadline_at else "?"
    if row.status == "running":
        return "abandoned", (
            f"no end by its deadline {deadline}: the worker died, its messages were lost with "
            "the broker, or a chord member was killed; nothing more is placed for it"
        )
    if row.status == "buffered":
        return "missed", (
            f"buffered behind the overlap lease holder, which still held it at the deadline "
            f"{deadline}"
        )
    if row.status == "scheduled":
        return "missed", f"could not be sent before its deadline {deadline} (broker unreachable)"
    return "missed", (
        f"sent but not started by its deadline {deadline}: its message was lost (broker "
        "restart) or no worker was free"
    )


def _pause_on_failure(session: Any, schedule: str, run_id: str, detail: str) -> None:
    """Pause a schedule whose run failed, when it asks for it (pause_on_failure)."""
    now = _now()
    note = f"paused after run {run_id} failed: {detail}"[:2000]
    paused = session.execute(
        update(_SCHEDULES)
        .where(
            _SCHEDULES.c.name == schedule,
            _SCHEDULES.c.pause_on_failure.is_(True),
            _SCHEDULES.c.paused.is_(False),
        )
        .values(paused=True, note=note, version=_SCHEDULES.c.version + 1, updated_at=now)
    ).rowcount
    if paused:
        session.execute(
            insert(_CHANGES).values(
                schedule=schedule,
                at=now,
                action="paused",
                changes={},
                note=note,
                actor="mtf (pause on failure)",
            )
        )
        log.warning("schedule %s paused: run %s failed", schedule, run_id)


def utc_ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)
