"""`mtf stream ...`: the Bitmart market-data stream service and its state."""

from __future__ import annotations

import asyncio
import json
import signal

import click
from rich.table import Table

from infra import clock
from mtf.cli.common import console, services_or_exit
from mtf.stream.leader import Leadership
from mtf.stream.status import StatusStore
from providers.timeframes import iso


@click.group()
def stream() -> None:
    """Bitmart's WebSocket into the store: candles, top of book, order and position pushes."""


@stream.command("run")
@click.option("--symbols", default="", help="Comma-separated symbols (default: the universe).")
@click.option("--no-private", is_flag=True, help="Do not open the private stream.")
def run(symbols: str, no_private: bool) -> None:
    """Run the stream service (one leader at a time; more processes wait as standbys)."""
    from mtf.stream.service import StreamService

    svc = services_or_exit()
    chosen = [s.strip().upper() for s in symbols.split(",") if s.strip()] or None
    service = StreamService(svc, symbols=chosen, private=not no_private)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await service.run(stop)

    asyncio.run(main())


@stream.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """The leader, its heartbeat, coverage and stale symbols."""
    svc = services_or_exit()
    rows = StatusStore(svc.engine).all()
    leader = Leadership(svc.engine, "", svc.settings.stream_lease_seconds).current()
    now = clock.now_ms()
    if as_json:
        click.echo(json.dumps({"leader": leader, "streams": [r.__dict__ for r in rows]}))
        return
    if not rows:
        click.echo("no stream has reported (start one with `mtf stream run`)")
        return
    table = Table("stream", "leader", "alive", "heartbeat", "complete to", "symbols", "stale")
    for r in rows:
        table.add_row(
            r.name,
            r.leader,
            "yes" if r.alive(now) else "NO",
            f"{(now - r.heartbeat_ms) / 1000:.1f} s ago",
            iso(r.complete_ms) if r.complete_ms else "-",
            str(r.symbols),
            ", ".join(r.stale[:8]) + (" ..." if len(r.stale) > 8 else "") if r.stale else "-",
        )
    console().print(table)
    click.echo(f"lease held by: {leader or 'nobody'}")
