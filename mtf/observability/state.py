"""Gauges of the engine's state, read from the database at every scrape: open positions and
their protection, the account's equity and the day's P&L, the daily loss cap, the last completed
run per profile. The database is shared by every host, so every exporter reports the same."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from infra import clock
from infra.db import engine_session
from infra.models import PositionGuardRow, RunRow, ScheduleRow
from infra.settings import Settings
from tradeentry.config import TradeEntryConfigError, load_trade_entry
from tradeentry.equity import AccountSnapshot, snapshots
from tradeentry.guard import UNKNOWN, UNPROTECTED


class StateCollector(Collector):
    """Reads the state tables on each `collect()`; a database that cannot be read gives
    `mtf_state_up 0` rather than a failed scrape."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("mtf_state_up", "1 when the database could be read.")
        try:
            metrics = list(self._read())
        except SQLAlchemyError:
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *metrics]

    def _read(self) -> Iterator[Metric]:
        now = clock.now_ms()
        yield from self._positions()
        yield from self._runs()
        accounts = snapshots(self.engine, now)
        yield from _accounts(accounts)
        yield from self._loss_caps(accounts)

    def _profiles(self) -> list[str]:
        return list(dict.fromkeys([*self.settings.schedule_profiles, self.settings.profile]))

    def _positions(self) -> Iterator[Metric]:
        open_ = GaugeMetricFamily(
            "mtf_open_positions",
            "Open positions found by the latest TP/SL sweep.",
            labels=["exchange"],
        )
        bare = GaugeMetricFamily(
            "mtf_positions_unprotected",
            "Open positions the latest TP/SL sweep left without a stop.",
            labels=["exchange"],
        )
        unknown = GaugeMetricFamily(
            "mtf_positions_protection_unknown",
            "Open positions whose protection the latest sweep could not read.",
            labels=["exchange"],
        )
        checked = GaugeMetricFamily(
            "mtf_positions_checked_timestamp_seconds",
            "When the latest TP/SL sweep looked at the open positions.",
            labels=["exchange"],
        )
        counts: dict[str, dict[str, int]] = {self.settings.exchange: {}}
        latest: dict[str, int] = {}
        query = select(
            PositionGuardRow.exchange,
            PositionGuardRow.status,
            func.count(),
            func.max(PositionGuardRow.checked_ms),
        ).group_by(PositionGuardRow.exchange, PositionGuardRow.status)
        with engine_session(self.engine) as s:
            for exchange, status, count, last in s.execute(query):
                counts.setdefault(exchange, {})[status] = int(count)
                latest[exchange] = max(latest.get(exchange, 0), int(last))
        for exchange, by_status in sorted(counts.items()):
            open_.add_metric([exchange], sum(by_status.values()))
            bare.add_metric([exchange], by_status.get(UNPROTECTED, 0))
            unknown.add_metric([exchange], by_status.get(UNKNOWN, 0))
            if exchange in latest:
                checked.add_metric([exchange], latest[exchange] / 1000)
        yield from (open_, bare, unknown, checked)

    def _runs(self) -> Iterator[Metric]:
        last = GaugeMetricFamily(
            "mtf_last_completed_run_timestamp_seconds",
            "When the profile's latest completed run finished (0: never).",
            labels=["profile"],
        )
        scheduled = GaugeMetricFamily(
            "mtf_profile_scheduled",
            "1 for the profiles an active (not paused, not expired) schedule runs.",
            labels=["profile"],
        )
        query = (
            select(RunRow.profile, func.max(RunRow.finished_at))
            .where(RunRow.status == "completed")
            .group_by(RunRow.profile)
        )
        active = select(ScheduleRow.profile).where(
            ScheduleRow.paused.is_(False),
            (ScheduleRow.expires_at.is_(None)) | (ScheduleRow.expires_at > clock.now()),
        )
        with engine_session(self.engine) as s:
            finished = {profile: at for profile, at in s.execute(query)}
            profiles = sorted(set(s.scalars(active)))
        for profile in sorted(set(finished) | set(profiles)):
            at = finished.get(profile)
            last.add_metric([profile], at.timestamp() if at is not None else 0)
        for profile in profiles:
            scheduled.add_metric([profile], 1)
        yield from (last, scheduled)

    def _loss_caps(self, accounts: list[AccountSnapshot]) -> Iterator[Metric]:
        limit = GaugeMetricFamily(
            "mtf_daily_loss_limit_usdt",
            "The trade-entry profile's daily loss cap (absent when off).",
            labels=["profile"],
        )
        reached = GaugeMetricFamily(
            "mtf_daily_loss_cap_reached",
            "1 when today's loss, counted as the profile counts it, reached its cap.",
            labels=["exchange", "profile"],
        )
        for profile in self._profiles():
            try:
                risk = load_trade_entry(profile).risk
            except TradeEntryConfigError:
                continue
            cap = Decimal(str(risk.daily_loss_limit_usdt))
            if cap <= 0:
                continue
            limit.add_metric([profile], float(cap))
            for account in accounts:
                pnl = (
                    account.day_pnl
                    if risk.daily_loss_count_unrealized
                    else account.day_realized_pnl
                )
                if pnl is not None:
                    reached.add_metric([account.exchange, profile], float(-pnl >= cap))
        yield from (limit, reached)


def _accounts(accounts: list[AccountSnapshot]) -> Iterator[Metric]:
    equity = GaugeMetricFamily(
        "mtf_equity_usdt", "Account equity, as last read.", labels=["exchange"]
    )
    wallet = GaugeMetricFamily(
        "mtf_wallet_usdt", "Account equity without unrealized P&L.", labels=["exchange"]
    )
    day = GaugeMetricFamily(
        "mtf_daily_pnl_usdt", "Today's P&L (UTC day), unrealized included.", labels=["exchange"]
    )
    realized = GaugeMetricFamily(
        "mtf_daily_realized_pnl_usdt", "Today's realized P&L, net of fees.", labels=["exchange"]
    )
    read = GaugeMetricFamily(
        "mtf_account_checked_timestamp_seconds",
        "When the account was last read.",
        labels=["exchange"],
    )
    for a in accounts:
        equity.add_metric([a.exchange], float(a.equity))
        wallet.add_metric([a.exchange], float(a.wallet))
        read.add_metric([a.exchange], a.checked_ms / 1000)
        if a.day_pnl is not None and a.day_realized_pnl is not None:
            day.add_metric([a.exchange], float(a.day_pnl))
            realized.add_metric([a.exchange], float(a.day_realized_pnl))
    yield from (equity, wallet, day, realized, read)
