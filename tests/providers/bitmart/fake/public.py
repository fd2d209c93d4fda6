"""Handlers of the public market endpoints (auth NONE)."""

from __future__ import annotations

from typing import Any

from providers.paper.quotes import bars
from providers.port import NotFoundError
from providers.timeframes import DESCENDING
from providers.types import ContractSpec

from . import listing
from .listing import Row, Span
from .params import Call, integer
from .venue import Venue
from .wire import WireError


def details(call: Call) -> dict[str, Any]:
    """All contracts, or the one named by `symbol`."""
    venue = call.venue
    found = call.spec(required=False)
    specs = [found] if found is not None else venue.contracts.all()
    now = venue.now()
    return {"symbols": [listing.contract_row(s, _day(venue, s, now), now) for s in specs]}


def kline(call: Call) -> list[dict[str, Any]]:
    return _klines(call, mark=False)


def markprice_kline(call: Call) -> list[dict[str, Any]]:
    """Mark-price candles: the last-price candles without volume (there is no separate mark)."""
    return _klines(call, mark=True)


def depth(call: Call) -> dict[str, Any]:
    spec = call.symbol()
    venue = call.venue
    try:
        book = venue.paper.top_of_book(spec.symbol)
    except NotFoundError:
        book = None
    return listing.depth(spec, book, venue.now())


def funding_rate(call: Call) -> dict[str, Any]:
    spec = call.symbol()
    row = listing.contract_row(spec, None, call.venue.now())
    return {
        "timestamp": call.venue.now(),
        "symbol": spec.symbol,
        "rate_value": row["funding_rate"],
        "expected_rate": row["expected_funding_rate"],
        "funding_time": row["funding_time"],
        "funding_upper_limit": "0.0375",
        "funding_lower_limit": "-0.0375",
    }


def system_time(call: Call) -> dict[str, Any]:
    """The server's wall clock: what request timestamps are checked against (the real
    exchange has one clock; the fake's market clock may be replaying another day)."""
    return {"server_time": call.wall_ms}


def _klines(call: Call, *, mark: bool) -> list[dict[str, Any]]:
    spec = call.symbol()
    raw_step = call.arg("step")
    step = 1 if raw_step is None or raw_step == "" else integer(raw_step, 40038, "step")
    if step not in listing.STEPS:
        allowed = ", ".join(str(s) for s in sorted(listing.STEPS))
        raise WireError(40038, f"step {step} is not one of {allowed}")
    start_s, end_s = (_seconds(call, name) for name in ("start_time", "end_time"))
    if start_s > end_s:
        raise WireError(40039, f"start_time {start_s} is after end_time {end_s}")
    venue = call.venue
    window = listing.span(start_s, end_s, step, venue.now())
    if window is None:
        return []
    rows = _closed(venue, spec, window)
    if window.wants_forming:
        forming = _forming(venue, spec, window)
        if forming is not None:
            rows.append(forming)
    return [listing.kline_row(r, mark=mark) for r in rows]


def _seconds(call: Call, name: str) -> int:
    raw = call.arg(name)
    if raw is None or raw == "":
        raise WireError(40011, f"{name} is required (seconds)")
    value = integer(raw, 40039, name)
    if value < 0:
        raise WireError(40039, f"{name} {value} is negative")
    return value


def _closed(venue: Venue, spec: ContractSpec, window: Span) -> list[Row]:
    """Closed buckets from the coarsest stored timeframe that divides the step and has data."""
    for timeframe in DESCENDING:
        if window.step_ms % timeframe.ms:
            continue
        candles = venue.klines.load_range(spec.symbol, timeframe, window.first, window.closed_end)
        if len(candles):
            return listing.aggregate(bars(candles), window.step_ms)
    return []


def _forming(venue: Venue, spec: ContractSpec, window: Span) -> Row | None:
    """The bucket holding the clock, from the finest candles closed so far; flat at the last
    close while none has closed in it."""
    timeframe = venue.prices.finest(spec.symbol)
    if timeframe is None or window.step_ms % timeframe.ms:
        return None
    now = venue.now()
    closed_end = timeframe.last_closed_open_ms(now) + 1
    candles = venue.klines.load_range(spec.symbol, timeframe, window.forming, closed_end)
    if len(candles):
        return listing.aggregate(bars(candles), window.step_ms)[0]
    previous = venue.klines.load(spec.symbol, timeframe, as_of_ms=now, limit=1)
    if not len(previous):
        return None
    return listing.flat(window.forming, bars(previous)[-1].close)


def _day(venue: Venue, spec: ContractSpec, now: int) -> listing.DayStats | None:
    """The last day of the finest stored candles, the last price being the paper's."""
    timeframe = venue.prices.finest(spec.symbol)
    if timeframe is None:
        return None
    closed_end = timeframe.last_closed_open_ms(now) + 1
    candles = venue.klines.load_range(
        spec.symbol, timeframe, max(0, now - listing.DAY_MS), closed_end
    )
    return listing.day_stats(spec, bars(candles))
