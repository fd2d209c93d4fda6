"""Relational schema (SQLAlchemy 2 declarative models).

One metadata for the whole system so Alembic sees every table. Each package owns the queries
on its tables (`providers` klines/contracts/paper state, `mtf` runs/results, `tradeentry` orders);
this module is only the schema. Market timestamps are epoch milliseconds (`*_ms`, exact and
cheap to compare); bookkeeping times are timezone-aware UTC datetimes. Money is stored as exact
decimals (NUMERIC on PostgreSQL, text on SQLite, which has no decimal type).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from infra import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimal: NUMERIC on PostgreSQL, canonical text on SQLite."""

    impl = Numeric(38, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"non-finite decimal {value}")
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain_decimal(Decimal(value))


def plain_decimal(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent form (40500, not 4.05E+4)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


def utcnow() -> datetime:
    """Bookkeeping times are read on the cluster's clock, so hosts' rows compare."""
    return clock.now()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        Decimal: ExactDecimal(),
        dict[str, Any]: JSON,
    }


def table_of(model: type[Base]) -> Table:
    """The Core table of a model (typed, for Core insert/update/delete statements)."""
    return Base.metadata.tables[model.__tablename__]


# --- market data (providers) -----------------------------------------------------------------


class ContractRow(Base):
    __tablename__ = "contracts"

    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    base_currency: Mapped[str] = mapped_column(String(20))
    quote_currency: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="Trading")
    tick_size: Mapped[Decimal]
    contract_size: Mapped[Decimal]
    volume_step: Mapped[Decimal]
    min_volume: Mapped[Decimal]
    max_volume: Mapped[Decimal]
    market_max_volume: Mapped[Decimal]
    min_leverage: Mapped[int] = mapped_column(Integer, default=1)
    max_leverage: Mapped[int] = mapped_column(Integer)
    open_timestamp_ms: Mapped[int | None] = mapped_column(BigInteger)
    expire_timestamp_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_price: Mapped[Decimal | None]
    index_price: Mapped[Decimal | None]
    turnover_24h: Mapped[Decimal | None]
    volume_24h: Mapped[Decimal | None]
    funding_rate: Mapped[Decimal | None]
    source: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KlineRow(Base):
    """A closed candle. Prices are doubles: indicators work in float64 anyway."""

    __tablename__ = "klines"

    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(4), primary_key=True)
    open_time_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float] = mapped_column(Float(53))
    high: Mapped[float] = mapped_column(Float(53))
    low: Mapped[float] = mapped_column(Float(53))
    close: Mapped[float] = mapped_column(Float(53))
    volume: Mapped[float] = mapped_column(Float(53))


# --- runs (mtf) --------------------------------------------------------------------------------


class RunRow(Base):
    """One run: ad-hoc, or one scheduled time of a schedule (unique per schedule and time, so
    no scheduled time runs twice and every one is accounted for)."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("schedule", "scheduled_for"),)

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    profile: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    as_of: Mapped[datetime | None] = mapped_column(index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    exchange: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    symbols_total: Mapped[int] = mapped_column(Integer, default=0)
    ready: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # --- accounting (scheduled runs; null on ad-hoc runs where not applicable) ---
    schedule: Mapped[str | None] = mapped_column(String(80), index=True)
    scheduled_for: Mapped[datetime | None]  # the schedule's time this run stands for
    due_at: Mapped[datetime | None]  # the reference of its staleness (scheduled or requested)
    deadline_at: Mapped[datetime | None] = mapped_column(index=True)  # reaped after this
    lateness_ms: Mapped[int | None] = mapped_column(BigInteger)  # start minus intended start
    # when the reducer sent what follows the run's end (orders, TP/SL sweep, buffered run):
    # a redelivered reducer finding it set sends nothing again
    dispatched_at: Mapped[datetime | None]


class RunResultRow(Base):
    __tablename__ = "run_results"
    __table_args__ = (UniqueConstraint("run_id", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.run_id", ondelete="CASCADE"), index=True
    )
    symbol: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(10))
    side: Mapped[str | None] = mapped_column(String(5))
    execution_tf: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str | None] = mapped_column(String(120))
    candle_open_ms: Mapped[int | None] = mapped_column(BigInteger)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decisions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LockRow(Base):
    """Lease-style locks shared by every process through the database."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SwitchRow(Base):
    """Per-symbol on/off switches (`SYMBOL:<sym>`); no row or an expired row means ON."""

    __tablename__ = "switches"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    is_on: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- schedules ------------------------------------------------------------------------------


