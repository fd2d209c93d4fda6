"""`BitmartClient`: one typed method per futures endpoint, exact to the wire protocol.

Methods return the models of `providers.bitmart.models` (or None for calls whose reply
carries nothing) and raise the errors of `providers.port`; a read that fails raises, it never
comes back as an empty list. The domain mapping lives in `BitmartExchange`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx

from providers.bitmart import endpoints as ep
from providers.bitmart.credentials import Credentials
from providers.bitmart.models import (
    Asset,
    ContractDetail,
    ContractDetails,
    Depth,
    FeeRate,
    Kline,
    OrderDetail,
    PlanOrder,
    PositionMode,
    PositionV2,
    Trade,
)
from providers.bitmart.parsing import parse, parse_list
from providers.bitmart.payloads import (
    MAX_KLINE_ROWS,
    kline_windows,
)
from providers.bitmart.ratelimit import InMemoryRateLimiter, RateLimiter
from providers.bitmart.retry import RetryPolicy
from providers.bitmart.servertime import ServerTime
from providers.bitmart.session import Params, Session
from providers.bitmart.trading import TradingCalls
from providers.port import TransientError

log = logging.getLogger("providers.bitmart")

DEFAULT_BASE_URL = "https://api-cloud-v2.bitmart.com"
# An explicit agent: Cloudflare in front of the API blocks some library defaults.
DEFAULT_USER_AGENT = "mtf-scalper/0.1 (+httpx)"
KLINE_STEPS = frozenset({1, 3, 5, 15, 30, 60, 120, 240, 360, 720, 1440, 4320, 10080})


class BitmartClient(TradingCalls):
    """Synchronous client of the Bitmart USDT-M futures REST API (v2)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        credentials: Credentials | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        user_agent: str = DEFAULT_USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        sync_time: bool = False,
    ) -> None:
        """`sync_time`: sign with the exchange's clock (`ServerTime`: measured against
        `/system/time`, re-measured every 10 minutes and after a refused timestamp) rather
        than with `clock`."""
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )
        self.limiter = limiter if limiter is not None else InMemoryRateLimiter()
        self.server_time = ServerTime(self.server_time_ms, base=clock) if sync_time else None
        self.session = Session(
            self.http,
            credentials,
            self.limiter,
            retry,
            clock=self.server_time.now if self.server_time else clock,
            sleep=sleep,
            rng=rng,
            resync_clock=self.server_time.invalidate if self.server_time else None,
        )

    def __repr__(self) -> str:
        keyed = "with credentials" if self.session.credentials else "public only"
        return f"BitmartClient({self.base_url!r}, {keyed})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BitmartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public market data ----------------------------------------------------------------

    def server_time_ms(self) -> int:
        """The exchange's clock, in epoch milliseconds."""
        data = self._call(ep.SYSTEM_TIME)
        try:
            return int(data["server_time"])
        except (TypeError, KeyError, ValueError):
            raise TransientError(f"{ep.SYSTEM_TIME.name}: no server_time in {data!r}") from None

    def contract_details(self, symbol: str | None = None) -> list[ContractDetail]:
        """Every contract, or the one of `symbol` (unknown: an empty list or 40034)."""
        data = self._call(ep.DETAILS, params={"symbol": symbol})
        return parse(ContractDetails, data, ep.DETAILS).symbols

    def depth(self, symbol: str) -> Depth:
        """The order book of `symbol` (up to 50 levels a side)."""
        return parse(Depth, self._call(ep.DEPTH, params={"symbol": symbol}), ep.DEPTH)

    def kline(
        self, symbol: str, step_minutes: int, start_s: int, end_s: int, *, mark: bool = False
    ) -> list[Kline]:
        """One kline call (times in seconds); refuses ranges of more than 500 candles."""
        if step_minutes not in KLINE_STEPS:
            raise ValueError(f"kline step {step_minutes} is not one of {sorted(KLINE_STEPS)}")
        if (end_s - start_s) > MAX_KLINE_ROWS * step_minutes * 60 or end_s < start_s:
            raise ValueError(
                f"kline range {start_s}..{end_s} s spans more than {MAX_KLINE_ROWS} candles of "
                f"{step_minutes} min (or ends before it starts); use klines_range"
            )
        endpoint = ep.MARKPRICE_KLINE if mark else ep.KLINE
        params: Params = {
            "symbol": symbol,
            "step": step_minutes,
            "start_time": start_s,
            "end_time": end_s,
        }
        return parse_list(Kline, self._call(endpoint, params=params), endpoint)

    def klines_range(
        self, symbol: str, step_minutes: int, start_s: int, end_s: int, *, mark: bool = False
    ) -> list[Kline]:
        """Candles opening in [start_s, end_s), oldest first, in calls of at most 500 rows."""
        rows: dict[int, Kline] = {}
        for lo, hi in kline_windows(start_s, end_s, step_minutes):
            for row in self.kline(symbol, step_minutes, lo, hi, mark=mark):
                if start_s * 1000 <= row.timestamp < end_s * 1000:
                    rows[row.timestamp] = row
        return [rows[t] for t in sorted(rows)]

    # --- private reads (X-BM-KEY only) ----------------------------------------------------

    def assets(self) -> list[Asset]:
        """The futures wallet, one row per currency."""
        return parse_list(Asset, self._call(ep.ASSETS_DETAIL), ep.ASSETS_DETAIL)

    def trade_fee_rate(self, symbol: str) -> FeeRate:
        data = self._call(ep.TRADE_FEE_RATE, params={"symbol": symbol})
        return parse(FeeRate, data, ep.TRADE_FEE_RATE)

    def positions(self, symbol: str | None = None) -> list[PositionV2]:
        """position-v2 rows (flat rows included when `symbol` is given)."""
        data = self._call(ep.POSITION_V2, params={"symbol": symbol})
        return parse_list(PositionV2, data, ep.POSITION_V2)

    def position_mode(self) -> PositionMode:
        return parse(PositionMode, self._call(ep.GET_POSITION_MODE), ep.GET_POSITION_MODE)

    def open_orders(
        self,
        symbol: str | None = None,
        *,
        order_type: Literal["limit", "market", "trailing"] | None = None,
        partially_filled_only: bool = False,
        limit: int = 100,
    ) -> list[OrderDetail]:
        """Open normal orders (not plan or TP/SL orders), at most `limit` (<= 100)."""
        params: Params = {
            "symbol": symbol,
            "type": order_type,
            "order_state": "partially_filled" if partially_filled_only else None,
            "limit": limit,
        }
        rows = parse_list(OrderDetail, self._call(ep.OPEN_ORDERS, params=params), ep.OPEN_ORDERS)
        _warn_if_full(rows, limit, ep.OPEN_ORDERS)
        return rows

    def order(self, symbol: str, order_id: str) -> OrderDetail:
        """One order by exchange id; `NotFoundError` (40035/40037) when unknown."""
        data = self._call(ep.ORDER, params={"symbol": symbol, "order_id": order_id})
        return parse(OrderDetail, data, ep.ORDER)

    def order_history(
        self,
        symbol: str,
        *,
        order_id: str | None = None,
        client_order_id: str | None = None,
        start_s: int | None = None,
        end_s: int | None = None,
    ) -> list[OrderDetail]:
        """Finished and open orders (default: the last 7 days; at most 200 rows)."""
        params: Params = {
            "symbol": symbol,
            "order_id": order_id,
            "client_order_id": client_order_id,
            "start_time": start_s,
            "end_time": end_s,
        }
        data = self._call(ep.ORDER_HISTORY, params=params)
        return parse_list(OrderDetail, data, ep.ORDER_HISTORY)

    def trades(
        self,
        symbol: str | None = None,
        *,
        start_s: int | None = None,
        end_s: int | None = None,
        order_id: str | None = None,
        client_order_id: str | None = None,
    ) -> list[Trade]:
        """Own fills (default: the last 7 days; at most 200 rows); times in seconds."""
        params: Params = {
            "symbol": symbol,
            "start_time": start_s,
            "end_time": end_s,
            "order_id": order_id,
            "client_order_id": client_order_id,
        }
        return parse_list(Trade, self._call(ep.TRADES, params=params), ep.TRADES)

    def plan_orders(
        self,
        symbol: str | None = None,
        *,
        plan_type: Literal["plan", "profit_loss"] | None = None,
        limit: int = 100,
    ) -> list[PlanOrder]:
        """Active plan and TP/SL orders, at most `limit` (<= 100)."""
        params: Params = {"symbol": symbol, "plan_type": plan_type, "limit": limit}
        rows = parse_list(PlanOrder, self._call(ep.PLAN_ORDERS, params=params), ep.PLAN_ORDERS)
        _warn_if_full(rows, limit, ep.PLAN_ORDERS)
        return rows

    # --- internals -------------------------------------------------------------------------

    def _call(
        self,
        endpoint: ep.Endpoint,
        *,
        params: Params | None = None,
        body: dict[str, object] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        return self.session.call(endpoint, params=params, body=body, idempotent=idempotent)


def _warn_if_full(rows: list[Any], limit: int, endpoint: ep.Endpoint) -> None:
    # The endpoint has no paging: a full page may hide orders beyond it.
    if len(rows) >= limit:
        log.warning("%s returned %d rows, its limit: more may exist", endpoint.name, len(rows))
