"""`mtf diagnose` and `mtf replay`: explain one decision, or count decisions over a range."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

from infra import clock
from mtf.cli.common import (
    TIMEFRAME,
    console,
    fail,
    refuse_stale,
    refuse_unknown_symbol,
    services_or_exit,
)
from mtf.cli.progress import progress_bar
from mtf.decision import decide, evaluate_timeframe
from mtf.metrics import metric_source
from mtf.replay import ReplayReport, moments_of, replay, timeframe_ranges
from mtf.rules.compiler import ProfileError
from mtf.rules.frame import View
from mtf.rules.nodes import Outcome
from mtf.rules.profile import CompiledProfile, load_profile
from mtf.validator import load_frames
from providers.timeframes import Timeframe, floor_minute, iso, to_ms


def parse_time(text: str | None) -> int:
    """Epoch ms of a UTC minute given as ISO text (now when None)."""
    if text is None:
        return to_ms(floor_minute(clock.now()))
    raw = text.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time; use e.g. 2023-08-01T12:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(floor_minute(moment.astimezone(UTC)))


def profile_or_exit(name: str | None) -> CompiledProfile:
    try:
        return load_profile(name or services_or_exit().settings.profile)
    except ProfileError as exc:
        fail(str(exc))


def _rows(outcome: Outcome, depth: int = 0) -> list[tuple[int, Outcome]]:
    rows = [(depth, outcome)]
    for child in outcome.children:
        rows.extend(_rows(child, depth + 1))
    return rows


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.8g}"


@click.command()
@click.argument("symbol")
@click.option(
    "--tf",
    "timeframe",
    type=TIMEFRAME,
    help="Only this timeframe (evaluated even if the decision stops before it).",
)
@click.option("--profile", help="Validation profile (default MTF_PROFILE).")
@click.option("--at", "at", metavar="TIME", help="Decide as of this UTC minute (default now).")
@click.option("--json", "as_json", is_flag=True, help="The full trace as JSON.")
def diagnose(
    symbol: str, timeframe: Timeframe | None, profile: str | None, at: str | None, as_json: bool
) -> None:
    """Every condition of a symbol's decision, with its value, threshold and pass/fail."""
    svc = services_or_exit()
    compiled = profile_or_exit(profile)
    as_of = parse_time(at)
    if as_of > clock.now_ms():
        fail(f"--at {iso(as_of)} is in the future; a decision reads closed candles", code=2)
    symbol = symbol.upper()
    tfs = [timeframe] if timeframe else [*compiled.context, *compiled.execution]
    for tf in tfs:
        if tf not in compiled.sides:
            allowed = ", ".join([*compiled.context, *compiled.execution])
            fail(f"{compiled.name} has no rules for {tf}; its timeframes: {allowed}")
    if svc.settings.exchange == "paper":
        svc.synthetic.ensure_universe(svc.settings.synthetic_symbols)  # as a run would
    refuse_unknown_symbol(svc, symbol)
    frames, problems = load_frames(compiled, symbol, svc.market, as_of)
    if at is None:
        refuse_stale(symbol, problems, "diagnose")
    metrics = metric_source(frames, as_of, pivot_tf=compiled.pivot_timeframe)
    decision = decide(compiled, symbol, frames, as_of, metrics=metrics)
    view = View(frames, compiled.execution[0], as_of)
    per_tf = {
        tf: evaluate_timeframe(
            compiled, tf, "context" if tf in compiled.context else "execution", view
        )
        for tf in tfs
    }
    summary = {
        "symbol": symbol,
        "profile": compiled.name,
        "as_of": iso(as_of),
        "status": decision.status.value,
        "side": decision.side,
        "execution_tf": decision.execution_tf.value if decision.execution_tf else None,
        "reason": decision.reason,
        "detail": decision.detail,
        "data_problems": problems,
    }
    if as_json:
        out: dict[str, Any] = {
            **summary,
            "timeframes": {tf.value: d.trace() for tf, d in per_tf.items()},
        }
        if decision.selection:
            out["selection"] = list(decision.selection)
        click.echo(json.dumps(out, indent=2))
        return
    out_console = console()
    head = f"{symbol} {compiled.name} as of {iso(as_of)}: {decision.status.value}"
    if decision.side:
        head += f" {decision.side} on {decision.execution_tf}"
    elif decision.reason:
        head += f" ({decision.reason}{': ' + decision.detail if decision.detail else ''})"
    out_console.print(head)
    for problem in problems:
        out_console.print(f"[yellow]data: {problem}[/yellow]")
    for tf, d in per_tf.items():
        verdict = f"{d.signal}" if d.valid else f"invalid: {d.reason}"
        table = Table(
            "side",
            "rule",
            "pass",
            "value",
            "threshold",
            "note",
            title=f"{tf} ({d.phase}) -> {verdict}",
            title_justify="left",
        )
        for side, outcome in (("long", d.long), ("short", d.short), ("filters", d.filters)):
            if outcome is None:
                continue
            for depth, o in _rows(outcome):
                mark = "[green]yes[/green]" if o.passed else "[red]no[/red]"
                table.add_row(
                    side if depth == 0 else "",
                    "  " * depth + o.rule,
                    mark,
                    _fmt(o.value),
                    _fmt(o.threshold),
                    o.missing or "",
                )
        out_console.print(table)


