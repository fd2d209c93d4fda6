"""`mtf plan`: what the trade-entry planner would do with a READY signal, number by number.

It reads the same snapshot `mtf.place_order` reads (contract, book, balance, candles) and runs
the same pure planner; nothing is recorded and nothing is sent.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

import click
from rich.table import Table

from infra import clock
from mtf.cli.common import (
    console,
    fail,
    refuse_stale,
    refuse_unknown_symbol,
    services_or_exit,
)
from mtf.cli.diagnose_cmd import parse_time
from mtf.contracts import ensure_contracts
from mtf.report import decision_key
from providers.port import ExchangeError, NotFoundError
from providers.timeframes import Timeframe, iso
from providers.types import PositionSide
from tradeentry.config import TradeEntryConfigError, available_trade_entries, load_trade_entry
from tradeentry.execute import plan_decision
from tradeentry.model import Signal, Skip, TradePlan

# Exit codes: a plan, a planner refusal (a normal answer, but scripts want to tell it apart).
PLANNED, SKIPPED = 0, 1


def _signal(symbol: str, side: str, timeframe: Timeframe, profile: str, as_of_ms: int) -> Signal:
    candle_open = as_of_ms - timeframe.ms
    return Signal(
        symbol=symbol,
        side=PositionSide(side),
        timeframe=timeframe.value,
        profile=profile,
        decision_key=decision_key(symbol, timeframe.value, candle_open),
        candle_open_ms=candle_open,
        as_of_ms=as_of_ms,
    )


def usdt(value: Decimal) -> str:
    """An amount for reading: four decimals (the JSON keeps every digit)."""
    return f"{value:.4f}"


def _summary_rows(plan: TradePlan) -> list[tuple[str, str]]:
    rows = [
        ("order", f"{plan.order_type.value} {plan.side.value}"),
        ("entry_price", str(plan.entry_price)),
        ("stop_loss", f"{plan.stop_loss} ({plan.stop_source})"),
    ]
    for n, target in enumerate(plan.targets, 1):
        rows.append(
            (f"take_profit {n}", f"{target.price} for {target.size} contracts ({target.source})")
        )
    rows += [
        ("size", f"{plan.size} contract{'' if plan.size == 1 else 's'}"),
        ("leverage", f"{plan.leverage}x"),
        ("notional", f"{usdt(plan.notional_usdt)} USDT"),
        ("margin", f"{usdt(plan.margin_usdt)} USDT of a {plan.budget_usdt} USDT budget"),
        (
            "risk",
            f"{usdt(plan.risk_usdt)} USDT configured, {usdt(plan.loss_at_stop_usdt)} at the "
            "stop with fees",
        ),
        ("liquidation", str(plan.liquidation_price) if plan.liquidation_price else "-"),
    ]
    if plan.zone is not None:
        rows.append(
            ("zone", f"[{plan.zone.low}, {plan.zone.high}] until {iso(plan.zone.expires_ms)}")
        )
    return rows


def _print_table(head: str, rows: list[tuple[str, str]], steps: dict[str, str]) -> None:
    out = console()
    out.print(head)
    if rows:
        summary = Table("plan", "value")
        for name, value in rows:
            summary.add_row(name, value)
        out.print(summary)
    table = Table("step", "value", title="every intermediate number")
    for name, value in steps.items():
        table.add_row(name, value)
    out.print(table)


@click.command()
@click.argument("symbol")
@click.option(
    "--side", type=click.Choice(["long", "short"]), required=True, help="The signal's side."
)
@click.option("--tf", "timeframe", default="1m", show_default=True, help="Execution timeframe.")
@click.option(
    "--profile",
    help="Trade-entry profile, named like the validation profile (default MTF_PROFILE).",
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Plan as of this UTC minute (paper exchange only; default now).",
)
@click.option("--exchange", type=click.Choice(["paper", "bitmart"]), help="Exchange adapter.")
@click.option("--json", "as_json", is_flag=True, help="The plan (or the skip) as JSON.")
def plan(
    symbol: str,
    side: str,
    timeframe: str,
    profile: str | None,
    at: str | None,
    exchange: str | None,
    as_json: bool,
) -> None:
    """The order plan for SYMBOL if a SIDE signal were READY now: entry, stop, targets, size,
    leverage and every number in between. Nothing is recorded or sent.

    Exit status: 0 with a plan, 1 when the planner refuses (the reason is printed), 2 on bad
    arguments or an unreadable exchange.
    """
    svc = services_or_exit()
    name = exchange or svc.settings.exchange
    profile_name = profile or svc.settings.profile
    try:
        tf = Timeframe.parse(timeframe)
    except ValueError as exc:
        fail(str(exc), code=2)
    if name != "paper" and at is not None:
        fail("--at replays the paper exchange; bitmart plans on its live book", code=2)
    try:
        config = load_trade_entry(profile_name)
    except TradeEntryConfigError as exc:
        fail(f"{exc}\navailable trade-entry profiles: {', '.join(available_trade_entries())}", 2)
    as_of = parse_time(at)
    if as_of > clock.now_ms():
        fail(f"--at {iso(as_of)} is in the future; a plan reads closed candles", code=2)
    symbol = symbol.upper()
    signal = _signal(symbol, side, tf, config.name, as_of)

    def candles(frame: Timeframe, limit: int) -> Any:
        return svc.market.closed_candles(symbol, frame, as_of, limit)

    if name == "paper":
        svc.synthetic.ensure_universe(svc.settings.synthetic_symbols)
    else:
        try:
            ensure_contracts(svc, name)
        except ExchangeError as exc:
            fail(f"cannot sync {name} contracts: {exc}", code=2)
    refuse_unknown_symbol(svc, symbol)
    if at is None:
        try:
            newest = svc.market.closed_candles(symbol, tf, as_of, 2).last_open_ms
        except ExchangeError as exc:
            fail(f"cannot read {symbol} {tf} candles from {name}: {exc}", code=2)
        expected = tf.last_closed_open_ms(as_of)
        if newest != expected:
            shown = iso(newest) if newest is not None else "none"
            refuse_stale(symbol, [f"{tf} newest candle {shown}, expected {iso(expected)}"], "plan")
    try:
        if name == "paper":
            venue = svc.exchange(name, clock=lambda: as_of)
            # The paper book is priced from stored candles: bring them up to the clock.
            svc.market.closed_candles(symbol, Timeframe.M1, as_of, 5)
        else:
            venue = svc.exchange(name)
        result = plan_decision(signal, venue, config, candles, as_of)
    except NotFoundError as exc:
        known = sorted(spec.symbol for spec in svc.contracts.all())
        if symbol in known:
            fail(f"cannot plan {symbol} on {name} as of {iso(as_of)}: {exc}", code=2)
        shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        fail(f"{exc}; known contracts: {shown or 'none (mtf contracts sync)'}", code=2)
    except ExchangeError as exc:
        fail(f"cannot read {symbol} from {name}: {exc}", code=2)
    head: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "timeframe": tf.value,
        "profile": config.name,
        "exchange": name,
        "as_of": iso(as_of),
    }
    if isinstance(result, Skip):
        if as_json:
            click.echo(
                json.dumps({**head, **result.to_dict(), "steps": dict(result.steps)}, indent=2)
            )
        else:
            _print_table(
                f"{symbol} {side} on {tf} ({config.name}, {name}, {iso(as_of)}): "
                f"no plan, {result.reason.value}: {result.detail}",
                [],
                dict(result.steps),
            )
        sys.exit(SKIPPED)
    if as_json:
        click.echo(json.dumps({**head, **result.to_dict()}, indent=2))
    else:
        _print_table(
            f"{symbol} {side} on {tf} ({config.name}, {name}, {iso(as_of)})",
            _summary_rows(result),
            result.steps,
        )
    sys.exit(PLANNED)
