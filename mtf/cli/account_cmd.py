"""`mtf account` and `mtf account history`: the paper or Bitmart account as it stands, and the
positions it closed."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import click
from rich.table import Table

from infra import clock
from mtf.accounting import ClosedPosition, replay, totals_since
from mtf.cli.common import console, fail, services_or_exit
from mtf.services import EXCHANGES, Services
from providers.port import Exchange, ExchangeError
from providers.timeframes import iso
from providers.types import ContractSpec, Position, TriggerKind, TriggerOrder
from tradeentry.equity import day_of, record_snapshot, snapshots
from tradeentry.protection import covering_stop

DAY_MS = 86_400_000


class _Specs:
    """Contract specs from the store, else the exchange; one read per symbol."""

    def __init__(self, svc: Services, exchange: Exchange) -> None:
        self.svc, self.exchange = svc, exchange
        self._known: dict[str, ContractSpec | None] = {}

    def get(self, symbol: str) -> ContractSpec | None:
        if symbol not in self._known:
            spec = self.svc.contracts.find(symbol)
            if spec is None:
                try:
                    spec = self.exchange.contract(symbol)
                except ExchangeError:
                    spec = None
            self._known[symbol] = spec
        return self._known[symbol]

    def contract_size(self, symbol: str) -> Decimal:
        spec = self.get(symbol)
        return spec.contract_size if spec is not None else Decimal(1)

    def price(self, symbol: str, value: Decimal | None) -> str | None:
        """On the tick grid, as the exchange shows it."""
        if value is None:
            return None
        spec = self.get(symbol)
        return f"{value.quantize(spec.tick_size) if spec is not None else value:f}"


def _open(name: str | None) -> tuple[Services, str, Exchange]:
    svc = services_or_exit()
    exchange = name or svc.settings.exchange
    return svc, exchange, svc.exchange(exchange)


def _read(what: str, exchange: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except ExchangeError as exc:
        fail(f"cannot read the {exchange} account ({what}): {type(exc).__name__}: {exc}")


exchange_option = click.option(
    "--exchange",
    type=click.Choice(EXCHANGES),
    help="Which account [MTF_EXCHANGE].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group(invoke_without_command=True)
@exchange_option
@json_option
@click.pass_context
def account(ctx: click.Context, exchange: str | None, as_json: bool) -> None:
    """Wallet, equity, open positions with their stop and targets, open orders, today's P&L."""
    if ctx.invoked_subcommand is not None:
        return
    svc, name, venue = _open(exchange)
    now = clock.now_ms()
    balance = _read("balance", name, venue.balance)
    positions: list[Position] = _read("positions", name, venue.positions)
    triggers: list[TriggerOrder] = _read("trigger orders", name, venue.trigger_orders)
    orders = _read("open orders", name, venue.open_orders)
    day_start = now - now % DAY_MS
    fills = _read("fills", name, lambda: venue.fills(since_ms=day_start - 7 * DAY_MS))
    specs = _Specs(svc, venue)
    today = totals_since(fills, specs.contract_size, day_start)
    record_snapshot(svc.engine, name, balance, now)
    snap = next((s for s in snapshots(svc.engine, now) if s.exchange == name), None)
    data = {
        "exchange": name,
        "as_of": iso(now),
        "currency": balance.currency,
        "wallet": str(balance.equity - balance.unrealized_pnl),
        "equity": str(balance.equity),
        "available": str(balance.available),
        "unrealized_pnl": str(balance.unrealized_pnl),
        "position_margin": str(balance.position_margin),
        "order_margin": str(balance.order_margin),
        "today": {
            "day": day_of(now),
            "realized_pnl": str(today.realized_pnl),
            "fees": str(today.fees),
            "fills": today.fills,
            "pnl_since_first_look": None
            if snap is None or snap.day_pnl is None
            else str(snap.day_pnl),
        },
        "positions": [_position(p, triggers, specs) for p in positions],
        "open_orders": [
            {
                "symbol": o.symbol,
                "order_id": o.order_id,
                "client_order_id": o.client_order_id,
                "side": o.side.name.lower(),
                "type": o.type.value,
                "price": specs.price(o.symbol, o.price),
                "size": str(o.size),
                "filled": str(o.filled_size),
                "created": iso(o.created_ms),
            }
            for o in orders
        ],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    _print_account(data)


def _position(p: Position, triggers: list[TriggerOrder], specs: _Specs) -> dict[str, Any]:
    stop = covering_stop(p, triggers)
    targets = sorted(
        (
            t
            for t in triggers
            if t.symbol == p.symbol
            and t.side.position_side is p.side
            and t.kind is TriggerKind.TAKE_PROFIT
        ),
        key=lambda t: t.trigger_price,
        reverse=p.side.value == "short",
    )
    return {
        "symbol": p.symbol,
        "side": p.side.value,
        "size": str(p.size),
        "entry_price": specs.price(p.symbol, p.entry_price),
        "mark_price": specs.price(p.symbol, p.mark_price),
        "unrealized_pnl": str(p.unrealized_pnl),
        "leverage": p.leverage,
        "liquidation_price": specs.price(p.symbol, p.liquidation_price),
        "opened": iso(p.opened_ms) if p.opened_ms else None,
        "stop": None if stop is None else specs.price(p.symbol, stop.trigger_price),
        "protected": stop is not None,
        "targets": [
            {
                "price": specs.price(p.symbol, t.trigger_price),
                "size": "all" if t.size is None else str(t.size),
            }
            for t in targets
        ],
    }


def _money(value: str | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    amount = Decimal(value)
    return f"{amount:+,.2f}" if signed else f"{amount:,.2f}"


def _print_account(data: dict[str, Any]) -> None:
    out = console()
    today = data["today"]
    out.print(
        f"[bold]{data['exchange']}[/bold] account at {data['as_of']}: "
        f"wallet {_money(data['wallet'])} {data['currency']}, "
        f"equity {_money(data['equity'])}, available {_money(data['available'])}, "
        f"unrealized {_money(data['unrealized_pnl'], True)}"
    )
    since = today["pnl_since_first_look"]
    out.print(
        f"today ({today['day']} UTC): realized {_money(today['realized_pnl'], True)}, "
        f"fees {_money(today['fees'])} over {today['fills']} fill(s)"
        + (f"; equity {_money(since, True)} since the day's first look" if since else "")
    )
    if data["positions"]:
        table = Table(
            "symbol",
            "side",
            "size",
            "entry",
            "mark",
            "unrealized",
            "stop",
            "targets",
            "liq.",
            title="open positions",
        )
        for p in data["positions"]:
            targets = ", ".join(
                t["price"] + ("" if t["size"] == "all" else f" ({t['size']})") for t in p["targets"]
            )
            table.add_row(
                p["symbol"],
                p["side"],
                p["size"],
                p["entry_price"],
                p["mark_price"],
                _money(p["unrealized_pnl"], True),
                p["stop"] if p["protected"] else "[bold red]UNPROTECTED[/bold red]",
                targets or "-",
                p["liquidation_price"] or "-",
            )
        out.print(table)
    else:
        out.print("no open positions")
    if data["open_orders"]:
        table = Table(
            "symbol",
            "side",
            "type",
            "price",
            "size",
            "filled",
            "created",
            "client id",
            title="open orders",
        )
        for o in data["open_orders"]:
            table.add_row(
                o["symbol"],
                o["side"],
                o["type"],
                o["price"] or "market",
                o["size"],
                o["filled"],
                o["created"],
                o["client_order_id"] or "-",
            )
        out.print(table)
    else:
        out.print("no open orders")


@account.command("history")
@exchange_option
@click.option(
    "--days", type=click.IntRange(1, 90), default=7, show_default=True, help="How far back."
)
@click.option("--symbol", help="Only this symbol.")
@json_option
def history(exchange: str | None, days: int, symbol: str | None, as_json: bool) -> None:
    """Positions closed in the last DAYS days: entry, exit, P&L and fees."""
    svc, name, venue = _open(exchange)
    now = clock.now_ms()
    since = now - days * DAY_MS
    wanted = symbol.upper() if symbol else None
    fills = _read("fills", name, lambda: venue.fills(wanted, since_ms=since))
    specs = _Specs(svc, venue)
    closed, _ = replay(fills, specs.contract_size)
    if as_json:
        click.echo(json.dumps([_closed_dict(c, specs) for c in closed], indent=2))
        return
    if not closed:
        click.echo(f"no position of {name} closed since {iso(since)}")
        return
    table = Table(
        "symbol",
        "side",
        "size",
        "entry",
        "exit",
        "P&L",
        "fees",
        "net",
        "opened",
        "closed",
        title=f"{name}: positions closed since {iso(since)}",
    )
    for c in closed:
        d = _closed_dict(c, specs)
        table.add_row(
            c.symbol,
            c.side,
            d["size"],
            d["entry_price"] or "?",
            d["exit_price"],
            _money(d["pnl"], True),
            _money(d["fees"]),
            _money(d["net"], True),
            d["opened"] or "?",
            d["closed"],
        )
    out = console()
    out.print(table)
    net = sum((c.net for c in closed), Decimal(0))
    out.print(f"{len(closed)} position(s), net {_money(str(net), True)} after fees")


def _closed_dict(c: ClosedPosition, specs: _Specs) -> dict[str, Any]:
    d = c.to_dict()
    d["entry_price"] = specs.price(c.symbol, c.entry_price)
    d["exit_price"] = specs.price(c.symbol, c.exit_price)
    d["opened"] = iso(c.opened_ms) if c.opened_ms else None
    d["closed"] = iso(c.closed_ms)
    return d
