"""`mtf backtest sweep | sweeps | leaderboard`: parameter grids over a backtest, run in parts by
a local process pool or by Celery workers on the `backtest` queue."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.table import Table

from infra import clock
from mtf.cli.backtest_cmd import backtest
from mtf.cli.common import console, fail, services_or_exit
from mtf.cli.diagnose_cmd import parse_time
from mtf.cli.progress import stage_bars
from providers.timeframes import iso


def _board_table(rows: list[dict[str, Any]], top: int, title: str) -> Table:
    keys = list(rows[0]) if rows else ["set"]
    table = Table(*keys, title=title, title_justify="left")
    for row in rows[:top]:
        table.add_row(*("-" if row.get(k) is None else str(row.get(k)) for k in keys))
    return table


def _broker_or_exit() -> None:
    from mtf.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        fail(f"cannot reach the Celery broker ({exc}); run without --celery for a local pool", 2)


@backtest.command("sweep")
@click.option("--profile", help="Validation and trade-entry profile (default MTF_PROFILE).")
@click.option("--symbols", help="Comma-separated symbols with stored candles.")
@click.option("--from", "start", metavar="TIME", help="First decision minute (UTC).")
@click.option("--to", "end", metavar="TIME", help="Last decision minute (UTC).")
@click.option(
    "--grid",
    "grids",
    multiple=True,
    metavar="KEY=V1,V2,...",
    help="Values of one profile field (e.g. entry_zone.k_atr=0.25,0.35); every combination runs.",
)
@click.option("--balance", help="Starting balance in USDT (default MTF_PAPER_BALANCE).")
@click.option("--maker-fee", help="Maker fee rate (default MTF_PAPER_MAKER_FEE).")
@click.option("--taker-fee", help="Taker fee rate (default MTF_PAPER_TAKER_FEE).")
@click.option("--slippage-bps", help="Slippage (default MTF_PAPER_SLIPPAGE_BPS).")
@click.option("--spread-bps", help="Spread (default MTF_PAPER_SPREAD_BPS).")
@click.option("--workers", default=2, show_default=True, help="Local worker processes.")
@click.option("--celery", is_flag=True, help="Send the parts to Celery workers (queue backtest).")
@click.option("--resume", metavar="SWEEP", help="Finish a sweep whose client stopped.")
@click.option(
    "--sort",
    default="net_pnl",
    show_default=True,
    type=click.Choice(["net_pnl", "return", "drawdown", "profit_factor", "sharpe", "expectancy"]),
)
@click.option("--top", default=20, show_default=True, help="Rows shown.")
@click.option("--json", "as_json", is_flag=True, help="The leaderboard as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep_cmd(
    profile: str | None,
    symbols: str | None,
    start: str | None,
    end: str | None,
    grids: tuple[str, ...],
    balance: str | None,
    maker_fee: str | None,
    taker_fee: str | None,
    slippage_bps: str | None,
    spread_bps: str | None,
    workers: int,
    celery: bool,
    resume: str | None,
    sort: str,
    top: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Backtest every combination of the --grid values and rank them.

    Decisions are computed once per symbol and validation variant, then each parameter set's
    account runs over every symbol (sizes, concurrent positions and the daily loss cap
    depend on all of them). Parts are kept once each: a killed worker's part is redone.
    """
    from mtf.backtest import sweep
    from mtf.backtest.overrides import OverrideError, parse_grid
    from mtf.backtest.request import BacktestInputError, BacktestRequest
    from mtf.backtest.store import BacktestStore, new_id

    svc = services_or_exit()
    settings = svc.settings
    store = BacktestStore(svc.engine)
    if workers < 1:
        fail("--workers must be at least 1", code=2)
    try:
        if resume:
            plan = sweep.load_plan(svc.engine, resume)
        else:
            if not symbols or not start or not end:
                fail("give --symbols, --from, --to and at least one --grid", code=2)
            assert symbols is not None and start is not None and end is not None
            sets = parse_grid(grids)
            request = BacktestRequest.checked(
                profile or settings.profile,
                symbols,
                parse_time(start),
                parse_time(end),
                now_ms=clock.now_ms(),
                balance=balance if balance is not None else settings.paper_balance,
                maker_fee=maker_fee if maker_fee is not None else settings.paper_maker_fee,
                taker_fee=taker_fee if taker_fee is not None else settings.paper_taker_fee,
                slippage_bps=(
                    slippage_bps if slippage_bps is not None else settings.paper_slippage_bps
                ),
                spread_bps=spread_bps if spread_bps is not None else settings.paper_spread_bps,
            )
            plan = sweep.new_plan(new_id(), request, sets)
            sweep.check_data(svc.engine, plan)
    except (BacktestInputError, OverrideError, click.BadParameter) as exc:
        fail(str(exc.message if isinstance(exc, click.BadParameter) else exc), code=2)
    if celery:
        _broker_or_exit()
    if not resume:
        store.create_sweep(plan.sweep_id, plan.request.profile, plan.request.to_dict(), plan.sets)
    click.echo(
        f"sweep {plan.sweep_id}: {len(plan.sets)} parameter sets x "
        f"{len(plan.request.symbols)} symbols, {len(plan.signal_parts())} decision parts and "
        f"{len(plan.trade_parts())} account parts "
        f"({'Celery, queue backtest' if celery else f'{workers} local processes'})",
        err=True,
    )
    started = time.perf_counter()
    try:
        with stage_bars(not quiet) as progress:
            if celery:
                sweep.drive_celery(svc.engine, plan, progress)
            else:
                sweep.drive_local(svc.engine, settings.database_url, plan, workers, progress)
    except (RuntimeError, BacktestInputError) as exc:
        store.finish_sweep(plan.sweep_id, "failed", None, str(exc))
        fail(str(exc))
    board = sweep.sort_board(sweep.finish(svc.engine, plan), sort)
    seconds = time.perf_counter() - started
    if as_json:
        click.echo(
            json.dumps({"sweep_id": plan.sweep_id, "seconds": seconds, "leaderboard": board})
        )
        return
    console().print(_board_table(board, top, f"sweep {plan.sweep_id}, by {sort}"))
    click.echo(
        f"{len(board)} parameter sets in {seconds:.1f} s; a member's report: "
        f"mtf backtest show {board[0]['backtest_id'] if board else 'ID'}"
    )


