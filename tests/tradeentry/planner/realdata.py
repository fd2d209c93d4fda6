"""Snapshots from the real candles of the shared data folder, at any closed minute."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np
import pytest

import indicators
from providers.candles import Candles
from providers.importer import parse_file
from providers.types import ContractSpec, TopOfBook
from tests.conftest import KLINES_DIR
from tradeentry import metrics
from tradeentry.model import Pivots, Snapshot

FOLDER = KLINES_DIR / "binance-usdm-futures_2023-07"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT")
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Market:
    symbol: str
    price_decimals: int
    m1: Candles
    m5: Candles

    @property
    def first_ms(self) -> int:
        """The first moment with a complete previous UTC day behind it (pivots defined)."""
        start = int(self.m1.open_time[0])
        return (start // DAY_MS + 2) * DAY_MS

    @property
    def last_ms(self) -> int:
        return int(self.m1.open_time[-1]) + 60_000


def _path(symbol: str, timeframe: str) -> Path:
    return FOLDER / f"{symbol}-{timeframe}.csv"


def require_data() -> None:
    missing = [s for s in SYMBOLS if not _path(s, "1m").is_file() or not _path(s, "5m").is_file()]
    if missing:
        pytest.skip(f"real candles not found in {FOLDER} (the shared data folder is absent)")


@functools.cache
def market(symbol: str) -> Market:
    m1 = parse_file(_path(symbol, "1m"))
    m5 = parse_file(_path(symbol, "5m"))
    return Market(symbol, m1.price_decimals, m1.candles, m5.candles)


def dec(value: float | None) -> Decimal | None:
    if value is None or not math.isfinite(value):
        return None
    return Decimal(repr(value))


def last_pivots(candles: Candles) -> Pivots | None:
    levels = indicators.daily_floor_pivots(
        candles.open_time,
        candles.high,
        candles.low,
        candles.close,
        interval_ms=candles.timeframe.ms,
    )
    values = [dec(float(np.asarray(level)[-1])) for level in levels]
    if any(v is None for v in values):
        return None
    p, r1, s1, r2, s2, r3, s3 = values
    assert p and r1 and s1 and r2 and s2 and r3 and s3 is not None
    return Pivots(p=p, r1=r1, r2=r2, r3=r3, s1=s1, s2=s2, s3=s3)


@dataclass(frozen=True)
class Moment:
    """The indicator values the shell would read at `as_of_ms`."""

    close: Decimal
    atr: dict[str, Decimal | None]
    anchor: Decimal | None
    anchor_kind: str
    pivots: Pivots | None


def moment(mkt: Market, as_of_ms: int) -> Moment:
    window = {
        "1m": mkt.m1.until(as_of_ms).tail(2 * 1440 + 10),
        "5m": mkt.m5.until(as_of_ms).tail(2 * 288 + 10),
    }
    # Two days of 5m candles reach back to the day's start: the anchor is the day's VWAP.
    anchor = dec(metrics.zone_anchor(window["5m"]))
    close = dec(float(window["1m"].close[-1]))
    assert close is not None
    return Moment(
        close=close,
        atr={tf: dec(metrics.last_atr(c)) for tf, c in window.items()},
        anchor=anchor,
        anchor_kind="vwap" if anchor is not None else "none",
        pivots=last_pivots(window["1m"]),
    )


def book_at(spec: ContractSpec, close: Decimal, spread_ticks: int, mark_bps: Decimal) -> TopOfBook:
    bid = (close / spec.tick_size).to_integral_value(rounding=ROUND_FLOOR) * spec.tick_size
    return TopOfBook(
        symbol=spec.symbol,
        bid=bid,
        ask=bid + spread_ticks * spec.tick_size,
        bid_size=Decimal(100),
        ask_size=Decimal(100),
        mark=close * (1 + mark_bps / 10_000),
        ts_ms=0,
    )


def snapshot_at(
    spec: ContractSpec,
    book: TopOfBook,
    m: Moment,
    execution_tf: str,
    available: Decimal,
    now_ms: int,
) -> Snapshot:
    return Snapshot(
        spec=spec,
        book=book,
        equity=available,
        available=available,
        atr=m.atr[execution_tf],
        anchor=m.anchor,
        anchor_kind=m.anchor_kind,
        pivots=m.pivots,
        now_ms=now_ms,
        zone_atr=m.atr["5m"],
    )
