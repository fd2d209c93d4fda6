"""`PaperExchange`: the exchange port simulated on stored candles, its state in the database.

Every call reads the clock once, locks the account, brings every symbol with open orders or
triggers up to that moment (`providers.paper.fills` over the finest stored timeframe, from a
per-symbol cursor so each candle is applied once), then does its work in the same
transaction. A restart therefore loses nothing, and a repeated call changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from infra import clock
from infra.settings import Settings
from providers import order_rules as rules
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.paper import book as books
from providers.paper import fills, intake, ledger, matching
from providers.paper.book import Costs, Working
from providers.paper.prices import Prices
from providers.paper.quotes import top_of_book
from providers.paper.store import PaperStore
from providers.port import InsufficientBalanceError, InvalidOrderError, NotFoundError
from providers.timeframes import Timeframe
from providers.types import (
    Balance,
    ContractSpec,
    Fill,
    OpenType,
    Order,
    OrderRequest,
    OrderStatus,
    Position,
    PositionSide,
    PriceType,
    TopOfBook,
    TriggerKind,
    TriggerOrder,
)

Clock = Callable[[], int]
#: How far back `fills()` looks by default, as Bitmart's trades endpoint does.
FILLS_DEFAULT_MS = 7 * 86_400_000


def wall_clock() -> int:
    """Now on the cluster's clock (`infra.clock`), in epoch milliseconds."""
    return clock.now_ms()


