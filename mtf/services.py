"""The process's shell objects (database, stores, market data, exchanges), built from settings.

Tasks and the CLI get everything through `services()`; tests replace it with `use(...)`.
Forked worker processes call `reset()` so nothing is shared with the parent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import redis
from sqlalchemy import Engine

from infra import clock as cluster_clock
from infra.db import ensure_schema, get_engine
from infra.settings import Settings, get_settings, mask_url_password
from mtf.lock import LeaseLock, run_lock_name
from mtf.runs import RunStore
from providers.bitmart import (
    BitmartExchange,
    InMemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    ratelimit,
)
from providers.contracts import ContractStore
from providers.exchange_feed import ExchangeFeed
from providers.klines import KlineStore
from providers.marketdata import MarketData
from providers.port import Exchange
from providers.quotes import QuoteStore
from providers.synthetic_feed import SyntheticFeed
from providers.types import ContractSpec, TopOfBook
from tradeentry.ledger import OrderLedger

Clock = Callable[[], int]
log = logging.getLogger(__name__)

#: How a process paces an exchange: `local` (the embedded mode: this process is the whole
#: system), `shared` (one Redis budget for every process; while Redis is unreachable, calls
#: wait and then fail as retryable), `auto` (shared; a one-shot command on a SQLite database,
#: which is one machine by construction, paces itself when Redis is not there).
LimiterMode = Literal["local", "shared", "auto"]


#: Exchange adapters this build can open.
EXCHANGES = ("paper", "bitmart")


class UnknownExchangeError(ValueError):
    pass


@dataclass
class Services:
    settings: Settings
    engine: Engine
    klines: KlineStore
    contracts: ContractStore
    runs: RunStore
    ledger: OrderLedger
    market: MarketData
    synthetic: SyntheticFeed
    limiter_mode: LimiterMode = "auto"
    _limiter: RateLimiter | None = None
    _bitmart_exchange: Exchange | None = None

    @property
    def limiter(self) -> RateLimiter:
        """Made on first use (only exchange adapters need it), so the embedded mode on the
        paper exchange never reaches for Redis."""
        with _lock:
            if self._limiter is None:
                self._limiter = make_limiter(self.settings, self.limiter_mode)
            return self._limiter

    @classmethod
    def build(cls, settings: Settings, *, limiter_mode: LimiterMode = "auto") -> Services:
        """Shell objects for `settings`. Workers pace the exchange with the Redis limiter shared
        by every process; the embedded mode (one process) with an in-memory one."""
        engine = get_engine(settings.database_url)
        ensure_schema(settings.database_url)
        cluster_clock.ensure_synced(engine)
        klines = KlineStore(engine)
        contracts = ContractStore(engine)
        synthetic = SyntheticFeed(settings.synthetic_seed, contracts)
        svc = cls(
            settings=settings,
            engine=engine,
            klines=klines,
            contracts=contracts,
            runs=RunStore(engine),
            ledger=OrderLedger(engine),
            market=MarketData(klines, [synthetic]),
            synthetic=synthetic,
            limiter_mode=limiter_mode,
        )
        # Candles of contracts synced from Bitmart come from Bitmart (public endpoints).
        svc.market.sources.append(
            ExchangeFeed("bitmart", lambda: svc.exchange("bitmart"), contracts)
        )
        return svc

    def exchange(self, name: str, clock: Clock = cluster_clock.now_ms) -> Exchange:
        """An exchange adapter by name, reading time from `clock` (the paper exchange's
        market time; Bitmart runs on the cluster's clock)."""
        if name == "paper":
            from providers.paper import PaperExchange

            return PaperExchange.from_settings(self.engine, self.settings, clock)
        if name == "bitmart":
            return self._bitmart()
        raise UnknownExchangeError(f"unknown exchange {name!r}; available: {', '.join(EXCHANGES)}")

    def _bitmart(self) -> Exchange:
        with _lock:
            if self._bitmart_exchange is None:
                self._bitmart_exchange = BitmartExchange.from_settings(
                    self.settings,
                    limiter=self.limiter,
                    specs=self.bitmart_spec,
                    quotes=self.streamed_quote,
                )
            return self._bitmart_exchange

    def bitmart_spec(self, symbol: str) -> ContractSpec | None:
        """A contract spec as synced daily from Bitmart (no request per cycle)."""
        return self.contracts.find_from(symbol, "bitmart")

    def streamed_quote(self, symbol: str) -> TopOfBook | None:
        """The stream's recent top of book of `symbol`, if any (see `mtf stream`)."""
        max_age = int(self.settings.stream_quote_max_age_seconds * 1000)
        return QuoteStore(self.engine).fresh(symbol, cluster_clock.now_ms(), max_age)

    def run_lock(self, profile: str) -> LeaseLock:
        return LeaseLock(self.engine, run_lock_name(profile), self.settings.run_lock_ttl_seconds)


def make_limiter(settings: Settings, mode: LimiterMode) -> RateLimiter:
    """The limiter of a process in `mode` (see `LimiterMode`)."""
    if mode == "local":
        ratelimit.health.mode = "local"
        return InMemoryRateLimiter()
    if mode == "auto" and settings.is_sqlite:
        try:
            client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1)
            client.ping()
        except redis.RedisError as exc:
            log.warning(
                "rate limiter: Redis at %s unreachable (%s); on a SQLite database this "
                "command is alone on its machine and paces itself",
                mask_url_password(settings.redis_url),
                exc,
            )
            ratelimit.health.mode = "local"
            return InMemoryRateLimiter()
    limiter = RedisRateLimiter.from_url(
        settings.redis_url, unavailable_wait_s=settings.limiter_wait_seconds
    )
    ratelimit.health.mode = "shared"
    return limiter


_current: Services | None = None
_lock = threading.RLock()
_limiter_mode: LimiterMode = "auto"


def services() -> Services:
    global _current
    with _lock:
        if _current is None:
            _current = Services.build(get_settings(), limiter_mode=_limiter_mode)
        return _current


def single_process() -> None:
    """This process is the whole system (the embedded mode): pace exchanges in memory."""
    global _limiter_mode
    _limiter_mode = "local"
    reset()


def cluster_process() -> None:
    """This process is one of many (a worker): one shared budget, never its own."""
    global _limiter_mode
    _limiter_mode = "shared"
    reset()


def use(instance: Services | None) -> None:
    """Replace the process services (tests, CLI with other settings)."""
    global _current
    with _lock:
        _current = instance


def reset() -> None:
    use(None)
