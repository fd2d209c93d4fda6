"""`mtf backtest`: a profile pair over stored candles, minute by minute, through the live
decision, planning, risk and order code; `list`, `show`, `export` what was kept."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from infra import clock
from mtf.cli.common import console, fail, services_or_exit
from mtf.cli.diagnose_cmd import parse_time
from mtf.cli.progress import stage_bars
from providers.timeframes import Timeframe, iso

TRADES_SHOWN = 20


def _summary_table(report: dict[str, Any]) -> Table:
    table = Table("figure", "value", title="summary", title_justify="left")
    for key, value in report["summary"].items():
        table.add_row(key, "-" if value is None else str(value))
    return table


def _symbol_table(report: dict[str, Any]) -> Table:
    columns = ["symbol", "trades", "wins", "win_rate", "net_pnl", "fees", "profit_factor"]
    table = Table(*columns, "expectancy_r", title="per symbol", title_justify="left")
    for row in report["per_symbol"]:
        table.add_row(*(str(row.get(c, "")) for c in [*columns, "expectancy_r"]))
    return table


def _trade_table(report: dict[str, Any], limit: int) -> Table:
    columns = [
        "symbol",
        "side",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "size",
        "fees",
        "pnl_usdt",
        "pnl_r",
        "exit_reason",
    ]
    trades = report["trades"]
    title = f"trades ({len(trades)}{f', first {limit}' if len(trades) > limit else ''})"
    table = Table(*columns, title=title, title_justify="left")
    for row in trades[:limit]:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    return table


def print_report(report: dict[str, Any], trades: int = TRADES_SHOWN) -> None:
    out = console()
    out.print(
        f"backtest {report.get('backtest_id', '')} {report['profile']} on "
        f"{', '.join(report['symbols'])}, {report['start']} .. {report['end']}"
    )
    out.print(_summary_table(report))
    out.print(_symbol_table(report))
    out.print(_trade_table(report, trades))
    outcomes = report["signals"]["outcomes"]
    out.print(
        f"READY signals: {sum(outcomes.values())} ("
        + ", ".join(f"{k} {v}" for k, v in outcomes.items())
        + ")"
    )
    for reason, count in list(report["signals"]["refused"].items())[:6]:
        out.print(f"  {reason}: {count}")
    out.print(f"[dim]{report['intra_candle_rule']}[/dim]")


def _export(svc: Any, report: dict[str, Any], out: Path, chart_symbol: str | None) -> None:
    from mtf.backtest.export import write_files

    symbol = (chart_symbol or report["symbols"][0]).upper()
    if symbol not in report["symbols"]:
        fail(f"--chart-symbol {symbol} is not in this backtest ({', '.join(report['symbols'])})")
    request = report["request"]
    minutes = svc.klines.load_range(
        symbol, Timeframe.M1, int(request["start_ms"]) - 60_000, int(request["end_ms"])
    )
    try:
        for path in write_files(report, out, chart_symbol=symbol, minutes=minutes):
            click.echo(f"wrote {path}", err=True)
    except OSError as exc:
        fail(
            f"cannot write the report into {out}: {exc.strerror or exc}; the backtest is kept: "
            f"`mtf backtest export {report.get('backtest_id', 'ID')} --out FOLDER`"
        )


@click.group(invoke_without_command=True)
@click.option("--profile", help="Validation and trade-entry profile (default MTF_PROFILE).")
@click.option("--symbols", help="Comma-separated symbols with stored candles.")
@click.option("--from", "start", metavar="TIME", help="First decision minute (UTC).")
@click.option("--to", "end", metavar="TIME", help="Last decision minute (UTC).")
@click.option("--balance", help="Starting balance in USDT (default MTF_PAPER_BALANCE).")
@click.option("--maker-fee", help="Maker fee rate (default MTF_PAPER_MAKER_FEE).")
@click.option("--taker-fee", help="Taker fee rate (default MTF_PAPER_TAKER_FEE).")
@click.option("--slippage-bps", help="Market and stop slippage (default MTF_PAPER_SLIPPAGE_BPS).")
@click.option("--spread-bps", help="Quoted spread (default MTF_PAPER_SPREAD_BPS).")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a profile field, e.g. stop.atr_k=2 or rule.rsi_bullish.threshold=55.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write JSON, CSV, PNG and HTML here.")
@click.option("--chart-symbol", help="Symbol of the price chart (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def backtest(
    ctx: click.Context,
    profile: str | None,
    symbols: str | None,
    start: str | None,
    end: str | None,
    balance: str | None,
    maker_fee: str | None,
    taker_fee: str | None,
    slippage_bps: str | None,
    spread_bps: str | None,
    assignments: tuple[str, ...],
    out: Path | None,
    chart_symbol: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Simulate a profile minute by minute over stored candles: decisions, plans, risk limits,
    entries, fills, stops and targets, fees and slippage; print and keep the report.

    Exit status 0 with a report, 2 when the request is refused (before anything runs).
    """
    if ctx.invoked_subcommand is not None:
        return
    from mtf.backtest import data, run
    from mtf.backtest.overrides import OverrideError, load_pair, parse_assignment
    from mtf.backtest.request import BacktestInputError, BacktestRequest
    from mtf.backtest.store import BacktestStore, new_id

    svc = services_or_exit()
    settings = svc.settings
    if not symbols or not start or not end:
        fail("give --symbols, --from and --to (see `mtf backtest --help`)", code=2)
    assert symbols is not None and start is not None and end is not None
    try:
        overrides = dict(parse_assignment(a) for a in assignments)
        request = BacktestRequest.checked(
            profile or settings.profile,
            symbols,
            parse_time(start),
            parse_time(end),
            now_ms=clock.now_ms(),
            balance=balance if balance is not None else settings.paper_balance,
            maker_fee=maker_fee if maker_fee is not None else settings.paper_maker_fee,
            taker_fee=taker_fee if taker_fee is not None else settings.paper_taker_fee,
            slippage_bps=slippage_bps if slippage_bps is not None else settings.paper_slippage_bps,
            spread_bps=spread_bps if spread_bps is not None else settings.paper_spread_bps,
            overrides=overrides,
        )
        pair = load_pair(request.profile, request.overrides)
        loaded = data.load(svc.klines, svc.contracts, request, pair)
    except (BacktestInputError, OverrideError, click.BadParameter) as exc:
        fail(str(exc.message if isinstance(exc, click.BadParameter) else exc), code=2)
    started = time.perf_counter()
    with stage_bars(not quiet) as progress:
        report = run.run(pair, request, loaded, progress)
    seconds = time.perf_counter() - started
    backtest_id = new_id()
    report = {"backtest_id": backtest_id, **report, "seconds": round(seconds, 3)}
    BacktestStore(svc.engine).save(report, seconds, backtest_id=backtest_id)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
        click.echo(
            f"kept as backtest {backtest_id} ({seconds:.1f} s): mtf backtest show {backtest_id}"
        )
    if out is not None:
        _export(svc, report, out, chart_symbol)


