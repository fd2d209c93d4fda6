"""Helpers shared by CLI commands."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from infra.settings import get_settings, mask_url_password
from mtf.services import Services, services


def console() -> Console:
    """A console for tables: full width on a terminal, wide enough not to truncate in a pipe."""
    return Console(width=None if sys.stdout.isatty() else 160)


def fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def services_or_exit() -> Services:
    """The process services; a database that cannot be opened is a clear error, not a trace."""
    try:
        return services()
    except SQLAlchemyError as exc:
        url = mask_url_password(get_settings().database_url)
        cause = getattr(exc, "orig", None) or exc
        fail(f"cannot open the database {url}: {exc.__class__.__name__}: {cause}")
