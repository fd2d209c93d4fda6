"""`mtf metrics ...`: the Prometheus endpoint of a deployment."""

from __future__ import annotations

from pathlib import Path

import click
from prometheus_client import generate_latest

from infra import telemetry
from mtf.cli.common import fail, services_or_exit
from mtf.observability.server import Auth, build_registry, serve


@click.group()
def metrics() -> None:
    """Prometheus metrics: counters of every process and the state read from the database."""


@metrics.command("serve")
@click.option("--host", default=None, help="Listen address [MTF_METRICS_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [MTF_METRICS_PORT, 9464].")
def serve_cmd(host: str | None, port: int | None) -> None:
    """Serve /metrics (and /healthz) until stopped.

    Counters come from every process writing to PROMETHEUS_MULTIPROC_DIR (the workers of this
    host); state gauges from the database. MTF_METRICS_TOKEN (bearer) or MTF_METRICS_BASIC_AUTH
    (user:password) protect /metrics."""
    svc = services_or_exit()
    settings = svc.settings
    try:
        auth = Auth.from_settings(settings)
    except ValueError as exc:
        fail(str(exc), code=2)
    host = host or settings.metrics_host
    port = settings.metrics_port if port is None else port
    try:
        server = serve(svc.engine, settings, host=host, port=port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    bound = server.server_address[1]
    folder = telemetry.multiprocess_dir() or "none (this process's counters only)"
    guard = "bearer token or basic auth" if auth.required else "no authentication"
    click.echo(
        f"metrics on http://{host}:{bound}/metrics ({guard}); multiprocess folder: {folder}",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@metrics.command("clear")
def clear_cmd() -> None:
    """Empty the multiprocess folder (PROMETHEUS_MULTIPROC_DIR) before the workers start.

    Counters then start from zero, which Prometheus reads as a restart. Never while workers
    run: their counts would be lost."""
    folder = telemetry.multiprocess_dir()
    if folder is None:
        click.echo("PROMETHEUS_MULTIPROC_DIR is not set: nothing to clear")
        return
    removed = 0
    for path in Path(folder).glob("*.db"):
        path.unlink(missing_ok=True)
        removed += 1
    click.echo(f"{folder}: {removed} file(s) removed")


@metrics.command("show")
def show_cmd() -> None:
    """Print the metrics once, as Prometheus would scrape them."""
    svc = services_or_exit()
    click.echo(generate_latest(build_registry(svc.engine, svc.settings)).decode(), nl=False)
