"""`mtf db` and `mtf config`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from infra.db import ensure_schema
from infra.settings import get_settings, mask_url_password
from mtf.cli.common import fail


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def upgrade() -> None:
    """Apply pending migrations to DATABASE_URL."""
    url = get_settings().database_url
    try:
        ensure_schema(url)
    except Exception as exc:
        fail(f"cannot migrate {mask_url_password(url)}: {exc}")
    click.echo(f"schema up to date: {mask_url_password(url)}")


@click.command()
def config() -> None:
    """Print the effective settings (secrets masked) and where profiles are looked up."""
    from mtf.rules.profile import profile_dirs
    from tradeentry.config import trade_entry_dirs

    def folders(dirs: list[Path]) -> list[str]:
        return [str(d) if d.is_dir() else f"{d} (missing)" for d in dirs]

    view = dict(get_settings().public_view())
    view["profile_dirs"] = folders(profile_dirs())
    view["trade_entry_dirs"] = folders(trade_entry_dirs())
    click.echo(json.dumps(view, indent=2, default=str))
