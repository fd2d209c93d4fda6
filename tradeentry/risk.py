"""Risk limits, checked before any new entry (never before a protective order).

* at most `max_concurrent_positions` positions open or being entered;
* no new entry once the UTC day's loss reaches `daily_loss_limit_usdt`: the baseline is the
  equity at the day's first look; the loss counts unrealized PnL when
  `daily_loss_count_unrealized`, else only the wallet (realized PnL and fees);
* a symbol closed less than `cooldown_minutes` ago is not re-entered.

`check_limits` is pure; `read_risk_state` gathers its inputs from the exchange and the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from infra import clock
from infra.db import engine_session
from infra.models import DailyEquityRow, OrderRow, PositionRow, table_of
from providers.port import Exchange
from providers.types import Balance

_EQUITY = table_of(DailyEquityRow)
#: Ledger statuses of an entry that is resting or being placed (not yet a position).
PENDING_ENTRY = ("claimed", "submitted", "fallback_submitted")


@dataclass(frozen=True)
class RiskLimits:
    max_concurrent_positions: int
    daily_loss_limit_usdt: Decimal  # 0: off
    daily_loss_count_unrealized: bool
    cooldown_minutes: float


@dataclass(frozen=True)
class RiskState:
    symbol: str
    open_positions: frozenset[str]  # symbols with an open position
    pending_entries: frozenset[str]  # symbols with an entry order resting or in flight
    baseline_equity: Decimal
    baseline_wallet: Decimal
    equity: Decimal
    wallet: Decimal
    last_exit: datetime | None  # when the symbol's last position closed
    now: datetime


@dataclass(frozen=True)
class Breach:
    limit: str
    detail: str


def check_limits(state: RiskState, limits: RiskLimits) -> Breach | None:
    """The first limit a new entry on `state.symbol` would break, or None."""
    busy = state.open_positions | state.pending_entries
    if state.symbol in busy:
        return Breach("already_open", f"{state.symbol} already has a position or an entry")
    if limits.max_concurrent_positions and len(busy) >= limits.max_concurrent_positions:
        return Breach(
            "max_concurrent_positions",
            f"{len(busy)} positions/entries open, the maximum is {limits.max_concurrent_positions}",
        )
    if limits.daily_loss_limit_usdt > 0:
        if limits.daily_loss_count_unrealized:
            loss = state.baseline_equity - state.equity
        else:
            loss = state.baseline_wallet - state.wallet
        if loss >= limits.daily_loss_limit_usdt:
            kind = "incl. unrealized" if limits.daily_loss_count_unrealized else "realized"
            return Breach(
                "daily_loss_limit",
                f"today's loss {loss:.2f} USDT ({kind}) reached the limit "
                f"{limits.daily_loss_limit_usdt} USDT",
            )
    if limits.cooldown_minutes and state.last_exit is not None:
        until = state.last_exit + timedelta(minutes=limits.cooldown_minutes)
        if state.now < until:
            return Breach(
                "cooldown",
                f"{state.symbol} closed at {state.last_exit:%H:%M}Z; cool-down until "
                f"{until:%H:%M}Z",
            )
    return None


def day_baseline(
    engine: Engine, exchange: str, day: str, balance: Balance
) -> tuple[Decimal, Decimal]:
    """The day's baseline (recorded at the first look of the day, then kept)."""
    wallet = balance.equity - balance.unrealized_pnl
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        conn.execute(
            insert(_EQUITY)
            .values(
                exchange=exchange,
                day=day,
                equity=balance.equity,
                wallet=wallet,
                recorded_at=clock.now(),
            )
            .on_conflict_do_nothing(index_elements=[_EQUITY.c.exchange, _EQUITY.c.day])
        )
    with engine_session(engine) as s:
        row = s.get(DailyEquityRow, (exchange, day))
        assert row is not None
        return row.equity, row.wallet


def read_risk_state(
    engine: Engine, exchange: Exchange, symbol: str, now: datetime, *, exclude_key: str = ""
) -> RiskState:
    """Everything `check_limits` needs, read now (exchange failures propagate)."""
    positions = frozenset(p.symbol for p in exchange.positions())
    balance = exchange.balance()
    day = now.strftime("%Y-%m-%d")
    base_equity, base_wallet = day_baseline(engine, exchange.name, day, balance)
    with engine_session(engine) as s:
        pending = frozenset(
            s.scalars(
                select(OrderRow.symbol).where(
                    OrderRow.exchange == exchange.name,
                    OrderRow.dry_run.is_(False),
                    OrderRow.status.in_(PENDING_ENTRY),
                    OrderRow.decision_key != exclude_key,
                )
            )
        )
        last_exit = s.scalar(
            select(func.max(PositionRow.synced_at)).where(
                PositionRow.exchange == exchange.name,
                PositionRow.symbol == symbol,
                PositionRow.status == "CLOSED",
            )
        )
    return RiskState(
        symbol=symbol,
        open_positions=positions,
        pending_entries=pending - positions,
        baseline_equity=base_equity,
        baseline_wallet=base_wallet,
        equity=balance.equity,
        wallet=balance.equity - balance.unrealized_pnl,
        last_exit=last_exit,
        now=now,
    )
