"""Public market rows (pure): kline buckets, contract details and the depth snapshot.

Stored candle volume is taken to be in contracts, as the paper exchange's quote takes it, and
is sent unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from providers.paper.quotes import Bar
from providers.types import ContractSpec, TopOfBook

from .wire import num

#: Kline steps in minutes the REST API accepts (reference §6.3).
STEPS = frozenset({1, 3, 5, 15, 30, 60, 120, 240, 360, 720, 1440, 4320, 10080})
MAX_ROWS = 500
DAY_MS = 86_400_000
FUNDING_INTERVAL_H = 8
DEPTH_LEVELS = 10
#: Listing time of a contract that does not say (2020-01-01T00:00:00Z, in ms like the field).
LISTED_MS = 1_577_836_800_000


@dataclass(frozen=True)
class Row:
    """One kline bucket."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def aggregate(bars: Iterable[Bar], step_ms: int) -> list[Row]:
    """Bars (oldest first) merged into buckets of `step_ms` aligned to the epoch."""
    rows: list[Row] = []
    for bar in bars:
        start = bar.open_ms - bar.open_ms % step_ms
        if rows and rows[-1].open_ms == start:
            last = rows[-1]
            rows[-1] = Row(
                start,
                last.open,
                max(last.high, bar.high),
                min(last.low, bar.low),
                bar.close,
                last.volume + bar.volume,
            )
        else:
            rows.append(Row(start, bar.open, bar.high, bar.low, bar.close, bar.volume))
    return rows


def flat(open_ms: int, price: Decimal) -> Row:
    """A bucket with no trade yet: everything at the last price."""
    return Row(open_ms, price, price, price, price, Decimal(0))


@dataclass(frozen=True)
class Span:
    """Bucket open times a kline request covers: [first, last], `forming` holding the clock."""

    first: int
    last: int
    forming: int
    step_ms: int

    @property
    def closed_end(self) -> int:
        """End (exclusive) of the open times of closed buckets asked for."""
        return min(self.last + self.step_ms, self.forming)

    @property
    def wants_forming(self) -> bool:
        return self.last == self.forming


def span(start_s: int, end_s: int, step: int, now_ms: int) -> Span | None:
    """Buckets opening in [start_s, end_s] and not after the clock, the newest `MAX_ROWS`."""
    step_ms = step * 60_000
    forming = now_ms - now_ms % step_ms
    first = -(-start_s * 1000 // step_ms) * step_ms
    last = min(end_s * 1000 - end_s * 1000 % step_ms, forming)
    if first > last:
        return None
    first = max(first, last - (MAX_ROWS - 1) * step_ms)
    return Span(first, last, forming, step_ms)


def kline_row(row: Row, *, mark: bool = False) -> dict[str, Any]:
    """A kline row as sent: seconds, prices as strings; mark-price klines carry no volume."""
    return {
        "timestamp": row.open_ms // 1000,
        "open_price": num(row.open),
        "close_price": num(row.close),
        "high_price": num(row.high),
        "low_price": num(row.low),
        "volume": "0" if mark else num(row.volume),
    }


@dataclass(frozen=True)
class DayStats:
    """The last 24 hours of closed candles."""

    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal
    turnover: Decimal


def day_stats(spec: ContractSpec, bars: list[Bar]) -> DayStats | None:
    if not bars:
        return None
    return DayStats(
        open=bars[0].open,
        high=max(b.high for b in bars),
        low=min(b.low for b in bars),
        last=bars[-1].close,
        volume=sum((b.volume for b in bars), Decimal(0)),
        turnover=sum((b.volume * b.close * spec.contract_size for b in bars), Decimal(0)),
    )


def contract_row(spec: ContractSpec, stats: DayStats | None, now_ms: int) -> dict[str, Any]:
    """A row of /contract/public/details, live values at `now_ms`."""
    last = stats.last if stats else spec.last_price or Decimal(0)
    change = (stats.last - stats.open) / stats.open if stats and stats.open else Decimal(0)
    interval = FUNDING_INTERVAL_H * 3_600_000
    funding = spec.funding_rate if spec.funding_rate is not None else Decimal("0.0001")
    return {
        "symbol": spec.symbol,
        "product_type": 1,
        "open_timestamp": spec.open_timestamp_ms or LISTED_MS,
        "expire_timestamp": 0,
        "settle_timestamp": 0,
        "base_currency": spec.base_currency,
        "quote_currency": spec.quote_currency,
        "last_price": num(last),
        "volume_24h": num(stats.volume if stats else Decimal(0)),
        "turnover_24h": num(stats.turnover.quantize(Decimal("1e-8")) if stats else Decimal(0)),
        "index_price": num(last),
        "index_name": spec.symbol,
        "contract_size": num(spec.contract_size),
        "min_leverage": str(spec.min_leverage),
        "max_leverage": str(spec.max_leverage),
        "price_precision": num(spec.tick_size),
        "vol_precision": num(spec.volume_step),
        "max_volume": num(spec.max_volume),
        "market_max_volume": num(spec.market_max_volume),
        "min_volume": num(spec.min_volume),
        "funding_rate": num(funding),
        "expected_funding_rate": num(funding),
        "open_interest": "0",
        "open_interest_value": "0",
        "high_24h": num(stats.high if stats else last),
        "low_24h": num(stats.low if stats else last),
        "change_24h": num(change.quantize(Decimal("1e-6"))),
        "funding_interval_hours": FUNDING_INTERVAL_H,
        "funding_time": now_ms - now_ms % interval + interval,
        "status": spec.status,
        "delist_time": 0,
    }


def depth(spec: ContractSpec, book: TopOfBook | None, now_ms: int) -> dict[str, Any]:
    """`DEPTH_LEVELS` levels a tick apart from the quote outwards, asks ascending, bids
    descending, `[price, size, cumulative size]`; empty sides without a price."""
    asks: list[list[str]] = []
    bids: list[list[str]] = []
    if book is not None:
        for side, best, size, sign in (
            (asks, book.ask, book.ask_size, 1),
            (bids, book.bid, book.bid_size, -1),
        ):
            size = max(size, spec.volume_step)
            for level in range(DEPTH_LEVELS):
                price = best + sign * level * spec.tick_size
                if price <= 0:
                    break
                side.append([num(price), num(size), num(size * (level + 1))])
    return {"asks": asks, "bids": bids, "timestamp": now_ms, "symbol": spec.symbol}
