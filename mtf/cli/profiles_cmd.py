"""`mtf profiles ...`: list and check validation profiles and their trade-entry profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mtf.rules.compiler import ProfileError
from mtf.rules.profile import (
    available_profiles,
    load_profile,
    load_profile_file,
    resolve_profile_path,
)
from tradeentry.config import (
    TradeEntryConfigError,
    available_trade_entries,
    load_trade_entry,
    load_trade_entry_file,
    resolve_trade_entry_path,
)


@click.group()
def profiles() -> None:
    """Validation profiles."""


def _trade_entry_state(name: str) -> str:
    if name not in available_trade_entries():
        return "trade entry MISSING (READY signals are recorded as errors)"
    try:
        load_trade_entry(name)
    except TradeEntryConfigError as exc:
        return f"trade entry INVALID ({len(exc.problems)} problem(s))"
    return "trade entry ok"


def _record(name: str) -> dict[str, Any]:
    """One profile for `--json`: its timeframes, or its problems, and its trade-entry state."""
    record: dict[str, Any] = {"name": name, "valid": True, "problems": []}
    try:
        p = load_profile(name)
    except ProfileError as exc:
        record.update(valid=False, problems=[str(problem) for problem in exc.problems])
    else:
        record.update(mode=p.mode, context=list(p.context), execution=list(p.execution))
    entry = "missing" if name not in available_trade_entries() else "ok"
    entry_problems: list[str] = []
    if entry == "ok":
        try:
            load_trade_entry(name)
        except TradeEntryConfigError as exc:
            entry = "invalid"
            entry_problems = [f"{where or '<root>'}: {message}" for where, message in exc.problems]
    record.update(trade_entry=entry, trade_entry_problems=entry_problems)
    return record


@profiles.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per profile.")
def list_(as_json: bool) -> None:
    """Available profiles with their timeframes and the state of their trade-entry profile."""
    for name in available_profiles():
        if as_json:
            click.echo(json.dumps(_record(name)))
            continue
        entry = _trade_entry_state(name)
        try:
            p = load_profile(name)
        except ProfileError as exc:
            click.secho(f"{name:16} INVALID ({len(exc.problems)} problem(s)); {entry}", fg="red")
            continue
        line = (
            f"{name:16} {p.mode:9} context {','.join(p.context) or '-':10} "
            f"execution {','.join(p.execution):8} {entry}"
        )
        click.secho(line, fg=None if entry.endswith("ok") else "yellow")


@profiles.command("check")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--trade-entry",
    is_flag=True,
    help="The files are trade-entry profiles (tradeentry/profiles/*.yaml).",
)
def check(files: tuple[str, ...], trade_entry: bool) -> None:
    """Validate profile files (or names); print every problem with its YAML path."""
    check_one = _trade_entry if trade_entry else _validation_profile
    bad = 0
    for item in files:
        outcome = check_one(item)
        if isinstance(outcome, str):
            click.echo(f"{item}: ok ({outcome})")
            continue
        bad += 1
        click.secho(f"{item}: {len(outcome)} problem(s)", fg="red")
        for problem in outcome:
            click.echo(f"  - {problem}")
    if bad:
        raise SystemExit(1)


def _validation_profile(item: str) -> str | list[str]:
    """A summary of the profile, or its problems."""
    try:
        path = Path(item) if Path(item).exists() else resolve_profile_path(item)
        profile = load_profile_file(path)
    except ProfileError as exc:
        return [str(problem) for problem in exc.problems]
    needs = ", ".join(f"{tf} {n}" for tf, n in profile.requirements.items())
    return f"{profile.name}, candles needed: {needs}"


def _trade_entry(item: str) -> str | list[str]:
    """A summary of the trade-entry profile, or its problems."""
    try:
        path = Path(item) if Path(item).exists() else resolve_trade_entry_path(item)
        config = load_trade_entry_file(path)
    except TradeEntryConfigError as exc:
        return [f"{where or '<root>'}: {message}" for where, message in exc.problems]
    risk = config.risk
    return (
        f"{config.name}: risk {risk.risk_pct} % of {risk.budget_usdt} USDT, "
        f"{config.order.type.value} {config.order.mode}, stop {config.stop.policy}"
    )