class ScheduleRow(Base):
    """A schedule: the source of truth beat works from (its runtime store is rebuilt from here)."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    profile: Mapped[str] = mapped_column(String(80))
    cadence: Mapped[str] = mapped_column(String(120))  # cron spec, or "@every 10s"
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # run request overrides
    offset_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    stale_after_seconds: Mapped[int | None] = mapped_column(Integer)  # None: from the profile
    catchup_window_seconds: Mapped[int] = mapped_column(Integer)
    overlap: Mapped[str] = mapped_column(String(12), default="skip")  # skip | buffer_one
    pause_on_failure: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    cursor_at: Mapped[datetime | None]  # every scheduled time up to here is accounted for
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleChangeRow(Base):
    """What changed in a schedule, when, by whom and why (kept after the schedule is deleted)."""

    __tablename__ = "schedule_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))


# --- orders (tradeentry) ------------------------------------------------------------------------


class OrderRow(Base):
    """One trade decision and what became of it; `decision_key` makes placement idempotent."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_key: Mapped[str] = mapped_column(String(80), unique=True)
    client_order_id: Mapped[str] = mapped_column(String(32), unique=True)
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    profile: Mapped[str] = mapped_column(String(80))
    symbol: Mapped[str] = mapped_column(String(40), index=True)
    side: Mapped[str] = mapped_column(String(5))
    timeframe: Mapped[str] = mapped_column(String(4))
    candle_open_ms: Mapped[int] = mapped_column(BigInteger)
    exchange: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), index=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(40))
    filled_size: Mapped[Decimal | None]  # contracts the entry filled (watcher)
    avg_fill_price: Mapped[Decimal | None]
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The one watcher chain following the resting entry; an older chain stops at its next look.
    watch_token: Mapped[str | None] = mapped_column(String(32))
    # Until when (shared clock, ms) one follower holds the entry: the watcher and the TP/SL
    # sweep never act on it at once (`OrderLedger.hold_follow`).
    follow_lease_ms: Mapped[int | None] = mapped_column(BigInteger)


# --- paper exchange state (providers.paper) ---------------------------------------------------


