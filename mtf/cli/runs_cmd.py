"""`mtf runs ...` and `mtf orders ...`: what past cycles decided and recorded."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from mtf.cli.common import console, fail, services_or_exit
from mtf.summary import compact_summary
from providers.timeframes import iso
from tradeentry.ledger import STATUSES


@click.group()
def runs() -> None:
    """Past runs."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--profile")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def list_(limit: int, profile: str | None, as_json: bool) -> None:
    """Most recent runs first."""
    svc = services_or_exit()
    if as_json:
        for row in svc.runs.recent(limit, profile):
            click.echo(json.dumps(_run_record(row)))
        return
    table = Table(
        "run",
        "profile",
        "schedule",
        "as of",
        "mode",
        "status",
        "symbols",
        "ready",
        "invalid",
        "skipped",
        "errors",
        "why",
    )
    for row in svc.runs.recent(limit, profile):
        why = (row.detail or "") if row.status not in ("completed", "running") else ""
        table.add_row(
            row.run_id[:8],
            row.profile,
            row.schedule or "-",
            f"{row.as_of:%Y-%m-%dT%H:%MZ}" if row.as_of else "-",
            "dry-run" if row.dry_run else "live",
            row.status,
            str(row.symbols_total),
            str(row.ready),
            str(row.invalid),
            str(row.skipped),
            str(row.errors),
            (why[:77] + "...") if len(why) > 80 else why,
        )
    console().print(table)


def _run_record(row: Any) -> dict[str, Any]:
    def at(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "run_id": row.run_id,
        "profile": row.profile,
        "schedule": row.schedule,
        "scheduled_for": at(row.scheduled_for),
        "as_of": at(row.as_of),
        "dry_run": row.dry_run,
        "exchange": row.exchange,
        "status": row.status,
        "started_at": at(row.started_at),
        "finished_at": at(row.finished_at),
        "symbols": row.symbols_total,
        "ready": row.ready,
        "invalid": row.invalid,
        "skipped": row.skipped,
        "errors": row.errors,
        "detail": row.detail,
    }


@runs.command("show")
@click.argument("run_id")
@click.option("--symbol", help="Show this symbol's full rule trace.")
@click.option("--json", "as_json", is_flag=True)
def show(run_id: str, symbol: str | None, as_json: bool) -> None:
    """A run's summary (or one symbol's trace)."""
    svc = services_or_exit()
    row = svc.runs.find(run_id)
    if row is None:
        fail(f"no single run matches {run_id!r}")
    assert row is not None
    if symbol:
        match = [r for r in svc.runs.results(row.run_id) if r.symbol == symbol.upper()]
        if not match:
            fail(f"run {row.run_id[:8]} has no result for {symbol}")
        r = match[0]
        data = {
            "symbol": r.symbol,
            "status": r.status,
            "side": r.side,
            "execution_tf": r.execution_tf,
            "reason": r.reason,
            "reasons": r.reasons,
            "decisions": r.decisions,
        }
        click.echo(json.dumps(data, indent=2))
        return
    if row.response is None:
        click.echo(f"{row.status}: {row.detail}")
        return
    click.echo(json.dumps(row.response, indent=2) if as_json else compact_summary(row.response))


@runs.command("wait")
@click.argument("run_id")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait at most.")
@click.option("--json", "as_json", is_flag=True, help="Print the full run response.")
def wait(run_id: str, timeout: float, as_json: bool) -> None:
    """Wait until run RUN_ID (the id `celery call` or `mtf schedules trigger` printed) ends;
    print its summary. Exit 0 when it completed, 1 for any other outcome, 3 on timeout."""
    from mtf.runs import FINAL

    svc = services_or_exit()
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = svc.runs.find(run_id)
        if row is not None and row.status in FINAL:
            break
        time.sleep(0.5)
    if row is None:
        fail(f"no run {run_id!r} recorded within {timeout:.0f} s (is a worker running?)", 3)
    assert row is not None
    if row.status not in FINAL:
        fail(f"run {row.run_id} still {row.status} after {timeout:.0f} s", 3)
    response = row.response or {"status": row.status, "message": row.detail, "run": {}}
    if as_json:
        click.echo(json.dumps({"run_id": row.run_id, "outcome": row.status, **response}))
    elif row.response is not None:
        click.echo(compact_summary(row.response))
    else:
        click.echo(f"{row.status}: {row.detail}")
    sys.exit(0 if row.status == "completed" else 1)


@runs.command("reap")
def reap() -> None:
    """End runs past their deadline now (beat does it every few seconds)."""
    svc = services_or_exit()
    for r in svc.runs.reap(log_each=False):  # printed here, not logged beside
        click.echo(f"{r.run_id} {r.was} -> {r.status}: {r.detail}")


@click.group()
def orders() -> None:
    """Recorded order decisions."""


@orders.command("list")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--status", type=click.Choice(STATUSES), help="Only decisions in this status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision.")
def orders_list(limit: int, status: str | None, as_json: bool) -> None:
    """Most recent decisions first: status and why, plan prices and size."""
    svc = services_or_exit()
    rows = svc.ledger.recent(limit, status)
    if as_json:
        for row in rows:
            record = {
                "decision_key": row.decision_key,
                "candle_open": iso(row.candle_open_ms),
                "profile": row.profile,
                "side": row.side,
                "status": row.status,
                "detail": row.detail,
                "dry_run": row.dry_run,
                "exchange": row.exchange,
                "client_order_id": row.client_order_id,
                "exchange_order_id": row.exchange_order_id,
                "run_id": row.run_id,
                "plan": row.plan,
            }
            click.echo(json.dumps(record, default=str))
        return
    table = Table(
        "candle",
        "symbol",
        "tf",
        "profile",
        "side",
        "status",
        "why",
        "entry",
        "stop",
        "take profit",
        "size",
        "lev",
        "mode",
    )
    for row in rows:
        plan = row.plan or {}
        why = str(plan.get("skipped") or "") if row.status == "skipped" else (row.detail or "")
        table.add_row(
            iso(row.candle_open_ms),
            row.symbol,
            row.timeframe,
            row.profile,
            row.side,
            row.status,
            (why[:57] + "...") if len(why) > 60 else why,
            str(plan.get("entry_price", "-")),
            str(plan.get("stop_loss", "-")),
            str(plan.get("take_profit", "-")),
            str(plan.get("size", "-")),
            str(plan.get("leverage", "-")),
            "dry-run" if row.dry_run else "live",
        )
    console().print(table)
