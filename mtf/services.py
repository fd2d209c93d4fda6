"""The process's shell objects (database, stores, market data, exchanges), built from settings.

Tasks and the CLI get everything through `services()`; tests replace it with `use(...)`.
Forked worker processes call `reset()` so nothing is shared with the parent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from infra.db import ensure_schema, get_engine
from infra.settings import Settings, get_settings, mask_url_password
from mtf.lock import LeaseLock, run_lock_name
from mtf.runs import RunStore
from providers.bitmart import BitmartExchange, InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from providers.contracts import ContractStore
from providers.exchange_feed import ExchangeFeed
from providers.klines import KlineStore
from providers.marketdata import MarketData
from providers.port import Exchange
from providers.synthetic_feed import SyntheticFeed
from tradeentry.ledger import OrderLedger

Clock = Callable[[], int]
log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


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
    shared_rate_limit: bool = True
    _limiter: RateLimiter | None = None
    _bitmart_exchange: Exchange | None = None

    @property
    def limiter(self) -> RateLimiter:
        """Made on first use (only exchange adapters need it), so the embedded mode on the
        paper exchange never reaches for Redis."""
        with _lock:
            if self._limiter is None:
                shared = shared_limiter(self.settings.redis_url) if self.shared_rate_limit else None
                self._limiter = shared or InMemoryRateLimiter()
            return self._limiter

    @classmethod
    def build(cls, settings: Settings, *, shared_rate_limit: bool = True) -> Services:
        """Shell objects for `settings`. Workers pace the exchange with the Redis limiter shared
        by every process; the embedded mode (one process) with an in-memory one."""
        engine = get_engine(settings.database_url)
        ensure_schema(settings.database_url)
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
            shared_rate_limit=shared_rate_limit,
        )
        # Candles of contracts synced from Bitmart come from Bitmart (public endpoints).
        svc.market.sources.append(
            ExchangeFeed("bitmart", lambda: svc.exchange("bitmart"), contracts)
        )
        return svc

    def exchange(self, name: str, clock: Clock = wall_clock_ms) -> Exchange:
        """An exchange adapter by name, reading time from `clock` (the paper exchange's
        market time; Bitmart runs on the wall clock)."""
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
                    self.settings, limiter=self.limiter
                )
            return self._bitmart_exchange

    def run_lock(self, profile: str) -> LeaseLock:
        return LeaseLock(self.engine, run_lock_name(profile), self.settings.run_lock_ttl_seconds)


def shared_limiter(redis_url: str) -> RateLimiter | None:
    """The Redis limiter every process shares, or None (with a warning) when Redis cannot be
    reached: a lone process then paces itself in memory."""
    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
        client.ping()
    except redis.RedisError as exc:
        log.warning(
            "rate limiter: Redis at %s unreachable (%s); pacing this process alone",
            mask_url_password(redis_url),
            exc,
        )
        return None
    return RedisRateLimiter(client)


_current: Services | None = None
_lock = threading.RLock()
_shared_rate_limit = True


def services() -> Services:
    global _current
    with _lock:
        if _current is None:
            _current = Services.build(get_settings(), shared_rate_limit=_shared_rate_limit)
        return _current


def single_process() -> None:
    """This process is the whole system (the embedded mode): pace exchanges in memory."""
    global _shared_rate_limit
    _shared_rate_limit = False
    reset()


def use(instance: Services | None) -> None:
    """Replace the process services (tests, CLI with other settings)."""
    global _current
    with _lock:
        _current = instance


def reset() -> None:
    use(None)
