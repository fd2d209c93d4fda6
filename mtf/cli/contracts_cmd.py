"""`mtf contracts ...`: contract specifications from the exchange, and the tradable universe."""

from __future__ import annotations

import json

import click
from rich.table import Table

from infra import clock
from mtf.cli.common import console, fail, services_or_exit
from mtf.contracts import sync_contracts
from mtf.tradable import tradable_universe
from providers.port import ExchangeError


@click.group()
def contracts() -> None:
    """Contract specifications and the tradable universe."""


@contracts.command("sync")
@click.option("--exchange", type=click.Choice(["bitmart"]), default="bitmart", show_default=True)
def sync(exchange: str) -> None:
    """Upsert every contract of the exchange into the store (source: the exchange)."""
    svc = services_or_exit()
    try:
        report = sync_contracts(svc, exchange)
    except ExchangeError as exc:
        fail(f"cannot read contracts from {exchange}: {exc}")
    click.echo(
        f"{report['upserted']} contract(s) from {exchange}: {report['trading']} trading, "
        f"{report['universe']} in the tradable universe"
    )


@contracts.command("universe")
@click.option("--json", "as_json", is_flag=True)
def universe(as_json: bool) -> None:
    """The symbols a cycle would validate, and why the others are left out."""
    svc = services_or_exit()
    chosen, excluded = tradable_universe(svc, clock.now_ms())
    if as_json:
        click.echo(json.dumps({"universe": chosen, "excluded": excluded}, indent=2))
        return
    table = Table("symbol", "in universe", "why not")
    for symbol in chosen:
        table.add_row(symbol, "yes", "")
    for symbol, reason in sorted(excluded.items()):
        table.add_row(symbol, "no", reason)
    console().print(table)
    click.echo(f"{len(chosen)} tradable, {len(excluded)} left out")
