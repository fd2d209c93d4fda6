"""`mtf schedules ...`: cycle schedules as durable objects, changed at run time.

Schedules live in the database; beat reads them on every tick, so a change takes effect within
a second without a restart, and survives Redis, beat and standbys. Every change is recorded with
who made it and the note given (`mtf schedules history`).
"""

from __future__ import annotations

import functools
import json
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from rich.table import Table

from infra import clock
from infra.settings import get_settings, mask_url_password
from mtf.cli.common import console, fail, services_or_exit
from mtf.cli.run_cmd import describe_unknown, unknown_symbols
from mtf.cli.runs_cmd import runs as runs_group
from mtf.runs import RunStore
from mtf.staleness import run_deadline, stale_after_ms
from schedules.accounting import find_gaps, parse_since
from schedules.beat import CYCLE_TASK, beat_schedule
from schedules.cadence import parse_cadence
from schedules.store import (
    OVERLAP_POLICIES,
    ScheduleError,
    ScheduleSpec,
    ScheduleStore,
    default_actor,
)

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(fn: F) -> F:
    """Schedule errors, an unreachable database or broker: one line on stderr, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kombu.exceptions import OperationalError as BrokerError
        from redis.exceptions import RedisError
        from sqlalchemy.exc import SQLAlchemyError

        settings = get_settings()
        try:
            return fn(*args, **kwargs)
        except ScheduleError as exc:
            fail(str(exc), 2)
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            fail(
                f"cannot reach the database {mask_url_password(settings.database_url)}: "
                f"{type(exc).__name__}: {cause}"
            )
        except (BrokerError, RedisError, OSError) as exc:
            cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            fail(f"cannot reach the broker {mask_url_password(settings.broker_url)}: {cause}")

    return wrapper  # type: ignore[return-value]


def _stores() -> tuple[ScheduleStore, RunStore]:
    from infra.db import ensure_schema, get_engine

    url = get_settings().database_url
    ensure_schema(url)
    engine = get_engine(url)
    return ScheduleStore(engine), RunStore(engine)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ScheduleError(f"--expires {value!r}: an ISO time, e.g. 2026-12-31T00:00Z") from None
    if moment.tzinfo is None:
        raise ScheduleError(f"--expires {value!r}: give a time zone, e.g. 2026-12-31T00:00Z")
    return moment


def _request(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`--set key=value` pairs (values read as JSON when they parse: true, 3, ["A","B"])."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ScheduleError(f"--set {pair!r}: expected key=value (e.g. dry_run=false)")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _check_symbols(request: dict[str, Any]) -> None:
    """Refuse symbols that are not contracts, as `mtf run` does: the schedule would decide
    nothing for them every time. An empty contract table cannot tell: a warning then."""
    if not request.get("symbols"):
        return
    svc = services_or_exit()
    exchange = str(request.get("exchange") or request.get("cex") or svc.settings.exchange)
    names, unknown = unknown_symbols(svc, request["symbols"], exchange)
    if unknown:
        raise ScheduleError(describe_unknown(unknown))
    if names and not svc.contracts.by_source():
        click.secho(
            f"warning: no contracts are stored yet (`mtf contracts sync`): "
            f"{', '.join(names)} not checked",
            fg="yellow",
            err=True,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _fmt(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment is not None else "-"


def _state(row: Any, now: datetime) -> str:
    if row.paused:
        return "paused"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _next_fires(row: Any, now: datetime, count: int) -> list[datetime]:
    if _state(row, now) != "active":
        return []
    cadence = parse_cadence(row.cadence)
    offset = timedelta(seconds=row.offset_seconds)
    fires = [t + offset for t in cadence.upcoming(now - offset, count)]
    if row.expires_at is not None:
        fires = [f for f in fires if f - offset < row.expires_at]
    return fires


def _definition(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "name": row.name,
        "profile": row.profile,
        "cadence": row.cadence,
        "request": row.request or {},
        "offset_seconds": row.offset_seconds,
        "stale_after_seconds": row.stale_after_seconds,
        "effective_stale_after_seconds": stale_after_ms(
            get_settings(),
            row.profile,
            current_tf=(row.request or {}).get("current_tf"),
            override_seconds=row.stale_after_seconds,
        )
        / 1000,
        "catchup_window_seconds": row.catchup_window_seconds,
        "overlap": row.overlap,
        "pause_on_failure": row.pause_on_failure,
        "state": _state(row, now),
        "paused": row.paused,
        "note": row.note,
        "expires_at": _iso(row.expires_at),
        "accounted_until": _iso(row.cursor_at),
        "version": row.version,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _run_dict(row: Any) -> dict[str, Any]:
    duration = (
        (row.finished_at - row.started_at).total_seconds()
        if row.finished_at and row.started_at and row.status not in ("missed",)
        else None
    )
    return {
        "run_id": row.run_id,
        "scheduled_for": _iso(row.scheduled_for),
        "status": row.status,
        "lateness_s": None if row.lateness_ms is None else round(row.lateness_ms / 1000, 3),
        "duration_s": None if duration is None else round(duration, 3),
        "ready": row.ready,
        "detail": row.detail,
    }


def _change_dict(change: Any) -> dict[str, Any]:
    return {
        "at": _iso(change.at),
        "schedule": change.schedule,
        "action": change.action,
        "changes": change.changes,
        "note": change.note,
        "actor": change.actor,
    }


def _spec_options(fn: F) -> F:
    options = [
        click.option("--profile", help="Validation profile the runs use."),
        click.option(
            "--cadence",
            "--cron",
            "cadence",
            help="Cron spec in UTC ('* * * * *', '17 3 * * *'), a cron alias (@hourly...) or "
            "'@every 10s'.",
        ),
        click.option("--offset", type=float, help="Seconds after each time before the run starts."),
        click.option(
            "--stale-after",
            type=int,
            help="A run older than this many seconds places no entry (default: half the "
            "profile's fastest execution timeframe).",
        ),
        click.option(
            "--catchup-window",
            type=int,
            help="A time missed (beat, broker or database down) is still run if it can start "
            "within this many seconds; later it is recorded missed.",
        ),
        click.option("--overlap", type=click.Choice(OVERLAP_POLICIES), help="Overlap policy."),
        click.option(
            "--pause-on-failure/--no-pause-on-failure",
            default=None,
            help="Pause the schedule when one of its runs fails or is abandoned.",
        ),
        click.option("--expires", help="Stop firing at this time (ISO, with a zone)."),
        click.option(
            "--set",
            "sets",
            multiple=True,
            help="A run request override, key=value (e.g. dry_run=false, symbols='[\"BTCUSDT\"]').",
        ),
        click.option("--note", help="Why: kept in the change log."),
        click.option("--json", "as_json", is_flag=True, help="Print the schedule as JSON."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group()
def schedules() -> None:
    """Cycle schedules (in the database; beat picks changes up within a second)."""


@schedules.command("create")
@click.argument("name")
@_spec_options
@click.option("--paused", is_flag=True, help="Create it paused (give --note).")
@one_line_errors
def create(
    name: str,
    profile: str | None,
    cadence: str | None,
    offset: float | None,
    stale_after: int | None,
    catchup_window: int | None,
    overlap: str | None,
    pause_on_failure: bool | None,
    expires: str | None,
    sets: tuple[str, ...],
    note: str | None,
    as_json: bool,
    paused: bool,
) -> None:
    """Create schedule NAME (every minute on the close by default)."""
    settings = get_settings()
    if paused and not note:
        raise ScheduleError("--paused needs --note (why it is paused)")
    static = beat_schedule(settings)
    if name in static:
        # `list`, `describe` and the runs would show two different things under one name.
        raise ScheduleError(
            f"schedule {name!r}: the name of beat's static entry ({static[name]['task']}); "
            f"static names: {', '.join(static)}"
        )
    spec = ScheduleSpec(
        name=name,
        profile=profile or settings.profile,
        cadence=cadence or "* * * * *",
        request=_request(sets),
        offset_seconds=settings.beat_offset_seconds if offset is None else offset,
        stale_after_seconds=stale_after,
        catchup_window_seconds=(
            settings.catchup_window_seconds if catchup_window is None else catchup_window
        ),
        overlap=overlap or "skip",
        pause_on_failure=bool(pause_on_failure),
        expires_at=_time(expires),
    )
    _check_symbols(spec.request)
    store, _ = _stores()
    row = store.create(spec, actor=default_actor(), note=note, paused=paused)
    _show_one(row, as_json, f"created {row.name}")


@schedules.command("update")
@click.argument("name")
@_spec_options
@click.option("--unset", "unsets", multiple=True, help="Remove a run request override.")
@one_line_errors
def update_(
    name: str,
    profile: str | None,
    cadence: str | None,
    offset: float | None,
    stale_after: int | None,
    catchup_window: int | None,
    overlap: str | None,
    pause_on_failure: bool | None,
    expires: str | None,
    sets: tuple[str, ...],
    note: str | None,
    as_json: bool,
    unsets: tuple[str, ...],
) -> None:
    """Change schedule NAME (only the options given)."""
    store, _ = _stores()
    row = store.require(name)
    changes: dict[str, Any] = {}
    for key, value in (
        ("profile", profile),
        ("cadence", cadence),
        ("offset_seconds", offset),
        ("stale_after_seconds", stale_after),
        ("catchup_window_seconds", catchup_window),
        ("overlap", overlap),
        ("pause_on_failure", pause_on_failure),
        ("expires_at", _time(expires)),
    ):
        if value is not None:
            changes[key] = value
    if sets or unsets:
        given = _request(sets)
        request = {**(row.request or {}), **given}
        for key in unsets:
            request.pop(key, None)
        changes["request"] = request
        if {"symbols", "exchange", "cex"} & set(given):
            _check_symbols(request)
    row = store.update(name, changes, actor=default_actor(), note=note)
    _show_one(row, as_json, f"updated {row.name} (version {row.version})")


def _show_one(row: Any, as_json: bool, message: str) -> None:
    now = clock.now()
    if as_json:
        click.echo(json.dumps(_definition(row, now)))
        return
    fires = _next_fires(row, now, 1)
    nxt = f", next run {_fmt(fires[0])} UTC" if fires else ""
    click.echo(f"{message}: {row.profile} on '{row.cadence}' ({_state(row, now)}{nxt})")


@schedules.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per schedule.")
@one_line_errors
def list_(as_json: bool) -> None:
    """Schedules with their state, next run and last outcome (static entries too)."""
    store, runs = _stores()
    now = clock.now()
    rows = store.all()
    static = _static(now)
    if as_json:
        for row in rows:
            last = runs.for_schedule(row.name, 1)
            fires = _next_fires(row, now, 1)
            click.echo(
                json.dumps(
                    {
                        **_definition(row, now),
                        "next_run": _iso(fires[0]) if fires else None,
                        "last_run": _run_dict(last[0]) if last else None,
                    }
                )
            )
        for entry in static:
            click.echo(json.dumps(entry))
        return
    table = Table("name", "profile", "cadence", "state", "next run (UTC)", "last run", "note")
    for row in rows:
        last = runs.for_schedule(row.name, 1)
        fires = _next_fires(row, now, 1)
        outcome = f"{last[0].status} ({_fmt(last[0].scheduled_for)[11:]})" if last else "-"
        table.add_row(
            row.name,
            row.profile,
            row.cadence,
            _state(row, now),
            _fmt(fires[0]) if fires else "-",
            outcome,
            row.note or "",
        )
    for entry in static:
        table.add_row(
            entry["name"],
            "-",
            entry["cadence"],
            "static",
            entry["next_run"][:19].replace("T", " "),
            "-",
            entry["task"],
        )
    console().print(table)


def _static(now: datetime) -> list[dict[str, Any]]:
    """Beat's static entries, with their next run computed from their own cron spec."""
    out = []
    for name, entry in beat_schedule(get_settings()).items():
        sched = entry["schedule"]
        spec = " ".join(
            str(getattr(sched, f"_orig_{part}"))
            for part in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
        )
        countdown = float(entry["options"].get("countdown", 0))
        fire = parse_cadence(spec).next_after(now - timedelta(seconds=countdown))
        out.append(
            {
                "name": name,
                "task": entry["task"],
                "cadence": spec,
                "state": "static",
                "offset_seconds": countdown,
                "next_run": (fire + timedelta(seconds=countdown)).isoformat(),
            }
        )
    return out