@backtest.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_(limit: int, as_json: bool) -> None:
    """Kept backtests, most recent first."""
    from mtf.backtest.store import BacktestStore

    rows = BacktestStore(services_or_exit().engine).recent(limit)
    items = [
        {
            "backtest_id": r.backtest_id,
            "created": f"{r.created_at:%Y-%m-%d %H:%M}",
            "profile": r.profile,
            "symbols": ",".join(r.symbols),
            "from": iso(r.start_ms),
            "to": iso(r.end_ms),
            "trades": r.summary.get("trades"),
            "net_pnl": r.summary.get("net_pnl"),
            "return_pct": r.summary.get("return_pct"),
            "max_drawdown_pct": r.summary.get("max_drawdown_pct"),
            "sweep": f"{r.sweep_id}#{r.set_index}" if r.sweep_id else "",
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    table = Table(*(items[0] if items else ["backtest_id"]))
    for item in items:
        table.add_row(*(str(v) for v in item.values()))
    console().print(table)


@backtest.command("show")
@click.argument("backtest_id")
@click.option("--trades", "trades", default=TRADES_SHOWN, show_default=True, help="Rows shown.")
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON.")
def show(backtest_id: str, trades: int, as_json: bool) -> None:
    """A kept backtest's report."""
    from mtf.backtest.store import BacktestStore

    row = BacktestStore(services_or_exit().engine).get(backtest_id)
    if row is None:
        fail(f"no single backtest matches {backtest_id!r} (`mtf backtest list`)")
    assert row is not None
    if as_json:
        click.echo(json.dumps(row.report, indent=2))
    else:
        print_report(dict(row.report), trades)


@backtest.command("export")
@click.argument("backtest_id")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write.")
@click.option("--chart-symbol", help="Symbol of the price chart (default: the first).")
def export(backtest_id: str, out: Path, chart_symbol: str | None) -> None:
    """Write a kept backtest as report.json, trades.csv, per_symbol.csv, equity.png,
    price-<SYMBOL>.png and one self-contained report.html."""
    from mtf.backtest.store import BacktestStore

    svc = services_or_exit()
    row = BacktestStore(svc.engine).get(backtest_id)
    if row is None:
        fail(f"no single backtest matches {backtest_id!r} (`mtf backtest list`)")
    assert row is not None
    _export(svc, dict(row.report), out, chart_symbol)
