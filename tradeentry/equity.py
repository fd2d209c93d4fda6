"""The account's equity as last read, and the UTC day's P&L against its baseline (the equity at
the day's first look, which the daily loss cap also measures from)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from infra.db import engine_session
from infra.models import AccountSnapshotRow, DailyEquityRow
from providers.types import Balance
from tradeentry.risk import day_baseline


@dataclass(frozen=True)
class AccountSnapshot:
    exchange: str
    currency: str
    equity: Decimal
    wallet: Decimal  # equity without unrealized PnL
    available: Decimal
    unrealized_pnl: Decimal
    checked_ms: int
    baseline_equity: Decimal | None  # today's first look
    baseline_wallet: Decimal | None

    @property
    def day_pnl(self) -> Decimal | None:
        """Today's P&L, unrealized included."""
        return None if self.baseline_equity is None else self.equity - self.baseline_equity

    @property
    def day_realized_pnl(self) -> Decimal | None:
        """Today's realized P&L net of fees (the wallet's change)."""
        return None if self.baseline_wallet is None else self.wallet - self.baseline_wallet


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def record_snapshot(engine: Engine, exchange: str, balance: Balance, now_ms: int) -> None:
    """Keep `balance` as the account's latest reading (and today's baseline if it is the
    day's first)."""
    day_baseline(engine, exchange, day_of(now_ms), balance)
    with engine_session(engine) as s:
        row = s.get(AccountSnapshotRow, exchange) or AccountSnapshotRow(exchange=exchange)
        row.currency = balance.currency
        row.equity = balance.equity
        row.wallet = balance.equity - balance.unrealized_pnl
        row.available = balance.available
        row.unrealized_pnl = balance.unrealized_pnl
        row.checked_ms = now_ms
        s.add(row)


def snapshots(engine: Engine, now_ms: int) -> list[AccountSnapshot]:
    """Every exchange's latest reading, with the baseline of the UTC day of `now_ms`."""
    day = day_of(now_ms)
    out = []
    with engine_session(engine) as s:
        for row in s.query(AccountSnapshotRow).order_by(AccountSnapshotRow.exchange):
            base = s.get(DailyEquityRow, (row.exchange, day))
            out.append(
                AccountSnapshot(
                    row.exchange,
                    row.currency,
                    row.equity,
                    row.wallet,
                    row.available,
                    row.unrealized_pnl,
                    row.checked_ms,
                    None if base is None else base.equity,
                    None if base is None else base.wallet,
                )
            )
    return out
