"""A small market for placement, watcher and protection tests, on the paper exchange or on
the Bitmart adapter talking to the fake Bitmart (which trades the same candles, in-process).

200 one-minute candles of history end at `as_of`; `future` candles after it (stored up front,
seen by the exchange only once its clock passes them) script what the market does next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Engine

from infra.db import get_engine
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.paper import PaperExchange
from providers.port import Exchange
from providers.timeframes import Timeframe
from providers.types import (
    Balance,
    ContractSpec,
    OrderRequest,
    OrderSide,
    OrderType,
    Position,
)
from tests.helpers import as_of_after, make_candles, random_walk
from tests.providers.bitmart.adapter import bitmart_client
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart
from tradeentry.config import TradeEntryConfig
from tradeentry.ledger import Decision, OrderLedger

SYMBOL = "TESTUSDT"
SPEC = ContractSpec(
    symbol=SYMBOL,
    base_currency="TEST",
    quote_currency="USDT",
    tick_size=Decimal("0.01"),
    contract_size=Decimal("0.1"),
    volume_step=Decimal(1),
    min_volume=Decimal(1),
    max_volume=Decimal(100000),
    market_max_volume=Decimal(100000),
    min_leverage=1,
    max_leverage=50,
)
HISTORY = 200


def config(**sections: Any) -> TradeEntryConfig:
    """A profile that plans on the synthetic history: a wide zone on the 1m timeframe."""
    base: dict[str, Any] = {
        "name": "test",
        "risk": {"risk_pct": 0.5, "budget_usdt": 100, "cooldown_minutes": 15},
        "order": {
            "type": "limit",
            "mode": "gtc",
            "allowed_timeframes": ["1m"],
            "max_deviation_pct": 3,
        },
        "entry_zone": {
            "timeframe": "1m",
            "anchor": "sma21",
            "w_min_pct": 2,
            "w_max_pct": 5,
            "ttl_seconds": 180,
        },
        "stop": {
            "policy": "atr",
            "atr_k": 2,
            "fallback": "risk",
            "max_distance_pct": 5,
            "risk_distance_pct": 1,
        },
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values} if isinstance(values, dict) else values
    return TradeEntryConfig.model_validate(base)


@dataclass
class Market:
    engine: Engine
    history: Candles
    as_of: int
    now: list[int] = field(default_factory=list)  # the market clock, movable by tests
    fake: FakeBitmart | None = None  # set: orders go through the Bitmart adapter to the fake

    @property
    def clock(self) -> int:
        return self.now[0]

    @property
    def name(self) -> str:
        return "paper" if self.fake is None else "bitmart"

    def advance(self, minutes: float) -> None:
        self.now[0] += int(minutes * 60_000)
        if self.fake is not None:
            self.fake.set_time(self.now[0])

    def exchange(self) -> Exchange:
        if self.fake is None:
            return PaperExchange(self.engine, clock=lambda: self.now[0])
        return bitmart_client(self.fake.transport(), TEST_CREDENTIALS, lambda: self.now[0])

    def candles(self, timeframe: Timeframe, limit: int) -> Candles:
        return KlineStore(self.engine).load(SYMBOL, timeframe, as_of_ms=self.clock, limit=limit)

    def decision(
        self,
        *,
        dry_run: bool,
        exchange: str | None = None,
        side: str = "long",
        profile: str = "test",
    ) -> Decision:
        open_ms = int(self.history.open_time[-1])
        return Decision(
            decision_key=f"{SYMBOL}:1m:{open_ms}:{side}",
            run_id=None,
            profile=profile,
            symbol=SYMBOL,
            side=side,
            timeframe="1m",
            candle_open_ms=open_ms,
            exchange=exchange or self.name,
            dry_run=dry_run,
            as_of_ms=self.as_of,
        )

    def extend(self, closes: Sequence[float], *, spread: float = 0.0005) -> None:
        """Script the next minutes: candles after the newest stored one."""
        stored = KlineStore(self.engine).load(SYMBOL, Timeframe.M1, as_of_ms=2**62, limit=1)
        start = int(stored.open_time[-1]) + Timeframe.M1.ms
        KlineStore(self.engine).upsert(
            make_candles(list(closes), Timeframe.M1, start_ms=start, spread=spread)
        )

    def ledger(self) -> OrderLedger:
        return OrderLedger(self.engine)


def build_market(db_url: str, future: Sequence[float] = (), *, adapter: str = "paper") -> Market:
    """History of a gentle random walk around 100, then the `future` closes; `adapter` bitmart
    puts the fake Bitmart (on the same database, so on the same candles) behind the exchange."""
    engine = get_engine(db_url)
    ContractStore(engine).upsert(SPEC, source="import")
    walk = [round(x, 2) for x in random_walk(HISTORY, seed=3, vol=0.001)]
    closes = walk + [round(x, 2) for x in future]
    candles = make_candles(closes, Timeframe.M1, spread=0.0005)
    KlineStore(engine).upsert(candles)
    history = _head(candles, HISTORY)
    as_of = as_of_after(history)
    if adapter == "paper":
        return Market(engine, history, as_of, [as_of])
    fake = FakeBitmart(db_url, start_ms=as_of, rate_limits=False)
    return Market(engine, history, as_of, [as_of], fake=fake)


def _head(candles: Candles, n: int) -> Candles:
    return Candles(
        candles.symbol,
        candles.timeframe,
        candles.open_time[:n],
        candles.open[:n],
        candles.high[:n],
        candles.low[:n],
        candles.close[:n],
        candles.volume[:n],
    )


def last_close(m: Market) -> float:
    return float(np.asarray(m.history.close)[-1])


class Venue:
    """Wraps an exchange: records every call, and lets a test override what reads return."""

    def __init__(self, inner: Exchange, *, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or inner.name
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.positions_override: list[Position] | None = None
        self.balance_override: Balance | None = None

    def called(self, method: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for m, a, k in self.calls if m == method]

    def positions(self, symbol: str | None = None) -> list[Position]:
        self.calls.append(("positions", (symbol,), {}))
        if self.positions_override is not None:
            return [p for p in self.positions_override if symbol in (None, p.symbol)]
        return self.inner.positions(symbol)

    def balance(self) -> Balance:
        self.calls.append(("balance", (), {}))
        return self.balance_override or self.inner.balance()

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.inner, method)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            return target(*args, **kwargs)

        return call


def open_long(exchange: Exchange, size: int) -> None:
    """A long position of `size` contracts opened at market with nothing protecting it."""
    exchange.submit_order(
        OrderRequest(
            symbol=SYMBOL,
            side=OrderSide.BUY_OPEN_LONG,
            type=OrderType.MARKET,
            size=Decimal(size),
            leverage=5,
        )
    )
