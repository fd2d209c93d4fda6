"""The order ledger: one row per decision key, claimed before anything is sent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from infra import clock, telemetry
from infra.db import engine_session
from infra.models import OrderRow, table_of

_T = table_of(OrderRow)
#: Every status a decision's row can have, in life-cycle order.
STATUSES = (
    "claimed",
    "simulated",
    "skipped",
    "blocked",
    "submitted",
    "fallback_submitted",
    "filled",
    "expired",
    "rejected",
    "error",
    "stale",
)
#: How long one look at a resting entry may hold it: longer than a look's exchange calls with
#: their retries, short enough that a follower that died holding it delays the next little.
FOLLOW_LEASE_S = 60.0
#: Statuses of an entry that was sent (and so may have become a position).
ENTERED = ("submitted", "fallback_submitted", "filled", "expired")


@dataclass(frozen=True)
class Decision:
    """A READY decision as the order queue receives it."""

    decision_key: str
    run_id: str | None
    profile: str
    symbol: str
    side: str
    timeframe: str
    candle_open_ms: int
    exchange: str
    dry_run: bool
    as_of_ms: int
    # The trade-entry profile version of the run (None: not carried, e.g. a task sent by hand).
    entry_digest: str | None = None
    # No entry is sent after this time (epoch ms): the decision's minute is then stale.
    deadline_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Any) -> Decision:
        """A decision from a task's arguments; `InvalidDecision` names what is wrong."""
        fields = list(cls.__dataclass_fields__)
        if not isinstance(data, Mapping):
            raise InvalidDecision(
                f"a decision is a mapping with {', '.join(fields)}; got {type(data).__name__}"
            )
        problems = [f"missing {k}" for k in fields if k not in data and k not in _OPTIONAL]
        problems += [f"unknown field {k!r}" for k in data if k not in cls.__dataclass_fields__]
        for key, kinds, wanted in _FIELD_TYPES:
            if key in data and _wrong_type(data[key], kinds, wanted):
                problems.append(f"{key} must be {wanted}, got {data[key]!r}")
        if not problems:
            if data["side"] not in ("long", "short"):
                problems.append(f"side must be long or short, got {data['side']!r}")
            stem = f"{data['symbol']}:{data['timeframe']}:{data['candle_open_ms']}"
            key = str(data["decision_key"])
            if key != stem and not key.startswith(stem + ":"):
                problems.append(
                    f"decision_key {data['decision_key']!r} does not match "
                    f"symbol:timeframe:candle_open_ms ({stem})"
                )
        if problems:
            raise InvalidDecision("invalid decision: " + "; ".join(problems))
        return cls(**{k: data[k] for k in fields if k in data})


def _wrong_type(value: Any, kinds: type | tuple[type, ...], wanted: str) -> bool:
    # bool is an int subclass: a flag is not an epoch, nor an epoch a flag
    if wanted == "a boolean":
        return not isinstance(value, bool)
    return isinstance(value, bool) or not isinstance(value, kinds)


class InvalidDecision(ValueError):
    """Arguments of an order task that do not describe a decision."""


_FIELD_TYPES: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("decision_key", str, "a string"),
    ("run_id", (str, type(None)), "a string or null"),
    ("profile", str, "a string"),
    ("symbol", str, "a string"),
    ("side", str, "a string"),
    ("timeframe", str, "a string"),
    ("candle_open_ms", int, "an integer (epoch ms)"),
    ("exchange", str, "a string"),
    ("dry_run", bool, "a boolean"),
    ("as_of_ms", int, "an integer (epoch ms)"),
    ("entry_digest", (str, type(None)), "a string or null"),
    ("deadline_ms", (int, type(None)), "an integer (epoch ms) or null"),
)
_OPTIONAL = ("entry_digest", "deadline_ms")


class OrderLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, decision: Decision, client_order_id: str) -> tuple[OrderRow, bool]:
        """Insert the decision's row if absent; returns (row, created). The unique constraint on
        decision_key makes this the single point where a duplicate placement is stopped."""
        now = clock.now()
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        values: dict[str, Any] = {
            "decision_key": decision.decision_key,
            "client_order_id": client_order_id,
            "run_id": decision.run_id,
            "profile": decision.profile,
            "symbol": decision.symbol,
            "side": decision.side,
            "timeframe": decision.timeframe,
            "candle_open_ms": decision.candle_open_ms,
            "exchange": decision.exchange,
            "dry_run": decision.dry_run,
            "status": "claimed",
            "plan": {},
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: drivers report -1 for INSERT .. ON CONFLICT DO NOTHING
            created = (
                conn.execute(
                    insert(_T)
                    .values(**values)
                    # Any unique key: the client order id derives from the decision key, and
                    # a concurrent claim may trip either index first.
                    .on_conflict_do_nothing()
                    .returning(_T.c.id)
                ).first()
                is not None
            )
        row = self.get(decision.decision_key)
        if row is None:
            raise RuntimeError(
                f"client order id {client_order_id} of {decision.decision_key} is already used "
                "by another decision"
            )
        return row, bool(created)

    def promote(self, decision: Decision) -> OrderRow | None:
        """Hand a dry-run record of this decision key over to a live decision: the row is
        claimed again (atomically, once) so a rehearsal never holds a candle against a live run.
        None when the row is not a finished dry-run record."""
        now = clock.now()
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(_T)
                .where(
                    _T.c.decision_key == decision.decision_key,
                    _T.c.dry_run.is_(True),
                    _T.c.status != "claimed",
                )
                .values(
                    status="claimed",
                    dry_run=False,
                    run_id=decision.run_id,
                    profile=decision.profile,
                    side=decision.side,
                    exchange=decision.exchange,
                    plan={},
                    detail=None,
                    updated_at=now,
                )
            ).rowcount
        return self.get(decision.decision_key) if taken == 1 else None

    def update(self, decision_key: str, **values: Any) -> None:
        values["updated_at"] = clock.now()
        key = _T.c.decision_key == decision_key
        with self.engine.begin() as conn:
            before = conn.execute(select(_T.c.exchange, _T.c.status).where(key)).first()
            conn.execute(update(_T).where(key).values(**values))
        if before is not None and values.get("status", before.status) != before.status:
            telemetry.order_status(before.exchange, values["status"])

    def hold_follow(self, decision_key: str, seconds: float = FOLLOW_LEASE_S) -> bool:
        """Take the entry's follow lease for `seconds` (shared clock) unless another follower
        holds it: the watcher and the TP/SL sweep never cancel, fall back or record an end of
        the same entry at once, so neither overwrites what the other just did."""
        now = clock.now_ms()
        key = _T.c.decision_key == decision_key
        free = (_T.c.follow_lease_ms.is_(None)) | (_T.c.follow_lease_ms < now)
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(_T).where(key & free).values(follow_lease_ms=now + int(seconds * 1000))
            )
        return bool(taken.rowcount)

    def release_follow(self, decision_key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_T).where(_T.c.decision_key == decision_key).values(follow_lease_ms=None)
            )

    def new_watcher(self, decision_key: str) -> str:
        """A token for a new watcher chain of the entry; the previous chain, if any, stops at
        its next look (`is_watcher` false), so an entry has one watcher however often its
        placement was delivered."""
        token = uuid.uuid4().hex
        self.update(decision_key, watch_token=token)
        return token

    def is_watcher(self, row: OrderRow, token: str | None) -> bool:
        """Whether the chain holding `token` is the entry's watcher (no token: a chain started
        before tokens existed, which keeps going)."""
        return token is None or row.watch_token in (None, token)

    def get(self, decision_key: str) -> OrderRow | None:
        with engine_session(self.engine) as s:
            return s.scalars(select(OrderRow).where(OrderRow.decision_key == decision_key)).first()

    def latest_entry(self, exchange: str, symbol: str, side: str) -> OrderRow | None:
        """The newest live entry of a position: the plan its protection follows."""
        with engine_session(self.engine) as s:
            return s.scalars(
                select(OrderRow)
                .where(
                    OrderRow.exchange == exchange,
                    OrderRow.symbol == symbol,
                    OrderRow.side == side,
                    OrderRow.dry_run.is_(False),
                    OrderRow.status.in_(ENTERED),
                )
                .order_by(OrderRow.id.desc())
                .limit(1)
            ).first()

    def followed(self, exchange: str) -> list[OrderRow]:
        """Entries the watcher still follows."""
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(OrderRow).where(
                        OrderRow.exchange == exchange,
                        OrderRow.status.in_(("submitted", "fallback_submitted")),
                    )
                )
            )

    def ended_since(self, exchange: str, since: datetime) -> list[OrderRow]:
        """Live entries no longer followed whose row changed at or after `since`."""
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(OrderRow).where(
                        OrderRow.exchange == exchange,
                        OrderRow.dry_run.is_(False),
                        OrderRow.status.not_in(("submitted", "fallback_submitted")),
                        OrderRow.updated_at >= since,
                    )
                )
            )

    def recent(self, limit: int = 50, status: str | None = None) -> list[OrderRow]:
        query = select(OrderRow).order_by(OrderRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(OrderRow.status == status)
        with engine_session(self.engine) as s:
            return list(s.scalars(query))

    def outcomes(self, run_id: str, keys: list[str]) -> dict[str, dict[str, str | None]]:
        """What became of a run's decisions: status and detail per key. A key another run
        decided first (the same symbol, timeframe and candle) is reported as `duplicate`."""
        with engine_session(self.engine) as s:
            rows = list(s.scalars(select(OrderRow).where(OrderRow.decision_key.in_(keys))))
        out: dict[str, dict[str, str | None]] = {}
        for row in rows:
            if row.run_id not in (None, run_id):
                detail = f"already decided by run {row.run_id} ({row.profile}): {row.status}"
                out[row.decision_key] = {"status": "duplicate", "detail": detail}
            else:
                out[row.decision_key] = {
                    "status": row.status,
                    "reason": _reason(row),
                    "detail": row.detail,
                }
        return out


def _reason(row: OrderRow) -> str | None:
    """A short why for the rows that placed nothing."""
    if row.status == "skipped":
        return str((row.plan or {}).get("skipped") or "skipped")
    if row.status in ("blocked", "error", "rejected") and row.detail:
        return row.detail.split(":", 1)[0][:60]
    return None