class PaperAccountRow(Base):
    __tablename__ = "paper_accounts"

    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(10), default="USDT")
    wallet_balance: Mapped[Decimal]
    fees_paid: Mapped[Decimal] = mapped_column(default=Decimal(0))
    realized_pnl: Mapped[Decimal] = mapped_column(default=Decimal(0))
    next_order_id: Mapped[int] = mapped_column(BigInteger, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaperOrderRow(Base):
    """Orders of the paper exchange: normal orders and trigger (TP/SL/plan) orders.

    Order ids are per account, so the key is (account, order_id).
    """

    __tablename__ = "paper_orders"
    __table_args__ = (
        UniqueConstraint("account", "client_order_id"),
        Index("ix_paper_orders_open", "account", "is_open", "symbol"),
    )

    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_order_id: Mapped[str | None] = mapped_column(String(40))
    symbol: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # normal | take_profit | stop_loss | plan
    side: Mapped[int] = mapped_column(Integer)  # Bitmart side codes 1..4
    order_type: Mapped[str] = mapped_column(String(10))  # limit | market
    mode: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal | None]  # limit price; on a trigger order its execution price
    trigger_price: Mapped[Decimal | None]
    price_type: Mapped[int | None] = mapped_column(Integer)  # trigger orders: 1 last, 2 mark
    size: Mapped[Decimal | None]  # None only on a trigger order: the whole position
    filled_size: Mapped[Decimal] = mapped_column(default=Decimal(0))
    avg_fill_price: Mapped[Decimal | None]
    fee: Mapped[Decimal] = mapped_column(default=Decimal(0))
    status: Mapped[str] = mapped_column(String(20))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False)
    leverage: Mapped[int | None] = mapped_column(Integer)
    open_type: Mapped[str | None] = mapped_column(String(10))
    preset_take_profit: Mapped[Decimal | None]
    preset_stop_loss: Mapped[Decimal | None]
    preset_price_type: Mapped[int | None] = mapped_column(Integer)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PaperPositionRow(Base):
    __tablename__ = "paper_positions"

    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    side: Mapped[str] = mapped_column(String(5), primary_key=True)  # long | short
    size: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    leverage: Mapped[int] = mapped_column(Integer)
    open_type: Mapped[str] = mapped_column(String(10))
    margin: Mapped[Decimal]
    realized_pnl: Mapped[Decimal] = mapped_column(default=Decimal(0))
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PaperLeverageRow(Base):
    __tablename__ = "paper_leverage"

    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    leverage: Mapped[int] = mapped_column(Integer)
    open_type: Mapped[str] = mapped_column(String(10))


class PaperCursorRow(Base):
    """How far the paper exchange has simulated fills for a symbol."""

    __tablename__ = "paper_cursors"

    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    simulated_until_ms: Mapped[int] = mapped_column(BigInteger)


# --- account state synced from the exchange (mtf runner) ------------------------------------


