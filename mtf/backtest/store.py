"""Backtests, sweeps and sweep parts in the database (`mtf backtest list | show`).

Sweep parts are keyed by (sweep, parameter set, symbol) under a unique constraint: a part
redone after its worker died is written once, so nothing is counted twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from infra.db import engine_session
from infra.models import BacktestPartRow, BacktestRow, BacktestSweepRow, table_of

_PARTS = table_of(BacktestPartRow)
_BACKTESTS = table_of(BacktestRow)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def _plain(data: Any) -> Any:
    """JSON-safe data (decimals and the like as text)."""
    return json.loads(json.dumps(data, default=str))


class BacktestStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self) -> Any:
        return postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    # --- backtests ----------------------------------------------------------------------------

    def save(
        self,
        report: dict[str, Any],
        seconds: float,
        *,
        backtest_id: str | None = None,
        sweep_id: str | None = None,
        set_index: int | None = None,
    ) -> str:
        """Keep a report (replacing the one of the same id: a redone sweep member)."""
        backtest_id = backtest_id or new_id()
        request = report["request"]
        values = {
            "backtest_id": backtest_id,
            "profile": report["profile"],
            "created_at": datetime.now(UTC),
            "start_ms": int(request["start_ms"]),
            "end_ms": int(request["end_ms"]),
            "symbols": list(report["symbols"]),
            "params": _plain({k: v for k, v in request.items() if k not in ("symbols",)}),
            "summary": _plain(report["summary"]),
            "report": _plain(report),
            "seconds": seconds,
            "sweep_id": sweep_id,
            "set_index": set_index,
        }
        stmt = self._insert()(_BACKTESTS).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_BACKTESTS.c.backtest_id],
            set_={k: stmt.excluded[k] for k in values if k != "backtest_id"},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
        return backtest_id

    def get(self, backtest_id: str) -> BacktestRow | None:
        """By id, or by a unique prefix of one."""
        with engine_session(self.engine) as s:
            row = s.get(BacktestRow, backtest_id)
            if row is not None:
                return row
            rows = list(
                s.scalars(
                    select(BacktestRow).where(BacktestRow.backtest_id.startswith(backtest_id))
                ).all()
            )
            return rows[0] if len(rows) == 1 else None

    def recent(self, limit: int = 20, *, sweep_id: str | None = None) -> list[BacktestRow]:
        with engine_session(self.engine) as s:
            stmt = select(BacktestRow)
            if sweep_id is not None:
                stmt = stmt.where(BacktestRow.sweep_id == sweep_id)
            stmt = stmt.order_by(BacktestRow.created_at.desc()).limit(limit)
            return list(s.scalars(stmt).all())

    # --- sweeps -------------------------------------------------------------------------------

    def create_sweep(
        self, sweep_id: str, profile: str, request: dict[str, Any], sets: Sequence[dict[str, Any]]
    ) -> None:
        with engine_session(self.engine) as s:
            s.add(
                BacktestSweepRow(
                    sweep_id=sweep_id,
                    profile=profile,
                    status="running",
                    request=_plain(request),
                    sets=_plain(list(sets)),
                )
            )

    def sweep(self, sweep_id: str) -> BacktestSweepRow | None:
        with engine_session(self.engine) as s:
            row = s.get(BacktestSweepRow, sweep_id)
            if row is not None:
                return row
            rows = list(
                s.scalars(
                    select(BacktestSweepRow).where(BacktestSweepRow.sweep_id.startswith(sweep_id))
                ).all()
            )
            return rows[0] if len(rows) == 1 else None

    def sweeps(self, limit: int = 20) -> list[BacktestSweepRow]:
        with engine_session(self.engine) as s:
            stmt = select(BacktestSweepRow).order_by(BacktestSweepRow.created_at.desc())
            return list(s.scalars(stmt.limit(limit)).all())

    def finish_sweep(
        self, sweep_id: str, status: str, leaderboard: list[Any] | None, detail: str | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(table_of(BacktestSweepRow))
                .where(table_of(BacktestSweepRow).c.sweep_id == sweep_id)
                .values(
                    status=status,
                    leaderboard=_plain(leaderboard),
                    detail=detail,
                    finished_at=datetime.now(UTC),
                )
            )

    def put_part(
        self,
        sweep_id: str,
        set_index: int,
        symbol: str,
        result: dict[str, Any],
        seconds: float,
        worker: str | None = None,
    ) -> bool:
        """Store a part once; False when it was already there (a redelivered part)."""
        stmt = (
            self._insert()(_PARTS)
            .values(
                sweep_id=sweep_id,
                set_index=set_index,
                symbol=symbol,
                result=_plain(result),
                seconds=seconds,
                worker=worker,
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(
                index_elements=[_PARTS.c.sweep_id, _PARTS.c.set_index, _PARTS.c.symbol]
            )
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)

    def part(self, sweep_id: str, set_index: int, symbol: str) -> dict[str, Any] | None:
        with engine_session(self.engine) as s:
            row = s.scalar(
                select(BacktestPartRow).where(
                    BacktestPartRow.sweep_id == sweep_id,
                    BacktestPartRow.set_index == set_index,
                    BacktestPartRow.symbol == symbol,
                )
            )
            return None if row is None else dict(row.result)

    def done_parts(self, sweep_id: str) -> set[tuple[int, str]]:
        with engine_session(self.engine) as s:
            rows = s.execute(
                select(BacktestPartRow.set_index, BacktestPartRow.symbol).where(
                    BacktestPartRow.sweep_id == sweep_id
                )
            ).all()
            return {(int(i), str(sym)) for i, sym in rows}

    def part_count(self, sweep_id: str) -> int:
        with engine_session(self.engine) as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(BacktestPartRow)
                    .where(BacktestPartRow.sweep_id == sweep_id)
                )
                or 0
            )

    def part_rows(self, sweep_id: str) -> list[BacktestPartRow]:
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(BacktestPartRow)
                    .where(BacktestPartRow.sweep_id == sweep_id)
                    .order_by(BacktestPartRow.set_index, BacktestPartRow.symbol)
                ).all()
            )
