"""`mtf schedules ...`: the beat schedules stored in Redis by RedBeat, editable at run time.

Entries from MTF_SCHEDULE_PROFILES are installed when beat starts; entries added here take
effect at beat's next tick without a restart.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click
from celery.schedules import crontab, schedule
from rich.console import Console
from rich.table import Table

from infra.settings import get_settings
from schedules.beat import CYCLE_TASK, beat_schedule, cycle_entry_name, cycle_options


def _app():  # type: ignore[no-untyped-def]
    from mtf import app

    return app


@click.group()
def schedules() -> None:
    """Beat schedules (RedBeat, in Redis)."""


@schedules.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
def list_(as_json: bool) -> None:
    """Entries in Redis with their next due time."""
    from redbeat.schedulers import RedBeatSchedulerEntry, ensure_conf, get_redis

    app = _app()
    ensure_conf(app)
    client = get_redis(app)
    table = Table("name", "task", "schedule", "kwargs", "enabled", "next due (UTC)")
    for key, score in client.zrange(app.redbeat_conf.schedule_key, 0, -1, withscores=True):
        key = key.decode() if isinstance(key, bytes) else key
        try:
            entry = RedBeatSchedulerEntry.from_key(key, app=app)
        except KeyError:
            continue
        due = datetime.fromtimestamp(score, UTC).strftime("%Y-%m-%d %H:%M:%S") if score > 0 else "-"
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "name": entry.name,
                        "task": entry.task,
                        "schedule": str(entry.schedule),
                        "kwargs": entry.kwargs,
                        "enabled": entry.enabled,
                        "next_due": due,
                    }
                )
            )
            continue
        table.add_row(
            entry.name, entry.task, str(entry.schedule), str(entry.kwargs), str(entry.enabled), due
        )
    if not as_json:
        Console(width=None if sys.stdout.isatty() else 160).print(table)


@schedules.command("static")
def static() -> None:
    """The schedule beat installs from the environment (MTF_SCHEDULE_PROFILES ...)."""
    for name, entry in beat_schedule(get_settings()).items():
        click.echo(
            f"{name}: {entry['task']} {entry['schedule']} kwargs={entry['kwargs']} "
            f"options={entry['options']}"
        )


@schedules.command("enable")
@click.argument("profile")
@click.option(
    "--every",
    "every",
    type=int,
    default=None,
    help="Run every N seconds instead of on each minute's close.",
)
@click.option(
    "--dry-run/--no-dry-run",
    "dry_run",
    default=True,
    show_default=True,
    help="dry_run passed to each cycle.",
)
def enable(profile: str, every: int | None, dry_run: bool) -> None:
    """Run PROFILE's cycle on a schedule (every minute by default)."""
    from redbeat.schedulers import RedBeatSchedulerEntry

    from mtf.rules.compiler import ProfileError
    from mtf.rules.profile import load_profile

    try:
        load_profile(profile)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    if every is not None and every < 1:
        raise click.BadParameter("must be at least 1 second", param_hint="--every")
    sched = schedule(timedelta(seconds=every)) if every else crontab(minute="*")
    options = cycle_options(get_settings())
    if every:
        options = {**options, "countdown": 0, "expires": max(every, 5)}
    entry = RedBeatSchedulerEntry(
        cycle_entry_name(profile),
        CYCLE_TASK,
        sched,
        kwargs={"profile": profile, "dry_run": dry_run},
        options=options,
        app=_app(),
    )
    entry.save()
    click.echo(f"scheduled {entry.name}: {sched} (dry_run={dry_run})")


@schedules.command("disable")
@click.argument("profile")
def disable(profile: str) -> None:
    """Stop PROFILE's cycles (until beat restarts with it in MTF_SCHEDULE_PROFILES)."""
    from redbeat.schedulers import RedBeatSchedulerEntry, ensure_conf

    app = _app()
    ensure_conf(app)
    try:
        entry = RedBeatSchedulerEntry.from_key(
            RedBeatSchedulerEntry.generate_key(app, cycle_entry_name(profile)), app=app
        )
    except KeyError:
        raise click.ClickException(f"no schedule for profile {profile!r}") from None
    entry.delete()
    click.echo(f"removed {entry.name}")