@schedules.command("describe")
@click.argument("name")
@click.option("--runs", "run_count", default=10, show_default=True, help="Last runs shown.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def describe(name: str, run_count: int, as_json: bool) -> None:
    """Spec, policies, the next 5 runs, the last runs (outcome, lateness) and the change log."""
    store, runs = _stores()
    row = store.require(name)
    now = clock.now()
    fires = _next_fires(row, now, 5)
    last = runs.for_schedule(name, run_count)
    changes = store.history(name, 10)
    if as_json:
        click.echo(
            json.dumps(
                {
                    **_definition(row, now),
                    "next_runs": [_iso(f) for f in fires],
                    "last_runs": [_run_dict(r) for r in last],
                    "changes": [_change_dict(c) for c in changes],
                }
            )
        )
        return
    d = _definition(row, now)
    lines = [
        f"schedule {row.name} ({d['state']}{': ' + row.note if row.note else ''})",
        f"  profile {row.profile} | cadence '{row.cadence}' UTC | offset {row.offset_seconds:g} s"
        f" | request {json.dumps(row.request or {})}",
        f"  overlap {row.overlap} | catch-up window {row.catchup_window_seconds} s | stale after "
        f"{d['effective_stale_after_seconds']:g} s"
        f"{'' if row.stale_after_seconds else ' (from the profile)'} | pause on failure "
        f"{'yes' if row.pause_on_failure else 'no'} | expires {_fmt(row.expires_at)}",
        f"  accounted for until {_fmt(row.cursor_at)} | version {row.version}",
        "next runs (UTC): " + (", ".join(_fmt(f) for f in fires) or "none"),
    ]
    click.echo("\n".join(lines))
    table = Table("scheduled (UTC)", "outcome", "late (s)", "took (s)", "ready", "detail")
    for r in last:
        rd = _run_dict(r)
        table.add_row(
            _fmt(r.scheduled_for),
            r.status,
            "-" if rd["lateness_s"] is None else f"{rd['lateness_s']:.2f}",
            "-" if rd["duration_s"] is None else f"{rd['duration_s']:.2f}",
            str(r.ready),
            (r.detail or "")[:70],
        )
    console().print(table)
    _print_changes(changes)


def _change_text(changes: dict[str, Any]) -> str:
    """`field: old -> new` for edits; other entries (a trigger's run id) as `key: value`."""
    parts = []
    for key, value in (changes or {}).items():
        if isinstance(value, dict) and set(value) <= {"from", "to"}:
            was, now = value.get("from"), value.get("to")
            # A creation has no "from", a deletion no "to": say the one there is.
            shown = now if was is None else was if now is None else f"{was} -> {now}"
            parts.append(f"{key}: {shown}")
        else:
            parts.append(f"{key}: {value}")
    return ", ".join(parts)


def _print_changes(changes: list[Any]) -> None:
    table = Table("when (UTC)", "action", "by", "note", "changes")
    for c in changes:
        # Wrapped by the table, never cut: a cut entry would read as a different value.
        table.add_row(_fmt(c.at), c.action, c.actor, c.note or "", _change_text(c.changes))
    console().print(table)


@schedules.command("pause")
@click.argument("name")
@click.option("--note", required=True, help="Why it is paused (shown with the schedule).")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def pause(name: str, note: str, as_json: bool) -> None:
    """Pause NAME: no beat (leader or standby, after any restart) runs it until resumed."""
    store, _ = _stores()
    row = store.pause(name, actor=default_actor(), note=note)
    _show_one(row, as_json, f"paused {row.name}")


@schedules.command("resume")
@click.argument("name")
@click.option("--note", help="Why: kept in the change log.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def resume(name: str, note: str | None, as_json: bool) -> None:
    """Resume NAME from now (times that passed while paused are not run)."""
    store, _ = _stores()
    row = store.resume(name, actor=default_actor(), note=note)
    _show_one(row, as_json, f"resumed {row.name}")


@schedules.command("trigger")
@click.argument("name")
@click.option("--note", help="Why: kept in the change log.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def trigger(name: str, note: str | None, as_json: bool) -> None:
    """Run NAME now, once, with its request and overlap policy (needs the broker and a worker)."""
    from mtf import app

    store, runs = _stores()
    row = store.require(name)
    settings = get_settings()
    now = clock.now()
    request = {**(row.request or {}), "profile": row.profile}
    stale_after = stale_after_ms(
        settings,
        row.profile,
        current_tf=request.get("current_tf"),
        override_seconds=row.stale_after_seconds,
    )
    run_id = str(uuid.uuid4())
    runs.claim_scheduled(
        run_id,
        schedule=name,
        scheduled_for=now,
        profile=row.profile,
        request=request,
        deadline=run_deadline(settings, now, stale_after),
    )
    try:
        app.send_task(
            CYCLE_TASK,
            kwargs=request,
            task_id=run_id,
            queue="mtf",
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception:
        runs.expire_unsent(run_id, "triggered, but the broker could not be reached")
        raise
    runs.mark_queued(run_id)
    store.record(name, "triggered", actor=default_actor(), note=note, changes={"run_id": run_id})
    if as_json:
        click.echo(json.dumps({"schedule": name, "run_id": run_id, "scheduled_for": _iso(now)}))
    else:
        click.echo(f"triggered {name}: run {run_id} (mtf runs wait {run_id})")


@schedules.command("delete")
@click.argument("name")
@click.option("--note", help="Why: kept in the change log.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def delete_(name: str, note: str | None, as_json: bool) -> None:
    """Delete NAME (its runs and change log are kept)."""
    store, _ = _stores()
    store.delete(name, actor=default_actor(), note=note)
    click.echo(json.dumps({"deleted": name}) if as_json else f"deleted {name}")


@schedules.command("history")
@click.argument("name", required=False)
@click.option("--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per change.")
@one_line_errors
def history(name: str | None, limit: int, as_json: bool) -> None:
    """Every change to NAME (or to all schedules): when, what, by whom, why."""
    store, _ = _stores()
    changes = store.history(name, limit)
    if as_json:
        for c in changes:
            click.echo(json.dumps(_change_dict(c)))
        return
    _print_changes(changes)


@runs_group.command("gaps")
@click.option("--since", default="1h", show_default=True, help="90s, 30m, 1h, 2d or an ISO time.")
@click.option("--schedule", "name", help="Only this schedule.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per gap.")
@one_line_errors
def gaps(since: str, name: str | None, as_json: bool) -> None:
    """Scheduled times with no completed run, and why (skipped, missed, stale...)."""
    now = clock.now()
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None
    store, runs = _stores()
    found = find_gaps(store, runs, start, now, name)
    if as_json:
        for gap in found:
            click.echo(json.dumps(gap.to_dict()))
        return
    if not found:
        click.echo(f"no gaps since {_fmt(start)} UTC: every scheduled time completed")
        return
    table = Table("scheduled (UTC)", "schedule", "outcome", "why", "run")
    for gap in found:
        table.add_row(
            _fmt(gap.scheduled_for),
            gap.schedule,
            gap.status,
            gap.detail[:90],
            (gap.run_id or "-")[:8],
        )
    console().print(table)


def main() -> None:  # pragma: no cover - `python -m schedules.cli`
    schedules(sys.argv[1:])