@click.command("replay")
@click.option("--profile", help="Validation profile (default MTF_PROFILE).")
@click.option("--symbols", required=True, help="Comma-separated symbols with stored candles.")
@click.option("--from", "start", required=True, metavar="TIME", help="First decision minute.")
@click.option("--to", "end", required=True, metavar="TIME", help="Last decision minute.")
@click.option(
    "--step",
    type=TIMEFRAME,
    default="1m",
    show_default=True,
    help="Decide at every close of this timeframe.",
)
@click.option("--json", "as_json", is_flag=True)
def replay_cmd(
    profile: str | None, symbols: str, start: str, end: str, step: Timeframe, as_json: bool
) -> None:
    """Count what a profile decides over a range of stored candles (READY by side, reasons)."""
    svc = services_or_exit()
    compiled = profile_or_exit(profile)
    lo, hi = parse_time(start), parse_time(end)
    if hi < lo:
        fail(f"--to {iso(hi)} is before --from {iso(lo)}", code=2)
    if svc.settings.exchange == "paper":
        svc.synthetic.ensure_universe(svc.settings.synthetic_symbols)  # as a run would
    for symbol in sorted({s.strip().upper() for s in symbols.split(",") if s.strip()}):
        refuse_unknown_symbol(svc, symbol)
    step_tf = step
    total = ReplayReport()
    notes: list[str] = []
    started = time.perf_counter()
    chosen = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    per_symbol = len(range(-(-lo // step_tf.ms) * step_tf.ms, hi + 1, step_tf.ms))
    with progress_bar("replay", per_symbol * len(chosen)) as step_bar:
        for symbol in chosen:
            blocks = {}
            for tf in compiled.timeframes:
                history = (compiled.minimum_candles(tf) + 1) * tf.ms
                blocks[tf] = svc.klines.load_range(symbol, tf, lo - history, hi)
            note = _coverage_note(svc, compiled, symbol, blocks, lo, hi, step_tf)
            if note:
                notes.append(note)
            report = replay(
                compiled,
                symbol,
                blocks,
                start_ms=lo,
                end_ms=hi,
                step=step_tf,
                on_decision=step_bar,
            )
            step_bar(max(0, per_symbol - report.decisions), description=f"replay {symbol}")
            total.merge(report)
    elapsed = time.perf_counter() - started
    data = {
        "profile": compiled.name,
        "from": iso(lo),
        "to": iso(hi),
        "decisions": total.decisions,
        "statuses": dict(total.statuses),
        "ready": dict(total.ready),
        "reasons": dict(total.reasons.most_common()),
        "examples": [
            {"symbol": s, "as_of": iso(t), "side": side, "timeframe": tf}
            for s, t, side, tf in total.examples[:10]
        ],
        "seconds": round(elapsed, 2),
        "notes": notes,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if not total.decisions:
        fail(
            "no decision could be made: "
            + ("; ".join(notes) or "the stored candles do not cover the range")
            + " (`mtf klines status` shows what is stored)"
        )
    click.echo(
        f"{compiled.name}: {total.decisions} decisions from {iso(lo)} to {iso(hi)} "
        f"in {elapsed:.1f} s"
    )
    for note in notes:
        click.echo(f"note: {note}")
    click.echo("status: " + ", ".join(f"{k} {v}" for k, v in total.statuses.most_common()))
    click.echo("READY: " + (", ".join(f"{k} {v}" for k, v in total.ready.most_common()) or "none"))
    for reason, count in total.reasons.most_common(6):
        click.echo(f"  {reason}: {count}")


def _coverage_note(
    svc: Any,
    compiled: CompiledProfile,
    symbol: str,
    blocks: dict[Timeframe, Any],
    lo: int,
    hi: int,
    step: Timeframe,
) -> str | None:
    """Why `symbol` is decided over less than [lo, hi], if it is: which timeframe's stored
    history starts too late (the profile reads that many closed candles) or ends too early."""
    ranges = timeframe_ranges(compiled, blocks)
    starts = {tf: first for tf, (first, _) in ranges.items()}
    short = [tf for tf, first in starts.items() if first is None]
    if short:
        tf = short[0]
        need = compiled.minimum_candles(tf)
        oldest = svc.klines.oldest_open_ms(symbol, tf)
        if oldest is None:
            return f"{symbol}: no {tf} candles are stored (the profile reads {tf})"
        return (
            f"{symbol}: not decided: the profile reads {need} closed {tf} candles, and the "
            f"stored ones (from {iso(oldest)}) allow a first decision at "
            f"{iso(oldest + need * tf.ms)} only"
        )
    first_tf = max(starts, key=lambda tf: starts[tf] or 0)
    last_tf = min(ranges, key=lambda tf: ranges[tf][1])
    first, last = starts[first_tf] or 0, ranges[last_tf][1]
    grid = list(moments_of(max(lo, first), min(hi, last), step.ms))
    wanted = list(moments_of(lo, hi, step.ms))
    if grid == wanted:
        return None
    if not grid:
        return (
            f"{symbol}: not decided: its candles allow decisions from {iso(first)} to "
            f"{iso(last)} only"
        )
    why = []
    if grid[0] != wanted[0]:
        need = compiled.minimum_candles(first_tf)
        why.append(
            f"before it, fewer than the {need} closed {first_tf} candles the profile reads "
            "are stored"
        )
    if grid[-1] != wanted[-1]:
        why.append(f"its {last_tf} candles end there")
    return f"{symbol}: decided from {iso(grid[0])} to {iso(grid[-1])} only ({'; '.join(why)})"
