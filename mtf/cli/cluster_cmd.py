"""`mtf cluster check`: would a worker or beat started here join the cluster?"""

from __future__ import annotations

import json

import click

from infra.cluster import ClusterError, check
from infra.settings import get_settings
from providers.bitmart.ratelimit import limiter_state


@click.group()
def cluster() -> None:
    """This host as one of the cluster's machines."""


@cluster.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(as_json: bool) -> None:
    """Run the checks a worker or beat runs at start (layout, cluster identity of the
    database and of every Redis, clock offset against the database); exit 1 on a problem."""
    try:
        report = check(get_settings(), role="check")
    except ClusterError as exc:
        for line in exc.lines:
            click.secho(f"refused: {line}", fg="red", err=True)
        raise SystemExit(1) from None
    measured = report.clock
    data = {
        "cluster_id": report.cluster_id,
        "database": report.database,
        "broker": report.broker,
        "redis": report.redis,
        "clock_offset_ms": round(measured.offset_ms, 3) if measured else None,
        "clock_round_trip_ms": round(measured.round_trip_ms, 3) if measured else None,
        "clock": measured.describe() if measured else None,
        "rate_limiter": limiter_state(),
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"cluster   {report.cluster_id}")
    click.echo(f"database  {report.database}")
    click.echo(f"broker    {report.broker}")
    for variable, url in report.redis.items():
        click.echo(f"redis     {url} ({variable}: same cluster)")
    click.echo(f"clock     {data['clock']}")
