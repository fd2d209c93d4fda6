"""Builders for planner tests: a contract, a book, a snapshot, a signal, a config."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers.types import ContractSpec, PositionSide, TopOfBook
from tradeentry.config import TradeEntryConfig
from tradeentry.model import Pivots, Signal, Snapshot, TradePlan

D = Decimal
NOW_MS = 1_690_000_000_000


def make_spec(
    tick: str = "0.0001",
    contract_size: str = "1",
    *,
    symbol: str = "TESTUSDT",
    step: str = "1",
    min_volume: str = "1",
    max_volume: str = "1000000",
    market_max_volume: str | None = None,
    min_leverage: int = 1,
    max_leverage: int = 50,
) -> ContractSpec:
    return ContractSpec(
        symbol=symbol,
        base_currency=symbol.removesuffix("USDT"),
        quote_currency="USDT",
        tick_size=D(tick),
        contract_size=D(contract_size),
        volume_step=D(step),
        min_volume=D(min_volume),
        max_volume=D(max_volume),
        market_max_volume=D(market_max_volume if market_max_volume is not None else max_volume),
        min_leverage=min_leverage,
        max_leverage=max_leverage,
    )


def make_book(bid: str, ask: str, mark: str | None = None, symbol: str = "TESTUSDT") -> TopOfBook:
    return TopOfBook(
        symbol=symbol,
        bid=D(bid),
        ask=D(ask),
        bid_size=D(1000),
        ask_size=D(1000),
        mark=D(mark) if mark is not None else (D(bid) + D(ask)) / 2,
        ts_ms=NOW_MS,
    )


def make_pivots(**levels: str) -> Pivots:
    values = {"p": "0", "r1": "0", "r2": "0", "r3": "0", "s1": "0", "s2": "0", "s3": "0"}
    values.update(levels)
    return Pivots(**{k: D(v) for k, v in values.items()})


def make_snapshot(
    spec: ContractSpec,
    book: TopOfBook,
    *,
    available: str = "500",
    atr: str | None = "0.0026",
    anchor: str | None = "2.0000",
    anchor_kind: str = "vwap",
    pivots: Pivots | None = None,
    **extra: Any,
) -> Snapshot:
    return Snapshot(
        spec=spec,
        book=book,
        equity=D(available),
        available=D(available),
        atr=D(atr) if atr is not None else None,
        anchor=D(anchor) if anchor is not None else None,
        anchor_kind=anchor_kind if anchor is not None else "none",
        pivots=pivots,
        now_ms=NOW_MS,
        **extra,
    )


def make_signal(
    side: PositionSide = PositionSide.LONG, timeframe: str = "1m", symbol: str = "TESTUSDT"
) -> Signal:
    return Signal(
        symbol=symbol,
        side=side,
        timeframe=timeframe,
        profile="test",
        decision_key=f"mtf:{symbol}:000000000000",
        candle_open_ms=NOW_MS - 60_000,
        as_of_ms=NOW_MS,
    )


def make_config(**sections: Any) -> TradeEntryConfig:
    """A config from section overrides, e.g. make_config(risk={"risk_pct": 1})."""
    return TradeEntryConfig.model_validate({"name": "test", **sections})


def plan_of(result: object) -> TradePlan:
    assert isinstance(result, TradePlan), f"expected a plan, got {result}"
    return result
