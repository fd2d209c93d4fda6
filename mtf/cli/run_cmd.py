"""`mtf run`: one cycle in this process, through the same Celery tasks the workers run."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import click

from mtf.cli.common import fail, services_or_exit
from providers.timeframes import Timeframe, iso


@click.command()
@click.option("--symbols", help="Comma-separated symbols (default: the tradable universe).")
@click.option("--profile", help="Validation profile (default: MTF_PROFILE, scalper_micro).")
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Decide as of this UTC minute, e.g. 2023-08-01T12:00Z (replay).",
)
@click.option(
    "--dry-run/--no-dry-run",
    "dry_run",
    default=None,
    help="Record plans only (default: MTF_DRY_RUN, true).",
)
@click.option("--exchange", type=click.Choice(["paper", "bitmart"]), help="Exchange adapter.")
@click.option("--current-tf", help="Only consider this execution timeframe.")
@click.option(
    "--validation-mode",
    type=click.Choice(["strict", "pragmatic"]),
    help="Override the profile's context mode.",
)
@click.option("--skip-context", is_flag=True, help="Skip the context timeframes.")
@click.option(
    "--skip-open-state-filter", is_flag=True, help="Keep symbols with an open position or order."
)
@click.option("--force-run", is_flag=True, help="Ignore symbol switches.")
@click.option("--no-tpsl", is_flag=True, help="Do not run the TP/SL sweep.")
@click.option("--json", "as_json", is_flag=True, help="Print the full run response as JSON.")
def run(
    symbols: str | None,
    profile: str | None,
    at: str | None,
    dry_run: bool | None,
    exchange: str | None,
    current_tf: str | None,
    validation_mode: str | None,
    skip_context: bool,
    skip_open_state_filter: bool,
    force_run: bool,
    no_tpsl: bool,
    as_json: bool,
) -> None:
    """Run one scalping cycle in-process and print its summary (no broker needed)."""
    from mtf.celery_app import configure_embedded
    from mtf.summary import compact_summary
    from mtf.tasks.cycle import run_cycle

    svc = services_or_exit()
    configure_embedded()
    if symbols:
        refuse_unknown_symbols(svc, symbols, exchange or svc.settings.exchange)
    request: dict[str, Any] = {}
    if symbols:
        request["symbols"] = symbols
    for key, value in (
        ("profile", profile),
        ("as_of", at),
        ("dry_run", dry_run),
        ("exchange", exchange),
        ("current_tf", current_tf),
        ("validation_mode", validation_mode),
    ):
        if value is not None:
            request[key] = value
    for key, flag in (
        ("skip_context", skip_context),
        ("skip_open_state_filter", skip_open_state_filter),
        ("force_run", force_run),
    ):
        if flag:
            request[key] = True
    if no_tpsl:
        request["process_tp_sl"] = False

    with _without_rejection_log():
        result = run_cycle.apply(kwargs=request)
    if result.failed():
        fail(one_line(str(result.result)), code=2)
    started = result.result
    run_row = svc.runs.get(started["run_id"])
    if run_row is None:
        fail(f"run {started['run_id']} left no record")
    assert run_row is not None
    if run_row.status in ("skipped", "rejected") or run_row.response is None:
        payload = {
            "status": run_row.status,
            "message": run_row.detail or "",
            "run": {"run_id": run_row.run_id, "profile": run_row.profile},
        }
        click.echo(json.dumps(payload, indent=2) if as_json else compact_summary(payload))
        sys.exit(0 if run_row.status == "skipped" else 1)
    response = dict(run_row.response)
    orders = dict(response.get("orders") or {})
    keys = [o["decision_key"] for o in orders.get("enqueued", [])]
    if keys:
        # In-process the order tasks have already run: say what they did.
        orders["outcomes"] = svc.ledger.outcomes(run_row.run_id, keys)
        response["orders"] = orders
    if as_json:
        click.echo(json.dumps(response, indent=2, default=str))
    else:
        click.echo(compact_summary(response))
    if at is None:
        hint = imported_history_hint(svc, response)
        if hint:
            click.secho(hint, fg="yellow", err=True)
    sys.exit(1 if run_row.status == "failed" else 0)


def one_line(message: str) -> str:
    """A refusal listing its problems on indented lines, as one line."""
    head, *rest = message.splitlines() or [""]
    problems = [line.strip().removeprefix("- ") for line in rest if line.strip()]
    return f"{head}: {'; '.join(problems)}" if problems else head


@contextlib.contextmanager
def _without_rejection_log() -> Iterator[None]:
    """The task logs a refused request for the workers' log; here the error line says it."""

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("run rejected:")

    logger = logging.getLogger("mtf.run")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def refuse_unknown_symbols(svc: Any, symbols: str, exchange: str) -> None:
    """Exit 2 before anything runs when no requested symbol is a contract, naming each and what
    is known: the run would complete having decided nothing. With some known ones the run goes
    ahead and its summary names the others."""
    names, unknown = unknown_symbols(svc, symbols, exchange)
    if unknown and len(unknown) == len(names):
        fail(describe_unknown(unknown), code=2)


def unknown_symbols(svc: Any, symbols: Any, exchange: str) -> tuple[list[str], dict[str, str]]:
    """The requested names, and those that are not contracts with why and the closest known
    ones. None unknown when the names are invalid (the run request refuses them with the
    reason) or the contract table is empty (it cannot tell)."""
    from mtf.request import RunRequest
    from mtf.tradable import not_contracts

    try:
        names = RunRequest(symbols=symbols).symbols
    except ValueError:
        return [], {}
    if exchange == "paper":
        # As the cycle would: the synthetic market exists before its names are judged.
        svc.synthetic.ensure_universe(svc.settings.synthetic_symbols)
    return names, not_contracts(svc, names)


def describe_unknown(unknown: dict[str, str]) -> str:
    return "; ".join(f"{s} is {why}" for s, why in unknown.items())


def imported_history_hint(svc: Any, response: dict[str, Any]) -> str | None:
    """What to do when a live run met symbols that only hold imported (past) history."""
    rejected = response.get("rejected_by") or []
    stale = {r["symbol"] for r in rejected if r.get("reason") == "stale_candles"}
    imported = stale & set(svc.contracts.by_source().get("import", []))
    if not imported:
        return None
    newest = svc.klines.newest_by_symbol(Timeframe.M1)
    last = max((newest.get(s, 0) for s in imported), default=0)
    example = ""
    if last:
        # The minute after the newest stored candle is the last one fully decidable.
        example = (
            f" (their 1m candles end at {iso(last)}: e.g. `mtf run --at {iso(last + 60_000)}`)"
        )
    return (
        f"note: {len(imported)} symbol(s) hold imported history only, which ends in the past; "
        f"replay it with --at{example}, or restore the synthetic demo with `mtf market reset`"
    )
