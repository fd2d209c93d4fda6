"""`BitmartExchange`: `providers.port.Exchange` on Bitmart USDT-M futures.

Orders are checked against the contract's rules before they are sent (tick, volume step and
limits, leverage bounds: `InvalidOrderError` names the rule). Contract specs used for those
checks (and for a contract's listing time when candles are fetched) come from `specs`, the
contracts synced daily into the store, else from contract details, cached for `spec_ttl_s`;
when the exchange still rejects an order on a rule, the spec is fetched again and checked once
more, so a changed rule is reported by name.

`quotes`, when given, supplies a recent streamed top of book; the depth endpoint is asked only
when it has none.

Every order and TP/SL is sent with a client order id (generated when the caller gives none),
which makes resending it safe: a copy the exchange already holds is refused with 40050 and
the existing order is returned instead (the port contract for repeated client ids).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, NoReturn

import httpx

from infra import clock
from infra.settings import Settings
from providers import order_rules as rules
from providers.bitmart import fees, lookup, mapping, orders, tpsl
from providers.bitmart.client import BitmartClient
from providers.bitmart.credentials import Credentials
from providers.bitmart.models import CancelAllAfter, FeeRate, PositionMode, Trade
from providers.bitmart.payloads import closed_opens
from providers.bitmart.ratelimit import RateLimiter
from providers.bitmart.redis_limiter import RedisRateLimiter
from providers.candles import Candles
from providers.port import (
    DuplicateOrderError,
    ExchangeError,
    InvalidOrderError,
    NotFoundError,
    TransientError,
)
from providers.timeframes import Timeframe
from providers.types import (
    Balance,
    ContractSpec,
    Fill,
    OpenType,
    Order,
    OrderRequest,
    Position,
    PositionSide,
    PriceType,
    TopOfBook,
    TriggerKind,
    TriggerOrder,
)

log = logging.getLogger("providers.bitmart")

Clock = Callable[[], int]
SpecLookup = Callable[[str], ContractSpec | None]
QuoteLookup = Callable[[str], TopOfBook | None]
#: Codes of rejections a changed contract rule can explain (precision, range, leverage).
_RULE_CODES = frozenset({40029, 40030, 40040, 40043, 40044})
_FINISHED_CODES = frozenset({40035, 40036, 40037})
UNKNOWN_SYMBOL = 40034
#: Rows of one page of the trades endpoint.
TRADES_PAGE = 200


def wall_clock_ms() -> int:
    """Now on the cluster's clock (`infra.clock`), in epoch milliseconds: which candle has
    closed is decided on the time every host agrees on."""
    return clock.now_ms()


class BitmartExchange:
    """The exchange port over a `BitmartClient` (hedge or one-way account)."""

    name = "bitmart"

    def __init__(
        self,
        client: BitmartClient,
        *,
        clock: Clock = wall_clock_ms,
        currency: str = "USDT",
        spec_ttl_s: float = 60.0,
        max_klines: int = 100_000,
        client_id_prefix: str = "mtf",
        specs: SpecLookup | None = None,
        quotes: QuoteLookup | None = None,
    ) -> None:
        if not (client_id_prefix.isascii() and client_id_prefix.isalnum()):
            raise ValueError(f"client_id_prefix must be letters/digits, got {client_id_prefix!r}")
        if len(client_id_prefix) > 8:
            raise ValueError(f"client_id_prefix is at most 8 characters, got {client_id_prefix!r}")
        self.client = client
        self.clock = clock
        self.currency = currency
        self.spec_ttl_s = spec_ttl_s
        self.max_klines = max_klines
        self.client_id_prefix = client_id_prefix
        self._specs: dict[str, tuple[float, ContractSpec]] = {}
        self.stored_spec = specs
        self.streamed_quote = quotes

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock = wall_clock_ms,
        specs: SpecLookup | None = None,
        quotes: QuoteLookup | None = None,
    ) -> BitmartExchange:
        """An adapter on `bitmart_base_url` with the configured credentials, paced by the
        Redis limiter at `redis_url` (shared by every worker) unless `limiter` is given."""
        client = BitmartClient(
            settings.bitmart_base_url,
            Credentials.from_settings(settings),
            transport=transport,
            limiter=limiter
            if limiter is not None
            else RedisRateLimiter.from_url(
                settings.redis_url, unavailable_wait_s=settings.limiter_wait_seconds
            ),
            sync_time=True,
        )
        return cls(client, clock=clock, specs=specs, quotes=quotes)

    def __repr__(self) -> str:
        return f"BitmartExchange({self.client!r})"

    # --- market data ------------------------------------------------------------------------

    def contracts(self) -> list[ContractSpec]:
        specs = [mapping.contract_spec(row) for row in self.client.contract_details()]
        for spec in specs:
            self._remember(spec)
        return specs

    def contract(self, symbol: str) -> ContractSpec:
        """One contract, fetched now; `NotFoundError` naming the symbol when unknown."""
        try:
            rows = self.client.contract_details(symbol)
        except NotFoundError as exc:
            raise NotFoundError(f"unknown contract {symbol}: {exc}", code=exc.code) from exc
        for row in rows:
            if row.symbol == symbol:
                return self._remember(mapping.contract_spec(row))
        raise NotFoundError(f"unknown contract {symbol}: the exchange lists no such symbol")

    def klines(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        """Closed candles opening in [start_ms, end_ms), oldest first, never the forming one.

        The range starts no earlier than the contract's listing; asking for more than
        `max_klines` candles is refused rather than turned into thousands of calls.
        """
        listed = self._spec(symbol).open_timestamp_ms or 0
        step, now = timeframe.ms, self.clock()
        start, end = closed_opens(max(start_ms, listed), end_ms, step, now)
        if end <= start:
            return Candles.empty(symbol, timeframe)
        if (end - start) // step > self.max_klines:
            raise ValueError(
                f"{symbol} {timeframe}: {(end - start) // step} candles asked for, more than "
                f"max_klines {self.max_klines}; ask for a shorter range"
            )
        rows = self.client.klines_range(symbol, timeframe.minutes, start // 1000, -(-end // 1000))
        closed = [r for r in rows if start <= r.timestamp < end and r.timestamp + step <= now]
        return mapping.candles(symbol, timeframe, closed)

    def top_of_book(self, symbol: str) -> TopOfBook:
        """The streamed book ticker when a recent one is at hand (marked at its mid), else
        best bid/ask from the depth snapshot, marked at the contract's index price."""
        if self.streamed_quote is not None:
            streamed = self.streamed_quote(symbol)
            if streamed is not None:
                return streamed
        depth = self.client.depth(symbol)
        spec = self.contract(symbol)
        mark = spec.index_price or spec.last_price
        if mark is None:
            raise TransientError(f"contract details of {symbol} carry no index or last price")
        return mapping.top_of_book(depth, mark)

    # --- account ----------------------------------------------------------------------------

    def balance(self) -> Balance:
        return mapping.balance(self.client.assets(), self.currency)

    def positions(self, symbol: str | None = None) -> list[Position]:
        """Open positions (flat rows left out)."""
        try:
            rows = self.client.positions(symbol)
        except NotFoundError as exc:
            return _nothing_if_unknown_symbol(exc)
        mapped = (mapping.position(row) for row in rows)
        return [p for p in mapped if p is not None]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open normal orders; those partly filled carry the fee paid so far."""
        try:
            rows = self.client.open_orders(symbol)
        except NotFoundError as exc:
            return _nothing_if_unknown_symbol(exc)
        mapped = (mapping.order(row) for row in rows)
        return [fees.with_fee(self.client, o, self.clock()) for o in mapped if o.status.is_open]

    def trigger_orders(self, symbol: str | None = None) -> list[TriggerOrder]:
        """Plan and TP/SL orders still waiting for their trigger."""
        try:
            rows = self.client.plan_orders(symbol)
        except NotFoundError as exc:
            return _nothing_if_unknown_symbol(exc)
        mapped = (mapping.trigger_order(row) for row in rows)
        return [t for t in mapped if t.status.is_open]

    def fills(self, symbol: str | None = None, *, since_ms: int | None = None) -> list[Fill]:
        """Own fills from the trades endpoint (at most 200 rows a page: older pages are asked
        for until the range is covered)."""
        now_s = self.clock() // 1000
        start_s = now_s - 7 * 86_400 if since_ms is None else since_ms // 1000
        found: dict[tuple[str, int, str], Fill] = {}
        end_s = now_s
        while end_s >= start_s:
            rows = self.client.trades(symbol, start_s=start_s, end_s=end_s)
            for row in rows:
                f = mapping.fill(row)
                found[(f.order_id, f.time_ms, str(row.trade_id))] = f
            if len(rows) < TRADES_PAGE:
                break
            oldest = min(r.create_time for r in rows) // 1000
            end_s = oldest if oldest < end_s else end_s - 1
        since = start_s * 1000 if since_ms is None else since_ms
        kept = (f for f in found.values() if f.time_ms >= since)  # the query is in seconds
        return sorted(kept, key=lambda f: (f.time_ms, f.order_id))

    def order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        """By exchange id (order detail) or by client id (see `lookup.order_by_client_id`)."""
        if order_id:
            found = mapping.order(self.client.order(symbol, order_id))
            if client_order_id and found.client_order_id != client_order_id:
                raise NotFoundError(
                    f"order {order_id} of {symbol} has client_order_id "
                    f"{found.client_order_id}, not {client_order_id}"
                )
        elif client_order_id:
            found = lookup.order_by_client_id(self.client, symbol, client_order_id)
        else:
            raise ValueError("order() needs an order_id or a client_order_id")
        return fees.with_fee(self.client, found, self.clock())

    def set_leverage(self, symbol: str, leverage: int, open_type: OpenType) -> int:
        rules.check_leverage(self._spec(symbol), leverage)
        try:
            result = self.client.submit_leverage(symbol, open_type.value, leverage)
        except InvalidOrderError as exc:
            self._recheck(exc, lambda spec: rules.check_leverage(spec, leverage), symbol)
            raise
        return int(result.leverage)

    # --- orders -----------------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> Order:
        """Check, place and read back an order; a repeated client id returns its order."""
        rules.check_request(self._spec(request.symbol), request)
        cid = request.client_order_id or self._new_client_id()
        try:
            placed = orders.place(self.client, request, cid)
        except DuplicateOrderError as exc:
            request = replace(request, client_order_id=cid)
            return self._with_fee(lookup.existing_order(self.client, request, exc))
        except InvalidOrderError as exc:
            self._recheck(exc, lambda spec: rules.check_request(spec, request), request.symbol)
            raise
        # From here the order is placed: a failed read must not look like a failed submit
        # (that would invite a second order), so what cannot be read is reported as sent.
        try:
            found = mapping.order(self.client.order(request.symbol, placed.order_id))
        except ExchangeError as exc:
            log.info("order %s of %s not read back (%s)", placed.order_id, request.symbol, exc)
            return orders.provisional_order(request, placed.order_id, cid, self.clock())
        # Order rows carry no time-in-force; the one sent is the one in force.
        return self._with_fee(replace(found, mode=request.mode))

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel one open order; `NotFoundError` if it is unknown or already finished."""
        if not order_id and not client_order_id:
            raise ValueError("cancel_order needs an order_id or a client_order_id")
        try:
            self.client.cancel_order(symbol, order_id=order_id, client_order_id=client_order_id)
        except (NotFoundError, InvalidOrderError) as exc:
            which = order_id or f"with client_order_id {client_order_id}"
            _raise_finished(exc, f"order {which} of {symbol} is unknown or already finished")

    def submit_trigger_order(
        self,
        symbol: str,
        *,
        kind: TriggerKind,
        position_side: PositionSide,
        trigger_price: Decimal,
        size: Decimal | None = None,
        execution_price: Decimal | None = None,
        price_type: PriceType = PriceType.LAST,
        client_order_id: str | None = None,
    ) -> TriggerOrder:
        """A TP/SL on the open position of `position_side` (submit-tp-sl-order with the
        closing side: 3 closes a long, 2 a short). `size` None covers the whole position
        (plan_category 2), a size only that much (plan_category 1); `execution_price` None
        executes at market."""
        ask = tpsl.TpSl(
            symbol=symbol,
            kind=kind,
            position_side=position_side,
            trigger_price=trigger_price,
            size=size,
            execution_price=execution_price,
            price_type=price_type,
            client_order_id=client_order_id or self._new_client_id(),
        )
        tpsl.check(self.contract(symbol), self.positions(symbol), ask)
        placed = tpsl.place(self.client, ask)
        if isinstance(placed, TriggerOrder):
            return placed  # the same TP/SL asked for again
        # Placed: a failed read-back reports it as sent rather than as a failure.
        try:
            listed = lookup.trigger_by_id(self.client, symbol, order_id=placed.order_id)
        except ExchangeError as exc:
            log.info("trigger %s of %s not read back (%s)", placed.order_id, symbol, exc)
            listed = None
        return listed or tpsl.provisional(placed, ask, self.clock())

    def cancel_trigger_order(self, symbol: str, order_id: str) -> None:
        """Cancel one plan/TP-SL order; `NotFoundError` if unknown or no longer active."""
        if not order_id:
            raise ValueError("cancel_trigger_order needs an order_id")
        try:
            self.client.cancel_plan_order(symbol, order_id=order_id)
        except (NotFoundError, InvalidOrderError) as exc:
            _raise_finished(exc, f"trigger order {order_id} of {symbol} is unknown or inactive")

    # --- capabilities beyond the port ---------------------------------------------------

    def cancel_all_after(self, symbol: str, timeout_s: int) -> CancelAllAfter:
        """Arm the dead man's switch: open orders of `symbol` are cancelled `timeout_s` from
        now unless it is called again; 0 disarms it."""
        return self.client.cancel_all_after(symbol, timeout_s)

    def cancel_all(self, symbol: str) -> None:
        """Cancel every open (normal) order of `symbol`."""
        self.client.cancel_orders(symbol)

    def modify_trigger_order(
        self,
        symbol: str,
        order_id: str,
        *,
        trigger_price: Decimal,
        price_type: PriceType = PriceType.LAST,
        execution_price: Decimal | None = None,
    ) -> str:
        """Move a TP/SL trigger (market execution unless `execution_price`); its order id."""
        spec = self._spec(symbol)
        rules.check_price(spec, trigger_price, "trigger price")
        if execution_price is not None:
            rules.check_price(spec, execution_price, "execution price")
        ref = self.client.modify_tp_sl_order(
            symbol,
            order_id=order_id,
            trigger_price=trigger_price,
            price_type=int(price_type),
            executive_price=execution_price,
            category="market" if execution_price is None else "limit",
        )
        return ref.order_id

    def trades(
        self, symbol: str | None = None, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[Trade]:
        """Own fills (default: the last 7 days), with fees and realised PnL."""
        return self.client.trades(
            symbol,
            start_s=None if start_ms is None else start_ms // 1000,
            end_s=None if end_ms is None else -(-end_ms // 1000),
        )

    def fee_rates(self, symbol: str) -> FeeRate:
        """Maker and taker fee rates of the account on `symbol`."""
        return self.client.trade_fee_rate(symbol)

    def position_mode(self) -> PositionMode:
        return self.client.position_mode()

    # --- internals --------------------------------------------------------------------------

    def _spec(self, symbol: str) -> ContractSpec:
        cached = self._specs.get(symbol)
        if cached is not None and time.monotonic() - cached[0] < self.spec_ttl_s:
            return cached[1]
        stored = self.stored_spec(symbol) if self.stored_spec is not None else None
        if stored is not None:
            return self._remember(stored)
        return self.contract(symbol)

    def _remember(self, spec: ContractSpec) -> ContractSpec:
        self._specs[spec.symbol] = (time.monotonic(), spec)
        return spec

    def _recheck(
        self, exc: InvalidOrderError, check: Callable[[ContractSpec], None], symbol: str
    ) -> None:
        """After a rule rejection: check again on a fresh spec, whose error names the rule."""
        if exc.code in _RULE_CODES:
            check(self.contract(symbol))

    def _with_fee(self, order: Order) -> Order:
        """The order with its fee, or as it is (fee 0) when the fills cannot be read now."""
        try:
            return fees.with_fee(self.client, order, self.clock())
        except ExchangeError as exc:
            log.info("fee of order %s of %s not read (%s)", order.order_id, order.symbol, exc)
            return order

    def _new_client_id(self) -> str:
        return (self.client_id_prefix + uuid.uuid4().hex)[:32]


def _nothing_if_unknown_symbol(exc: NotFoundError) -> list[Any]:
    """A list read of a symbol the exchange does not know (40034) holds nothing, which an
    empty list says exactly; any other failure is raised again."""
    if exc.code != UNKNOWN_SYMBOL:
        raise exc
    return []


def _raise_finished(exc: NotFoundError | InvalidOrderError, what: str) -> NoReturn:
    """A cancel refused because the order is unknown or finished raises `NotFoundError`;
    other rejections are raised unchanged."""
    if isinstance(exc, InvalidOrderError) and exc.code not in _FINISHED_CODES:
        raise exc
    raise NotFoundError(f"{what}: {exc}", code=exc.code) from exc
