"""Which symbols a cycle validates: requested ones or the tradable universe, minus exclusions.

The universe is every contract passing the selection filters (`mtf.tradable`).
Exclusions: symbols switched off (unless `force_run`) and symbols with an open position or open
order on the exchange (unless `skip_open_state_filter`). With `sync_tables` the positions and
open orders read are stored (`mtf.account`). When the exchange cannot be read the cycle does not
assume "no positions": it records the error and blocks new orders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from infra import clock
from infra.db import engine_session
from infra.models import SwitchRow
from mtf.account import read_account, store_account
from mtf.context import RunContext
from mtf.contracts import ensure_contracts
from mtf.tradable import not_contracts, tradable_universe
from providers.port import ExchangeError

if TYPE_CHECKING:
    from mtf.services import Services


def switched_off(svc: Services, symbols: list[str]) -> dict[str, str]:
    """Symbols whose `SYMBOL:<sym>` switch is OFF and not expired."""
    now = clock.now()
    keys = {f"SYMBOL:{s}": s for s in symbols}
    out: dict[str, str] = {}
    with engine_session(svc.engine) as session:
        rows = session.scalars(select(SwitchRow).where(SwitchRow.key.in_(list(keys))))
        for row in rows:
            if not row.is_on and (row.expires_at is None or row.expires_at > now):
                until = f" until {row.expires_at:%Y-%m-%d %H:%M}Z" if row.expires_at else ""
                out[keys[row.key]] = f"switched off{until}: {row.reason or 'no reason given'}"
    return out


def resolve(ctx: RunContext, svc: Services) -> dict[str, Any]:
    errors: list[dict[str, Any]] = []
    excluded: dict[str, str] = {}
    orders_blocked: str | None = None
    if ctx.exchange == "paper":
        svc.synthetic.ensure_universe(svc.settings.synthetic_symbols)
    else:
        # First cycle against an exchange: its contracts are needed to know the universe.
        try:
            ensure_contracts(svc, ctx.exchange)
        except ExchangeError as exc:
            errors.append({"symbol": None, "error": f"cannot sync contracts: {exc}"})
    if ctx.symbols:
        symbols = list(ctx.symbols)
        excluded.update(not_contracts(svc, symbols))
    else:
        symbols, _ = tradable_universe(svc, ctx.as_of_ms)
        if not ctx.force_run:
            excluded.update(switched_off(svc, symbols))
    if ctx.sync_tables or not ctx.skip_open_state_filter:
        try:
            exchange = svc.exchange(ctx.exchange, clock=lambda: ctx.as_of_ms)
            snapshot = read_account(exchange)
        except ExchangeError as exc:
            orders_blocked = (
                f"cannot read open positions/orders from {ctx.exchange} "
                f"({type(exc).__name__}: {exc}); no new orders this cycle"
            )
            errors.append({"symbol": None, "error": orders_blocked})
        else:
            if ctx.sync_tables:
                store_account(svc.engine, ctx.exchange, snapshot)
            if not ctx.skip_open_state_filter:
                busy = snapshot.busy_symbols()
                excluded.update({s: why for s, why in busy.items() if s in symbols})
    if orders_blocked is None and not ctx.dry_run and ctx.exchange != "paper":
        orders_blocked = _position_mode_refusal(svc, ctx)
        if orders_blocked:
            errors.append({"symbol": None, "error": orders_blocked})
    return {
        "symbols": [s for s in symbols if s not in excluded],
        "excluded": excluded,
        "errors": errors,
        "orders_blocked": orders_blocked,
    }


def _position_mode_refusal(svc: Services, ctx: RunContext) -> str | None:
    """A live run on an account whose position mode differs from the configured one places
    no new orders (see `mtf.stream.guard`)."""
    if not svc.settings.live_trading:
        return None
    from mtf.stream.guard import check_position_mode

    try:
        return check_position_mode(svc.exchange(ctx.exchange), svc.settings.position_mode)
    except ExchangeError as exc:
        return f"cannot read the account's position mode ({exc}); no new orders this cycle"
