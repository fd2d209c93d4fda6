"""`mtf db` and `mtf config`."""

from __future__ import annotations

import json

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
    """Print the effective settings (secrets masked)."""
    click.echo(json.dumps(get_settings().public_view(), indent=2, default=str))