class PaperExchange:
    """A simulated Bitmart futures account (hedge mode) over the kline and contract stores."""

    name = "paper"

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock,
        account: str = "default",
        initial_balance: Decimal = Decimal(1000),
        maker_fee: Decimal = Decimal("0.0002"),
        taker_fee: Decimal = Decimal("0.0006"),
        slippage_bps: Decimal = Decimal(2),
        spread_bps: Decimal = Decimal(2),
        currency: str = "USDT",
    ) -> None:
        if not initial_balance.is_finite() or initial_balance <= 0:
            raise ValueError(f"initial_balance must be positive, got {initial_balance}")
        for label, value in (
            ("maker_fee", maker_fee),
            ("taker_fee", taker_fee),
            ("slippage_bps", slippage_bps),
            ("spread_bps", spread_bps),
        ):
            if not value.is_finite() or value < 0:
                raise ValueError(f"{label} must be zero or positive, got {value}")
        if not 1 <= len(account) <= 40:
            raise ValueError(f"account name must be 1-40 characters, got {account!r}")
        self.engine = engine
        self.clock = clock
        self.account = account
        self.initial_balance = initial_balance
        self.currency = currency
        self.costs = Costs(maker_fee, taker_fee, slippage_bps)
        self.spread_bps = spread_bps
        self.contract_store = ContractStore(engine)
        self.kline_store = KlineStore(engine)
        self.prices = Prices(self.kline_store)

    @classmethod
    def from_settings(
        cls,
        engine: Engine,
        settings: Settings,
        clock: Clock = wall_clock,
        *,
        account: str = "default",
    ) -> PaperExchange:
        """A paper exchange configured by the `paper_*` settings."""
        return cls(
            engine,
            clock=clock,
            account=account,
            initial_balance=Decimal(str(settings.paper_balance)),
            maker_fee=Decimal(str(settings.paper_maker_fee)),
            taker_fee=Decimal(str(settings.paper_taker_fee)),
            slippage_bps=Decimal(str(settings.paper_slippage_bps)),
            spread_bps=Decimal(str(settings.paper_spread_bps)),
        )

    # --- market data ------------------------------------------------------------------------

    def contracts(self) -> list[ContractSpec]:
        """All stored contracts."""
        return self.contract_store.all()

    def contract(self, symbol: str) -> ContractSpec:
        """One contract; `NotFoundError` when unknown."""
        return self.contract_store.get(symbol)

    def klines(self, symbol: str, timeframe: Timeframe, start_ms: int, end_ms: int) -> Candles:
        """Candles closed at the clock with open time in [start_ms, end_ms)."""
        self.contract(symbol)
        closed_end = timeframe.last_closed_open_ms(self.clock()) + 1
        return self.kline_store.load_range(symbol, timeframe, start_ms, min(end_ms, closed_end))

    def top_of_book(self, symbol: str) -> TopOfBook:
        """A quote derived from the last closed candle (see `quotes.top_of_book`)."""
        spec = self.contract(symbol)
        return top_of_book(spec, self.prices.last_bar(symbol, self.clock()), self.spread_bps)

    # --- account ----------------------------------------------------------------------------

    def balance(self) -> Balance:
        now = self.clock()
        with self._state(now) as store:
            return self._balance(store, now)

    def positions(self, symbol: str | None = None) -> list[Position]:
        now = self.clock()
        with self._state(now) as store:
            return self._positions(store, now, symbol)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self._state(self.clock()) as store:
            return store.open_orders(symbol)

    def trigger_orders(self, symbol: str | None = None) -> list[TriggerOrder]:
        with self._state(self.clock()) as store:
            return store.triggers(symbol)

    def fills(self, symbol: str | None = None, *, since_ms: int | None = None) -> list[Fill]:
        now = self.clock()
        since = now - FILLS_DEFAULT_MS if since_ms is None else since_ms
        with self._state(now) as store:
            return store.fills(symbol, since)

    def order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        """One normal order by id or client id; `NotFoundError` when unknown."""
        with self._state(self.clock()) as store:
            return store.order(symbol, order_id=order_id, client_order_id=client_order_id)

    def set_leverage(self, symbol: str, leverage: int, open_type: OpenType) -> int:
        """Leverage of new orders of `symbol`; open positions are re-margined at it.

        Changing the margin type while a position of the symbol is open is refused, as on
        Bitmart; the extra margin of a lower leverage must fit in the available balance.
        """
        spec = self.contract(symbol)
        rules.check_leverage(spec, leverage)
        now = self.clock()
        with self._state(now) as store:
            book = store.load_book(spec)
            for holding in book.holdings:
                if holding.open_type is not open_type:
                    raise InvalidOrderError(
                        f"cannot change the margin type of {symbol} from {holding.open_type} to "
                        f"{open_type} while a {holding.side} position is open"
                    )
            moved = tuple(ledger.releverage(h, spec, leverage, now) for h in book.holdings)
            extra = sum((m.margin for m in moved), ledger.ZERO) - sum(
                (h.margin for h in book.holdings), ledger.ZERO
            )
            if extra > 0:
                available = self._balance(store, now).available
                if extra > available:
                    raise InsufficientBalanceError(
                        f"leverage {leverage} on {symbol} needs {extra:f} {self.currency} more "
                        f"margin; available {available:f}"
                    )
            store.save_book(books.rehold(book, moved), now)
            store.set_leverage(symbol, leverage, open_type)
        return leverage

    # --- orders -----------------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> Order:
        """Validate, margin-check and match a new order (see `providers.paper.matching`).

        A `client_order_id` already used returns that order; reusing it for a different
        order raises `DuplicateOrderError`.
        """
        spec = self.contract(request.symbol)
        now = self.clock()
        with self._state(now) as store:
            if request.client_order_id is not None:
                rules.check_client_order_id(request.client_order_id)
                existing = store.by_client(request.client_order_id)
                if existing is not None:
                    return intake.repeated_order(existing, request)
            rules.check_request(spec, request)
            bar = self.prices.last_bar(spec.symbol, now)
            book = store.load_book(spec)
            leverage, open_type = intake.terms(book, request, store.leverage(spec.symbol))
            book, order_id = books.allocate(book)
            order = intake.new_order(order_id, request, leverage, open_type, now)
            quote = top_of_book(spec, bar, self.spread_bps)
            outcome = matching.decide(spec, order, quote, bar.close, self.costs)
            if not request.side.is_close:
                rules.check_presets(spec, request, outcome.price)
            need = matching.cost(spec, order, outcome, self.costs)
            if need > 0:
                available = self._balance(store, now).available
                if need > available:
                    raise InsufficientBalanceError(
                        f"order of {request.size:f} {spec.symbol} needs {need:f} {self.currency} "
                        f"(margin at leverage {leverage} plus fee); available {available:f}"
                    )
            working = Working(order, request.preset_price_type)
            book = matching.admit(book, working, outcome, ms=now, costs=self.costs)
            store.save_book(book, now)
            return book.latest(order_id)

    def cancel_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel an open order; `NotFoundError` if it is unknown or already finished."""
        spec = self.contract(symbol)
        now = self.clock()
        with self._state(now) as store:
            order = store.order(symbol, order_id=order_id, client_order_id=client_order_id)
            if not order.status.is_open:
                raise NotFoundError(f"order {order.order_id} of {symbol} is already {order.status}")
            store.save_book(books.finish(store.load_book(spec), order.order_id, now), now)

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
        """Attach a take-profit or stop-loss to the open position of `position_side`.

        `size` None closes the whole position; `execution_price` None executes at market.
        `NotFoundError` without such a position; `InvalidOrderError` when the trigger is off
        the tick grid or on the wrong side of the last price.
        """
        spec = self.contract(symbol)
        now = self.clock()
        with self._state(now) as store:
            if client_order_id is not None:
                rules.check_client_order_id(client_order_id)
                existing = store.by_client(client_order_id)
                if existing is not None:
                    return intake.repeated_trigger(
                        existing, symbol, kind, position_side, trigger_price
                    )
            book = store.load_book(spec)
            holding = book.holding(position_side)
            if holding is None:
                raise NotFoundError(
                    f"no open {position_side} position of {symbol} to attach a {kind} to"
                )
            rules.check_trigger(
                spec,
                kind=kind,
                position_side=position_side,
                trigger_price=trigger_price,
                last_price=self.prices.last_bar(symbol, now).close,
                size=size,
                position_size=holding.size,
                execution_price=execution_price,
            )
            book, order_id = books.allocate(book)
            trigger = intake.new_trigger(
                order_id,
                symbol,
                kind=kind,
                position_side=position_side,
                trigger_price=trigger_price,
                size=size,
                execution_price=execution_price,
                price_type=price_type,
                client_order_id=client_order_id,
                now=now,
            )
            store.save_book(books.attach(book, trigger), now)
            return trigger

    def cancel_trigger_order(self, symbol: str, order_id: str) -> None:
        """Cancel an active trigger; `NotFoundError` if it is unknown or no longer active."""
        spec = self.contract(symbol)
        now = self.clock()
        with self._state(now) as store:
            trigger = store.trigger(symbol, order_id)
            if not trigger.status.is_open:
                raise NotFoundError(
                    f"trigger order {order_id} of {symbol} is no longer active ({trigger.status})"
                )
            book = books.detach(store.load_book(spec), order_id, OrderStatus.CANCELLED)
            store.save_book(book, now)

    # --- internals --------------------------------------------------------------------------

    @contextmanager
    def _state(self, now: int) -> Iterator[PaperStore]:
        """A locked account brought up to `now`, committed when the block succeeds."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            store = PaperStore(session, self.account)
            store.lock(self.initial_balance, self.currency)
            for symbol in store.symbols_with_work():
                self._advance(store, symbol, now)
            yield store

    def _advance(self, store: PaperStore, symbol: str, now: int) -> None:
        """Simulate fills of one symbol over the bars closed since its cursor."""
        book = store.load_book(self.contract(symbol))
        created = [w.order.created_ms for w in book.orders] + [t.created_ms for t in book.triggers]
        if not created:
            return
        cursor = store.cursor(symbol)
        # Bars before the oldest order can fill nothing: start there if the cursor lags.
        start = min(created) if cursor is None else max(cursor, min(created))
        walk, next_cursor = self.prices.closed_since(symbol, start, now)
        if next_cursor is None:
            return
        store.save_book(fills.simulate(book, walk, self.costs), now)
        store.set_cursor(symbol, next_cursor)

    def _positions(self, store: PaperStore, now: int, symbol: str | None) -> list[Position]:
        out: list[Position] = []
        specs: dict[str, ContractSpec] = {}
        for holding in store.holdings(symbol):
            spec = specs.get(holding.symbol) or self.contract(holding.symbol)
            specs[holding.symbol] = spec
            mark = self.prices.mark(holding.symbol, now)
            # Without a price at the clock a position is marked at its entry (no PnL shown).
            out.append(
                ledger.position(holding, spec, holding.entry_price if mark is None else mark)
            )
        return out

    def _balance(self, store: PaperStore, now: int) -> Balance:
        account = store.account_state()
        specs: dict[str, ContractSpec] = {}
        reserved = ledger.ZERO
        for order in store.open_orders():
            spec = specs.get(order.symbol) or self.contract(order.symbol)
            specs[order.symbol] = spec
            reserved += ledger.reserved(spec, order)
        positions = self._positions(store, now, None)
        return ledger.balance(account.currency, account.wallet, positions, reserved)
