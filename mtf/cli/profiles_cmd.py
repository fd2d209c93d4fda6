"""`mtf profiles ...`: list and check validation profiles."""

from __future__ import annotations

from pathlib import Path

import click

from mtf.rules.compiler import ProfileError
from mtf.rules.profile import (
    available_profiles,
    load_profile,
    load_profile_file,
    resolve_profile_path,
)


@click.group()
def profiles() -> None:
    """Validation profiles."""


@profiles.command("list")
def list_() -> None:
    """Available profiles with their timeframes."""
    for name in available_profiles():
        try:
            p = load_profile(name)
            click.echo(
                f"{name:16} {p.mode:9} context {','.join(p.context) or '-':10} "
                f"execution {','.join(p.execution)}"
            )
        except ProfileError as exc:
            click.secho(f"{name:16} INVALID ({len(exc.problems)} problem(s))", fg="red")


@profiles.command("check")
@click.argument("files", nargs=-1, required=True)
def check(files: tuple[str, ...]) -> None:
    """Validate profile files (or names); print every problem with its YAML path."""
    bad = 0
    for item in files:
        path = Path(item) if Path(item).exists() else None
        try:
            profile = (
                load_profile_file(path) if path else load_profile_file(resolve_profile_path(item))
            )
        except ProfileError as exc:
            bad += 1
            click.secho(f"{item}: {len(exc.problems)} problem(s)", fg="red")
            for problem in exc.problems:
                click.echo(f"  - {problem}")
            continue
        needs = ", ".join(f"{tf} {n}" for tf, n in profile.requirements.items())
        click.echo(f"{item}: ok ({profile.name}, candles needed: {needs})")
    if bad:
        raise SystemExit(1)