@backtest.command("sweeps")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def sweeps(limit: int, as_json: bool) -> None:
    """Kept sweeps, most recent first."""
    from mtf.backtest.store import BacktestStore

    items = [
        {
            "sweep": row.sweep_id,
            "created": f"{row.created_at:%Y-%m-%d %H:%M}",
            "profile": row.profile,
            "status": row.status,
            "sets": len(row.sets),
            "symbols": ",".join(row.request["symbols"]),
            "from": iso(int(row.request["start_ms"])),
            "to": iso(int(row.request["end_ms"])),
        }
        for row in BacktestStore(services_or_exit().engine).sweeps(limit)
    ]
    if as_json:  # as `mtf backtest list --json`
        click.echo(json.dumps(items, indent=2))
        return
    table = Table("sweep", "created", "profile", "status", "sets", "symbols", "from", "to")
    for item in items:
        table.add_row(*(str(v) for v in item.values()))
    console().print(table)


@backtest.command("leaderboard")
@click.argument("sweep_id")
@click.option(
    "--sort",
    default="net_pnl",
    show_default=True,
    type=click.Choice(["net_pnl", "return", "drawdown", "profit_factor", "sharpe", "expectancy"]),
)
@click.option("--top", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def leaderboard(sweep_id: str, sort: str, top: int, as_json: bool) -> None:
    """A sweep's parameter sets ranked (so far, while it runs)."""
    from mtf.backtest import sweep
    from mtf.backtest.request import BacktestInputError

    svc = services_or_exit()
    try:
        plan = sweep.load_plan(svc.engine, sweep_id)
    except BacktestInputError as exc:
        fail(str(exc), code=2)
    board = sweep.sort_board(sweep.leaderboard(svc.engine, plan), sort)
    if as_json:
        click.echo(json.dumps(board, indent=2))
        return
    state = sweep.progress_of(svc.engine, plan)
    title = f"sweep {plan.sweep_id} by {sort}: {state.trades_done}/{state.trades_total} sets done"
    console().print(_board_table(board, top, title))
