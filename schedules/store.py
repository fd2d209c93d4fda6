"""Schedules in the database: definitions and their change log.

The database is the source of truth: beat reads the active schedules from here on every tick
and its runtime store is rebuilt from them, so nothing an operator sets (a pause and its note
included) is lost with Redis or with a beat process. Every change is written together with its
change-log row (when, what, who, why) in one transaction.
"""

from __future__ import annotations

import getpass
import re
import socket
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from infra import clock
from infra.db import engine_session
from infra.models import ScheduleChangeRow, ScheduleRow, table_of
from schedules.cadence import CadenceError, parse_cadence

_S = table_of(ScheduleRow)
_C = table_of(ScheduleChangeRow)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")
OVERLAP_POLICIES = ("skip", "buffer_one")
#: Request keys a schedule cannot override: the profile is the schedule's own, and a scheduled
#: run decides on its scheduled minute.
FIXED_KEYS = ("profile", "mtf_profile", "as_of")


class ScheduleError(ValueError):
    """A schedule definition or operation that cannot be accepted (the message says why)."""


class NotFound(ScheduleError):
    pass


def default_actor() -> str:
    """Who is changing a schedule: the OS user and host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule's definition, validated (`check`) before it reaches the database."""

    name: str
    profile: str
    cadence: str = "* * * * *"
    request: dict[str, Any] = field(default_factory=dict)
    offset_seconds: float = 5.0
    stale_after_seconds: int | None = None
    catchup_window_seconds: int = 30
    overlap: str = "skip"
    pause_on_failure: bool = False
    expires_at: datetime | None = None

    def check(self) -> ScheduleSpec:
        """The spec with its cadence normalised; `ScheduleError` lists every problem."""
        problems: list[str] = []
        if not NAME_RE.match(self.name):
            problems.append(
                f"name {self.name!r}: 1-80 letters, digits, '_', '.', ':' or '-', starting "
                "with a letter or digit"
            )
        cadence = None
        try:
            cadence = parse_cadence(self.cadence)
        except CadenceError as exc:
            problems.append(str(exc))
        if self.offset_seconds < 0:
            problems.append(f"offset {self.offset_seconds}s: must be 0 or more")
        elif cadence is not None and self.offset_seconds >= cadence.period_hint.total_seconds():
            problems.append(
                f"offset {self.offset_seconds}s: must be shorter than the cadence's period "
                f"({int(cadence.period_hint.total_seconds())}s)"
            )
        if self.stale_after_seconds is not None and self.stale_after_seconds < 1:
            problems.append(f"stale-after {self.stale_after_seconds}s: must be at least 1")
        if self.catchup_window_seconds < 1:
            problems.append(f"catch-up window {self.catchup_window_seconds}s: must be at least 1")
        if self.overlap not in OVERLAP_POLICIES:
            problems.append(f"overlap {self.overlap!r}: allowed {', '.join(OVERLAP_POLICIES)}")
        fixed = [k for k in self.request if k in FIXED_KEYS]
        if fixed:
            problems.append(
                f"request cannot set {', '.join(fixed)} (the schedule's profile and scheduled "
                "minute are used)"
            )
        else:
            problems += _request_problems(self.profile, self.request)
            if not problems:
                problems += self._offset_problems()
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            problems.append("expires: give a time zone (e.g. 2026-12-31T00:00Z)")
        if problems:
            raise ScheduleError(f"schedule {self.name!r}: " + "; ".join(problems))
        return ScheduleSpec(**{**asdict(self), "cadence": cadence.spec if cadence else ""})

    def _offset_problems(self) -> list[str]:
        from infra.settings import get_settings
        from mtf.staleness import stale_after_ms

        stale_s = (
            stale_after_ms(
                get_settings(),
                self.profile,
                current_tf=self.request.get("current_tf"),
                override_seconds=self.stale_after_seconds,
            )
            / 1000
        )
        if self.offset_seconds >= stale_s:
            return [
                f"offset {self.offset_seconds:g}s: its runs would be stale before they start "
                f"(stale after {stale_s:g}s); lower the offset or raise --stale-after"
            ]
        return []

    @classmethod
    def of(cls, row: ScheduleRow) -> ScheduleSpec:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def _request_problems(profile: str, request: dict[str, Any]) -> list[str]:
    from mtf.request import RunRequestError, parse_request
    from mtf.rules.compiler import ProfileError
    from mtf.rules.profile import load_profile

    problems: list[str] = []
    try:
        load_profile(profile)
    except ProfileError as exc:
        problems.append(f"profile: {exc}")
    try:
        parse_request({**request, "profile": profile})
    except RunRequestError as exc:
        problems += [f"request: {p}" for p in exc.problems]
    return problems


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class ScheduleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reads ------------------------------------------------------------------------------

    def get(self, name: str) -> ScheduleRow | None:
        with engine_session(self.engine) as s:
            return s.get(ScheduleRow, name)

    def require(self, name: str) -> ScheduleRow:
        row = self.get(name)
        if row is None:
            known = ", ".join(r.name for r in self.all()) or "none"
            raise NotFound(f"no schedule named {name!r}; schedules: {known}")
        return row

    def all(self) -> list[ScheduleRow]:
        with engine_session(self.engine) as s:
            return list(s.scalars(select(ScheduleRow).order_by(ScheduleRow.name)))

    def active(self, now: datetime) -> list[ScheduleRow]:
        """Schedules that fire: not paused, not expired (one cheap query per beat tick)."""
        with engine_session(self.engine) as s:
            return list(
                s.scalars(
                    select(ScheduleRow)
                    .where(ScheduleRow.paused.is_(False))
                    .where((ScheduleRow.expires_at.is_(None)) | (ScheduleRow.expires_at > now))
                    .order_by(ScheduleRow.name)
                )
            )

    def history(self, name: str | None = None, limit: int = 50) -> list[ScheduleChangeRow]:
        with engine_session(self.engine) as s:
            stmt = select(ScheduleChangeRow).order_by(ScheduleChangeRow.id.desc()).limit(limit)
            if name is not None:
                stmt = stmt.where(ScheduleChangeRow.schedule == name)
            return list(s.scalars(stmt))

    # --- changes ----------------------------------------------------------------------------

    def create(
        self, spec: ScheduleSpec, *, actor: str, note: str | None = None, paused: bool = False
    ) -> ScheduleRow:
        spec = spec.check()
        now = clock.now()
        values = {
            **asdict(spec),
            "paused": paused,
            "note": note if paused else None,
            "cursor_at": now,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            if conn.execute(select(_S.c.name).where(_S.c.name == spec.name)).first():
                raise ScheduleError(f"schedule {spec.name!r} already exists (update it instead)")
            conn.execute(insert(_S).values(**values))
            self._log(conn, spec.name, "created", _changes({}, asdict(spec)), note, actor, now)
        return self.require(spec.name)

    def update(
        self, name: str, changes: dict[str, Any], *, actor: str, note: str | None = None
    ) -> ScheduleRow:
        row = self.require(name)
        before = asdict(ScheduleSpec.of(row))
        unknown = [k for k in changes if k not in before or k == "name"]
        if unknown:
            raise ScheduleError(f"cannot update {', '.join(unknown)} of a schedule")
        spec = ScheduleSpec(**{**before, **changes}).check()
        diff = _changes(before, asdict(spec))
        if not diff:
            raise ScheduleError(f"schedule {name!r}: nothing to change")
        now = clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(_S)
                .where(_S.c.name == name)
                .values(
                    **{k: getattr(spec, k) for k in diff},
                    version=_S.c.version + 1,
                    updated_at=now,
                )
            )
            self._log(conn, name, "updated", diff, note, actor, now)
        return self.require(name)

    def pause(self, name: str, *, actor: str, note: str) -> ScheduleRow:
        row = self.require(name)
        if row.paused:
            raise ScheduleError(f"schedule {name!r} is already paused ({row.note or 'no note'})")
        now = clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(_S)
                .where(_S.c.name == name)
                .values(paused=True, note=note, version=_S.c.version + 1, updated_at=now)
            )
            self._log(conn, name, "paused", {}, note, actor, now)
        return self.require(name)

    def resume(self, name: str, *, actor: str, note: str | None = None) -> ScheduleRow:
        row = self.require(name)
        if not row.paused:
            raise ScheduleError(f"schedule {name!r} is not paused")
        now = clock.now()
        with self.engine.begin() as conn:
            # Times that passed while paused are not caught up: the schedule starts afresh.
            conn.execute(
                update(_S)
                .where(_S.c.name == name)
                .values(
                    paused=False, note=None, cursor_at=now, version=_S.c.version + 1, updated_at=now
                )
            )
            self._log(conn, name, "resumed", {}, note, actor, now)
        return self.require(name)

    def delete(self, name: str, *, actor: str, note: str | None = None) -> None:
        row = self.require(name)
        now = clock.now()
        with self.engine.begin() as conn:
            conn.execute(delete(_S).where(_S.c.name == name))
            self._log(
                conn, name, "deleted", _changes(asdict(ScheduleSpec.of(row)), {}), note, actor, now
            )

    def record(
        self,
        name: str,
        action: str,
        *,
        actor: str,
        note: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        """A change-log row for something done with a schedule (e.g. triggered)."""
        with self.engine.begin() as conn:
            self._log(conn, name, action, changes or {}, note, actor, clock.now())

    def seed(self, profiles: list[str], defaults: ScheduleSpec) -> list[str]:
        """Create one every-minute schedule per profile, only in a database that never had a
        schedule (no change log at all): deleting every schedule does not bring them back."""
        with self.engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(_C)).scalar_one():
                return []
        created = []
        for profile in profiles:
            spec = ScheduleSpec(**{**asdict(defaults), "name": profile, "profile": profile})
            try:
                self.create(
                    spec,
                    actor="seed (MTF_SCHEDULE_PROFILES)",
                    note="seeded from MTF_SCHEDULE_PROFILES",
                )
            except ScheduleError:
                continue  # a concurrent beat seeded it, or the profile is unknown (logged)
            created.append(profile)
        return created

    def advance_cursor(self, name: str, to: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_S)
                .where(_S.c.name == name)
                .where((_S.c.cursor_at.is_(None)) | (_S.c.cursor_at < to))
                .values(cursor_at=to)
            )

    @staticmethod
    def _log(
        conn: Any,
        name: str,
        action: str,
        changes: dict[str, Any],
        note: str | None,
        actor: str,
        at: datetime,
    ) -> None:
        conn.execute(
            insert(_C).values(
                schedule=name,
                at=at,
                action=action,
                changes=changes,
                note=note,
                actor=actor[:120],
            )
        )


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: {"from": old, "to": new}} for every field that differs."""
    out = {}
    for key in sorted(set(before) | set(after)):
        if key == "name":
            continue
        old, new = before.get(key), after.get(key)
        if old != new:
            out[key] = {"from": _jsonable(old), "to": _jsonable(new)}
    return out
