"""Helpers shared by CLI commands."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from infra.settings import get_settings, mask_url_password
from mtf.services import Services, services
from providers.timeframes import Timeframe


def console() -> Console:
    """A console for tables: full width on a terminal, wide enough not to truncate in a pipe."""
    return Console(width=None if sys.stdout.isatty() else 160)


class TimeframeType(click.ParamType):
    """A timeframe option (`1m`, `5m`, ...; with `many`, a comma-separated list): a bad one is
    a usage error naming the allowed ones, not a traceback."""

    name = "timeframe"

    def __init__(self, many: bool = False) -> None:
        self.many = many

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Timeframe) or (self.many and isinstance(value, list)):
            return value
        try:
            if self.many:
                return [Timeframe.parse(t) for t in str(value).split(",") if t.strip()]
            return Timeframe.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


TIMEFRAME = TimeframeType()
TIMEFRAMES = TimeframeType(many=True)


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


def refuse_unknown_symbol(svc: Services, symbol: str, code: int = 2) -> None:
    """Exit naming the closest contracts when `symbol` is not one."""
    from mtf.tradable import not_contracts

    why = not_contracts(svc, [symbol]).get(symbol)
    if why:
        fail(f"{symbol} is {why}", code=code)


def refuse_stale(symbol: str, problems: list[str], command: str) -> None:
    """Without --at, a decision on late candles is refused, as `mtf run` skips it
    (stale_candles): say what is late and what to do."""
    late = [p for p in problems if "missing after" not in p]
    if late:
        fail(
            f"{symbol}: stale candles ({'; '.join(late)}), as `mtf run` reports them; "
            f"{command} a past minute with --at TIME, or bring the candles up to date "
            f"(`mtf klines fetch {symbol}`; imported history: `mtf market reset`)"
        )
