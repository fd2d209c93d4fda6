"""Persistence of runs and their per-symbol results (idempotent: a redelivered reducer rewrites
the same rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from infra import clock, telemetry
from infra.db import engine_session
from infra.models import RunResultRow, RunRow, table_of
from mtf.context import RunContext
from providers.timeframes import from_ms

_RESULTS = table_of(RunResultRow)


def _now() -> datetime:
    return clock.now()


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

    def start(self, ctx: RunContext, request: dict[str, Any]) -> None:
        with engine_session(self.engine) as s:
            row = s.get(RunRow, ctx.run_id) or RunRow(run_id=ctx.run_id)
            row.profile = ctx.profile
            row.status = "running"
            row.as_of = from_ms(ctx.as_of_ms)
            row.dry_run = ctx.dry_run
            row.exchange = ctx.exchange
            row.started_at = from_ms(ctx.started_ms)
            row.request = jsonable(request)
            s.add(row)

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
        """A run that ended before validation (skipped for overlap, rejected request)."""
        with engine_session(self.engine) as s:
            now = _now()
            s.add(
                RunRow(
                    run_id=run_id,
                    profile=profile,
                    status=status,
                    detail=detail,
                    request=jsonable(request),
                    dry_run=dry_run,
                    exchange=exchange,
                    as_of=from_ms(as_of_ms) if as_of_ms is not None else None,
                    started_at=now,
                    finished_at=now,
                )
            )
        telemetry.run_recorded(profile, status)

    def finish(self, ctx: RunContext, response: dict[str, Any]) -> None:
        """Record the run's outcome (its per-symbol results are saved by `save_results`)."""
        run = response["run"]
        with engine_session(self.engine) as s:
            row = s.get(RunRow, ctx.run_id) or RunRow(
                run_id=ctx.run_id,
                profile=ctx.profile,
                dry_run=ctx.dry_run,
                exchange=ctx.exchange,
                as_of=from_ms(ctx.as_of_ms),
                started_at=from_ms(ctx.started_ms),
                request={},
            )
            first = row.status in (None, "running")
            row.status = "completed" if response["status"] != "failed" else "failed"
            row.finished_at = _now()
            row.symbols_total = run["symbols_processed"]
            row.ready, row.invalid = run["ready"], run["invalid"]
            row.skipped, row.errors = run["skipped"], run["errors"]
            row.response = jsonable(response)
            s.add(row)
            request = dict(row.request or {})
        if first:  # a redelivered reducer rewrites the row but is not another run
            telemetry.run_finished(ctx, row.status, response, request)

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

    def fail(self, run_id: str, detail: str) -> None:
        with engine_session(self.engine) as s:
            row = s.get(RunRow, run_id)
            if row is not None and row.status == "running":
                row.status = "failed"
                row.detail = detail[:4000]
                row.finished_at = _now()
                telemetry.run_recorded(row.profile, "failed")

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
