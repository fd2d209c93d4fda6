"""The venue behind the wire: a paper exchange on the fake's database, driven by the market
clock, with the cancel-all-after deadlines and the reads of the paper tables the port lacks."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from infra.models import PaperOrderRow
from providers import order_rules as rules
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.paper import PaperExchange
from providers.paper import rows as convert
from providers.paper.book import Working
from providers.paper.prices import Prices
from providers.paper.store import PaperStore
from providers.port import InvalidOrderError, NotFoundError
from providers.types import (
    ContractSpec,
    OpenType,
    Order,
    OrderType,
    PriceType,
    TriggerKind,
    TriggerOrder,
)

from .clocks import MarketClock
from .wire import WireError


@dataclass(frozen=True)
class Expiry:
    """A cancel-all-after deadline that passed: when, and the paper ids it cancelled."""

    symbol: str
    at_ms: int
    cancelled: tuple[str, ...]


@dataclass(frozen=True)
class Terms:
    """Money settings of the simulated account."""

    initial_balance: Decimal = Decimal(1000)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0006")
    slippage_bps: Decimal = Decimal(0)
    spread_bps: Decimal = Decimal(2)


class Venue:
    """The simulated account and market; every read sees the market clock's moment."""

    def __init__(
        self, engine: Engine, clock: MarketClock, terms: Terms, *, account: str = "default"
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.account = account
        self.terms = terms
        self._pinned: int | None = None
        self.paper = PaperExchange(
            engine,
            clock=self.now,
            account=account,
            initial_balance=terms.initial_balance,
            maker_fee=terms.maker_fee,
            taker_fee=terms.taker_fee,
            slippage_bps=terms.slippage_bps,
            spread_bps=terms.spread_bps,
        )
        self.contracts = ContractStore(engine)
        self.klines = KlineStore(engine)
        self.prices = Prices(self.klines)
        self.deadlines: dict[str, int] = {}
        self.expired: list[Expiry] = []
        self.position_mode = "hedge_mode"
        # Whether order-history lists open orders too; Bitmart's behaviour is not documented.
        self.history_includes_open = False

    def now(self) -> int:
        """The market clock, or the deadline being carried out."""
        return self._pinned if self._pinned is not None else self.clock.now()

    def spec(self, symbol: str) -> ContractSpec:
        found = self.contracts.find(symbol)
        if found is None:
            raise WireError(40034, f"unknown symbol {symbol!r}")
        return found

    def mark(self, symbol: str) -> Decimal | None:
        return self.prices.mark(symbol, self.now())

    # --- keeping up with the clock ------------------------------------------------------------

    def sync(self) -> None:
        """Carry out due deadlines, then simulate fills up to now."""
        self.expire()
        self.paper.open_orders()

    def arm(self, symbol: str, timeout_s: int) -> int:
        """Cancel `symbol`'s open orders `timeout_s` from now; the deadline in ms."""
        deadline = self.now() + timeout_s * 1000
        self.deadlines[symbol] = deadline
        return deadline

    def disarm(self, symbol: str) -> None:
        self.deadlines.pop(symbol, None)

    def expire(self) -> None:
        """Cancel the open orders of every symbol whose deadline passed, at that deadline."""
        now = self.clock.now()
        due = sorted((ms, symbol) for symbol, ms in self.deadlines.items() if ms <= now)
        for ms, symbol in due:
            del self.deadlines[symbol]
            # Fills up to the deadline count; nothing after it may fill an order it cancels.
            self._pinned = ms
            try:
                cancelled = self.cancel_all(symbol)
            finally:
                self._pinned = None
            self.expired.append(Expiry(symbol, ms, tuple(cancelled)))

    def cancel_all(self, symbol: str) -> list[str]:
        """Cancel every open order of `symbol`; their paper ids."""
        done: list[str] = []
        for order in self.paper.open_orders(symbol):
            try:
                self.paper.cancel_order(symbol, order_id=order.order_id)
            except NotFoundError:
                continue
            done.append(order.order_id)
        return done

    # --- reads the port does not offer --------------------------------------------------------

    def orders(self, symbol: str | None = None, *, open_only: bool = False) -> list[Working]:
        """Normal orders, oldest first, with the price type of their presets."""
        stmt = select(PaperOrderRow).where(
            PaperOrderRow.account == self.account, PaperOrderRow.kind == convert.NORMAL
        )
        if symbol is not None:
            stmt = stmt.where(PaperOrderRow.symbol == symbol)
        if open_only:
            stmt = stmt.where(PaperOrderRow.is_open.is_(True))
        with Session(self.engine) as session:
            found = [convert.working(row) for row in session.scalars(stmt)]
        return sorted(found, key=lambda w: convert.age(w.order))

    def working(self, symbol: str, order_id: str) -> Working | None:
        with Session(self.engine) as session:
            row = session.get(PaperOrderRow, (self.account, order_id))
            if row is None or row.symbol != symbol or row.kind != convert.NORMAL:
                return None
            return convert.working(row)

    def by_client(self, client_order_id: str) -> Order | TriggerOrder | None:
        with Session(self.engine) as session:
            return PaperStore(session, self.account).by_client(client_order_id)

    def leverage_setting(self, symbol: str) -> tuple[int, OpenType] | None:
        with Session(self.engine) as session:
            return PaperStore(session, self.account).leverage(symbol)

    def modify_trigger(
        self,
        symbol: str,
        order_id: str,
        *,
        trigger_price: Decimal,
        price_type: PriceType,
        execution_price: Decimal | None,
    ) -> TriggerOrder:
        """Move an active TP/SL in place. It is re-armed: it takes part from the next candle
        on, as a new trigger would, and shows the modification time as its creation time."""
        spec = self.spec(symbol)
        now = self.now()
        paper = self.paper
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            store = PaperStore(session, self.account)
            store.lock(paper.initial_balance, paper.currency)
            row = session.get(PaperOrderRow, (self.account, order_id))
            if row is None or row.symbol != symbol or row.kind == convert.NORMAL:
                raise NotFoundError(f"unknown trigger order {order_id} of {symbol}")
            trigger = convert.trigger(row)
            if not trigger.status.is_open:
                raise NotFoundError(f"trigger order {order_id} is no longer active")
            side = trigger.side.position_side
            holding = next((h for h in store.holdings(symbol) if h.side is side), None)
            if holding is None:
                raise WireError(40021, f"no open {side} position of {symbol}")
            kind = TriggerKind(row.kind)
            if kind is TriggerKind.PLAN:
                raise InvalidOrderError("plan orders are not simulated")
            rules.check_trigger(
                spec,
                kind=kind,
                position_side=side,
                trigger_price=trigger_price,
                last_price=self.prices.last_bar(symbol, now).close,
                size=trigger.size,
                position_size=holding.size,
                execution_price=execution_price,
            )
            row.trigger_price = trigger_price
            row.price_type = int(price_type)
            row.price = execution_price
            row.order_type = (
                OrderType.MARKET if execution_price is None else OrderType.LIMIT
            ).value
            row.created_ms = now
            row.updated_ms = now
            session.flush()
            return convert.trigger(row)
