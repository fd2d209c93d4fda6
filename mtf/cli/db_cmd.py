"""`mtf db` and `mtf config`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from infra.db import alembic_config, ensure_schema, forget_migrations
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


def _alembic(action: str, *args: str) -> None:
    """An Alembic command on DATABASE_URL, its output printed as Alembic prints it."""
    from alembic import command
    from alembic.util import CommandError

    url = get_settings().database_url
    cfg = alembic_config(url)
    cfg.print_stdout = lambda text, *arg: click.echo(text % arg if arg else text)  # type: ignore[method-assign]
    try:
        getattr(command, action)(cfg, *args)
    except CommandError as exc:
        fail(f"{action} on {mask_url_password(url)}: {exc}", code=2)
    except Exception as exc:
        fail(f"cannot {action} {mask_url_password(url)}: {type(exc).__name__}: {exc}")


@db.command("current")
def current() -> None:
    """The migration the database is at."""
    _alembic("current")


@db.command("history")
@click.option("-v", "--verbose", is_flag=True)
def history(verbose: bool) -> None:
    """Every migration, newest first."""
    from alembic import command

    cfg = alembic_config(get_settings().database_url)
    cfg.print_stdout = lambda text, *arg: click.echo(text % arg if arg else text)  # type: ignore[method-assign]
    command.history(cfg, verbose=verbose)


@db.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade(revision: str, yes: bool) -> None:
    """Step the schema back to REVISION (e.g. -1, or a revision id from `mtf db history`).

    Tables and columns of later migrations are dropped with their data. Any `mtf` command or
    worker started afterwards upgrades again, so stop them first."""
    url = get_settings().database_url
    if not yes:
        click.confirm(f"downgrade {mask_url_password(url)} to {revision}?", abort=True)
    _alembic("downgrade", revision)
    forget_migrations()
    click.echo(f"downgraded {mask_url_password(url)} to {revision}")


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
