"""`mtf health worker|beat`: container healthchecks from the processes' liveness files."""

from __future__ import annotations

import sys

import click

from mtf import health


@click.command("health")
@click.argument("kind", type=click.Choice(["worker", "beat"]))
@click.option(
    "--max-age",
    type=float,
    default=None,
    help="Seconds since the process last showed life (default: 60 for a worker, 30 for beat).",
)
@click.option("--name", help="Only this worker (its node name) or beat host.")
def health_cmd(kind: str, max_age: float | None, name: str | None) -> None:
    """Exit 0 when a WORKER or BEAT on this host is alive (its main loop turned recently),
    1 otherwise; one line either way. Redis or the database being away does not make a process
    unhealthy: it reconnects by itself."""
    limit = max_age if max_age is not None else (60.0 if kind == "worker" else 30.0)
    ok, line = health.check(kind, limit, name)
    click.echo(line, err=not ok)
    sys.exit(0 if ok else 1)