class PositionRow(Base):
    """Open positions as last read from the exchange (closed ones are kept, status CLOSED)."""

    __tablename__ = "positions"

    exchange: Mapped[str] = mapped_column(String(20), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    side: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # OPEN | CLOSED
    size: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    mark_price: Mapped[Decimal]
    leverage: Mapped[int] = mapped_column(Integer)
    unrealized_pnl: Mapped[Decimal]
    margin: Mapped[Decimal]
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeOrderRow(Base):
    """Open normal orders as last read from the exchange."""

    __tablename__ = "exchange_orders"

    exchange: Mapped[str] = mapped_column(String(20), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_order_id: Mapped[str | None] = mapped_column(String(40), index=True)
    symbol: Mapped[str] = mapped_column(String(40), index=True)
    side: Mapped[int] = mapped_column(Integer)
    order_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal | None]
    size: Mapped[Decimal]
    filled_size: Mapped[Decimal]
    created_ms: Mapped[int] = mapped_column(BigInteger)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class DailyEquityRow(Base):
    """The account's equity at the first look of each UTC day: the daily loss cap's baseline."""

    __tablename__ = "daily_equity"

    exchange: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    equity: Mapped[Decimal]
    wallet: Mapped[Decimal]  # equity without unrealized PnL
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- cluster ----------------------------------------------------------------------------------


class ClusterIdentityRow(Base):
    """The cluster this database belongs to, written once by the first process that joins it;
    the same id is written into every Redis the cluster uses, and a joining process compares
    them (`infra.cluster`)."""

    __tablename__ = "cluster_identity"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: a single row
    cluster_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- protection: trigger generations and the last sweep's verdict (tradeentry.guard) ----------


class ProtectiveOrderRow(Base):
    """One generation of a protective order (stop, target, closing order) of a position.

    `level_key` names what is protected and how (the position's basis, the role, the price and
    the size); `generation` counts how many times that level has had to be placed again because
    the previous order was no longer at the exchange. The client order id is derived from both.
    """

    __tablename__ = "protective_orders"
    __table_args__ = (UniqueConstraint("exchange", "level_key", "generation"),)

    client_order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    exchange: Mapped[str] = mapped_column(String(20))
    level_key: Mapped[str] = mapped_column(String(200), index=True)
    generation: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    order_id: Mapped[str | None] = mapped_column(String(40))
    claimed_ms: Mapped[int] = mapped_column(BigInteger)


class PositionGuardRow(Base):
    """What the latest TP/SL sweep found for an open position: `protected`, `unprotected` or
    `unknown` (the exchange could not be read), with the stop in force."""

    __tablename__ = "position_guards"

    exchange: Mapped[str] = mapped_column(String(20), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    side: Mapped[str] = mapped_column(String(5), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    size: Mapped[Decimal | None]
    stop_price: Mapped[Decimal | None]
    detail: Mapped[str | None] = mapped_column(Text)
    checked_ms: Mapped[int] = mapped_column(BigInteger)


class AccountSnapshotRow(Base):
    """The account as last read by the TP/SL sweep or `mtf account`: what the equity and
    daily P&L metrics report, without asking the exchange at scrape time."""

    __tablename__ = "account_snapshots"

    exchange: Mapped[str] = mapped_column(String(20), primary_key=True)
    currency: Mapped[str] = mapped_column(String(10))
    equity: Mapped[Decimal]
    wallet: Mapped[Decimal]  # equity without unrealized PnL
    available: Mapped[Decimal]
    unrealized_pnl: Mapped[Decimal]
    checked_ms: Mapped[int] = mapped_column(BigInteger)


# --- backtests (mtf.backtest) ------------------------------------------------------------------


class BacktestSweepRow(Base):
    """A parameter sweep: its request, parameter sets, progress and leaderboard."""

    __tablename__ = "backtest_sweeps"

    sweep_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    profile: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | done | failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # symbols, range, costs, balance
    sets: Mapped[list[Any]] = mapped_column(JSON)  # the parameter sets, in grid order
    leaderboard: Mapped[list[Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)


class BacktestPartRow(Base):
    """One unit of a sweep's work, stored once whatever redelivers it: the signals of a
    symbol (`symbol` = the symbol) or the trades of a parameter set (`symbol` = "*")."""

    __tablename__ = "backtest_parts"
    __table_args__ = (UniqueConstraint("sweep_id", "set_index", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sweep_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("backtest_sweeps.sweep_id", ondelete="CASCADE"), index=True
    )
    set_index: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(40))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float(53))
    worker: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BacktestRow(Base):
    """A finished backtest and its whole report (a sweep's members too)."""

    __tablename__ = "backtests"

    backtest_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    profile: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    symbols: Mapped[list[Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # balance, costs, overrides
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float(53))
    sweep_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("backtest_sweeps.sweep_id", ondelete="CASCADE"), index=True
    )
    set_index: Mapped[int | None] = mapped_column(Integer)


# --- market-data stream (mtf.stream) -------------------------------------------------------


class StreamQuoteRow(Base):
    """The newest top of book of a symbol as streamed (`futures/bookticker`)."""

    __tablename__ = "stream_quotes"

    symbol: Mapped[str] = mapped_column(String(40), primary_key=True)
    bid: Mapped[Decimal]
    ask: Mapped[Decimal]
    bid_size: Mapped[Decimal]
    ask_size: Mapped[Decimal]
    exchange_ms: Mapped[int] = mapped_column(BigInteger)  # the exchange's time of the quote
    received_ms: Mapped[int] = mapped_column(BigInteger)  # when the stream received it


class StreamStatusRow(Base):
    """What the stream leader reports, one row per stream (`market`, `private`): alive when
    `heartbeat_ms` is recent; `complete_ms` is the newest minute boundary by which every covered
    symbol's candles are stored."""

    __tablename__ = "stream_status"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    leader: Mapped[str] = mapped_column(String(120))
    heartbeat_ms: Mapped[int] = mapped_column(BigInteger)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    complete_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    symbols: Mapped[int] = mapped_column(Integer, default=0)
    stale: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
