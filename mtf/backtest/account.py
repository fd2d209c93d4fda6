"""The backtest account's money and books: the paper exchange's order intake, cancels and
fills on in-memory books, the wallet they move, and trades assembled from fills (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from mtf.backtest.market import SymbolMarket
from mtf.backtest.records import Trade, TradeFill
from mtf.backtest.state import SymbolState, exit_reason
from providers import order_rules as rules
from providers.paper import book as books
from providers.paper import intake, ledger, matching
from providers.paper.book import Book, Costs, Working
from providers.port import ExchangeError, InsufficientBalanceError
from providers.types import Order, OrderRequest, OrderSide, OrderStatus, OrderType, TriggerOrder


class Account:
    """The symbols' books and the wallet (initial balance, plus realized P&L, minus fees)."""

    def __init__(self, markets: Sequence[SymbolMarket], costs: Costs, balance: Decimal) -> None:
        self.costs = costs
        self.wallet = balance
        self.names = sorted(m.symbol for m in markets)
        self.symbols = {m.symbol: SymbolState(m, Book(m.spec)) for m in markets}
        self.trades: list[Trade] = []

    def balance(self, now: int) -> tuple[Decimal, Decimal, Decimal]:
        """(equity, available, wallet) at `now`, positions marked at the last closed bar."""
        positions = []
        reserved = Decimal(0)
        for name in self.names:
            state = self.symbols[name]
            if state.book.holdings:
                mark = state.market.mark(now)
                for holding in state.book.holdings:
                    price = mark if mark is not None else holding.entry_price
                    positions.append(ledger.position(holding, state.market.spec, price))
            for working in state.book.orders:
                reserved += ledger.reserved(state.market.spec, working.order)
        balance = ledger.balance("USDT", self.wallet, positions, reserved)
        return balance.equity, balance.available, balance.equity - balance.unrealized_pnl

    def submit(self, state: SymbolState, request: OrderRequest, now: int) -> str:
        """`PaperExchange.submit_order` on the in-memory book."""
        spec = state.market.spec
        rules.check_request(spec, request)
        bar = state.market.last_bar(now)
        if bar is None:
            raise ExchangeError(f"no closed candle of {spec.symbol}: no price to trade at")
        book = state.book
        leverage, open_type = intake.terms(book, request, None)
        book, order_id = books.allocate(book)
        order = intake.new_order(order_id, request, leverage, open_type, now)
        quote = state.market.quote(now)
        assert quote is not None
        outcome = matching.decide(spec, order, quote, bar.close, self.costs)
        if not request.side.is_close:
            rules.check_presets(spec, request, outcome.price)
        need = matching.cost(spec, order, outcome, self.costs)
        if need > 0:
            available = self.balance(now)[1]
            if need > available:
                raise InsufficientBalanceError(
                    f"order of {request.size:f} {spec.symbol} needs {need:f} USDT; "
                    f"available {available:f}"
                )
        working = Working(order, request.preset_price_type)
        state.book = matching.admit(book, working, outcome, ms=now, costs=self.costs)
        return order_id

    def cancel(self, state: SymbolState, order_id: str, now: int) -> Order:
        if state.book.working(order_id) is not None:
            state.book = books.finish(state.book, order_id, now)
        return state.latest(order_id)

    def close(self, state: SymbolState, now: int, reason: str) -> None:
        """A reduce-only market order for the whole position at the last close."""
        for holding in list(state.book.holdings):
            request = OrderRequest(
                symbol=state.market.symbol,
                side=OrderSide.close(holding.side),
                type=OrderType.MARKET,
                size=holding.size,
            )
            order_id = self.submit(state, request, now)
            state.reasons[order_id] = reason

    def harvest(self, state: SymbolState, now: int) -> bool:
        """Move the book's new fills into the trade and the wallet; True when any."""
        book = state.book
        if not book.fills and not book.journal:
            self.complete(state, now)
            return False
        fired: dict[str, TriggerOrder] = {}
        pending: TriggerOrder | None = None
        for item in book.journal:
            if isinstance(item, TriggerOrder):
                pending = item if item.status is OrderStatus.FILLED else pending
                continue
            state.orders[item.order.order_id] = item.order
            if pending is not None:
                fired[item.order.order_id] = pending
                pending = None
        trade = state.trade
        for fill in book.fills:
            self.wallet += fill.realized_pnl - fill.fee
            if trade is None:
                continue
            opening = not fill.side.is_close
            if opening:
                reason = state.reasons.get(fill.order_id) or ("limit" if fill.maker else "market")
            else:
                trigger = fired.get(fill.order_id)
                reason = state.reasons.get(fill.order_id) or exit_reason(trigger)
            trade.fills.append(
                TradeFill(
                    fill.ms,
                    "entry" if opening else "exit",
                    fill.price,
                    fill.size,
                    fill.fee,
                    fill.realized_pnl,
                    fill.maker,
                    reason,
                )
            )
        any_fill = bool(book.fills)
        state.book = replace(book, journal=(), fills=())
        self.complete(state, now)
        return any_fill

    def complete(self, state: SymbolState, now: int) -> None:
        """Flat again after an entry that filled: the trade is complete."""
        trade = state.trade
        if trade is None or not trade.fills or state.book.holdings or state.entry is not None:
            return
        self.trades.append(trade)
        state.trade = None
        state.intent = None
        state.last_exit_ms = trade.exit_ms
        for working in list(state.book.orders):
            state.book = books.finish(state.book, working.order.order_id, now)
        state.book = replace(state.book, journal=())
