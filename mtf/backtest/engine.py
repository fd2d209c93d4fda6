"""The backtest's account over time (pure): READY signals through the live entry path, fills
from candles, the order lifecycle and protection, in time order across symbols.

Each step is the code the live engine runs, fed from memory instead of an exchange and a
ledger:

* a READY symbol with a position or an entry is left out (the cycle's open-state filter);
* the snapshot (`tradeentry.snapshot.market_numbers`, the paper quote of the last closed bar,
  the account's balance) and `tradeentry.planner.plan_trade`; a refusal is `skipped`;
* the risk limits (`tradeentry.risk.check_limits`: concurrent positions and entries, the UTC
  day's loss from the day's first look, the cool-down after an exit); a breach is `blocked`;
* the entry as the paper exchange takes it (`providers.paper.intake` / `matching`): a market
  order fills at the last close moved by slippage, a maker-only limit that would take is
  rejected, a limit rests with the plan's stop and final target preset on it;
* the watcher's decision (`tradeentry.watcher.decide_watch`) at every bar close while the
  entry rests, at the start of the end-of-zone window and at the zone's end: fill, fall back to
  a taker order, or cancel;
* fills from 1m candles (`providers.paper.fills.step`: the adverse path first, so a stop and a
  target inside one candle take the stop), the presets armed at the entry's fill, and the
  TP/SL sweep's plan (`tradeentry.protection.plan_protection`: the first of two targets)
  after each fill, placed a moment after the bar that filled;
* maker and taker fees and slippage from `providers.paper.book.Costs`.

Only bars that can fill something are stepped: each symbol's next event is found by a search
over the candle columns for the prices its orders and triggers wait for.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mtf.backtest.account import Account
from mtf.backtest.market import SymbolMarket
from mtf.backtest.records import BacktestSignal, SignalOutcome, SimResult, Trade
from mtf.backtest.state import (
    Entry,
    SymbolState,
    look_times,
    next_event_bar,
    recorded,
    utc,
)
from mtf.report import decision_key
from providers.paper import book as books
from providers.paper import fills as bar_fills
from providers.paper import intake, ledger
from providers.paper.book import Costs
from providers.port import ExchangeError
from providers.timeframes import Timeframe
from providers.types import (
    OpenType,
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TopOfBook,
)
from tradeentry.config import TradeEntryConfig
from tradeentry.execute import limits_of, price_type_of
from tradeentry.follow import fallback_risk, fallback_rule, taker_client_id
from tradeentry.ids import client_order_id
from tradeentry.model import Signal, Skip, Snapshot
from tradeentry.planner import plan_trade
from tradeentry.protection import ActionKind, intent_from_plan, plan_protection
from tradeentry.risk import RiskState, check_limits
from tradeentry.watcher import WatchAction, decide_watch, fallback_size

MINUTE = Timeframe.M1.ms
#: Protection placed after a fill is placed a moment after the bar that showed the fill, so it
#: waits for the next bar (a live sweep runs seconds after the close).
AFTER_FILL_MS = 1
# Phases of events at the same moment: a bar's fills are known before anyone looks.
_BAR, _LOOK, _SIGNAL = 0, 1, 2

Progress = Callable[[int, int], None]


class Simulation:
    """One backtest account; `run` consumes the signals in time order."""

    def __init__(
        self,
        config: TradeEntryConfig,
        markets: Sequence[SymbolMarket],
        costs: Costs,
        balance: Decimal,
        start_ms: int,
        end_ms: int,
    ) -> None:
        self.config = config
        self.costs = costs
        self.limits = limits_of(config)
        self.watch_rule = fallback_rule(config)
        self.price_type = price_type_of(config)
        self.balance0 = balance
        self.account = Account(markets, costs, balance)
        self.start_ms, self.end_ms = start_ms, end_ms
        self.rank = {name: i for i, name in enumerate(self.account.names)}
        self.heap: list[tuple[int, int, int, int, int]] = []
        self.outcomes: list[SignalOutcome] = []
        self.baselines: dict[str, tuple[Decimal, Decimal]] = {}
        self._seq = 0

    # --- the event loop -----------------------------------------------------------------------

    def run(self, signals: Sequence[BacktestSignal], progress: Progress | None = None) -> SimResult:
        ordered = sorted(signals, key=lambda s: (s.moment_ms, self.rank[s.symbol]))
        for i, signal in enumerate(ordered):
            self._push(signal.moment_ms, _SIGNAL, signal.symbol, i)
        done = 0
        while self.heap:
            when, phase, rank, _, payload = heapq.heappop(self.heap)
            if when > self.end_ms:
                break
            state = self.account.symbols[self.account.names[rank]]
            if phase == _SIGNAL:
                self._signal(ordered[payload])
                done += 1
                if progress is not None and done % 256 == 0:
                    progress(done, len(ordered))
            elif payload == state.version:
                if phase == _BAR:
                    self._bar(state, when)
                else:
                    self._look(state, when)
        for name in self.account.names:
            self._finish(self.account.symbols[name])
        if progress is not None:
            progress(len(ordered), len(ordered))
        return SimResult(
            self.account.trades,
            self.outcomes,
            self.account.wallet,
            self.balance0,
            self.start_ms,
            self.end_ms,
        )

    def _push(self, when: int, phase: int, symbol: str, payload: int) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (when, phase, self.rank[symbol], self._seq, payload))

    def _reschedule(self, state: SymbolState, now: int, *, look_now: bool = False) -> None:
        """Forget the symbol's pending events and plan its next bar and next look (a look at
        `now` itself too when `look_now`: a bar's close comes before the look at that time)."""
        state.version += 1
        market = state.market
        state.cursor = max(state.cursor, market.bar_index(now) + 1)
        index = next_event_bar(state, self.end_ms)
        if index is not None:
            close = int(market.bars.open_time[index]) + MINUTE
            self._push(close, _BAR, market.symbol, state.version)
        entry = state.entry
        if entry is not None:
            later = [t for t in entry.looks if t > now or (look_now and t == now)]
            entry.looks = later
            if later:
                self._push(later[0], _LOOK, market.symbol, state.version)

    # --- account ------------------------------------------------------------------------------

    def _risk_state(self, symbol: str, now: int) -> RiskState:
        equity, _, wallet = self.account.balance(now)
        day = datetime.fromtimestamp(now / 1000, UTC).strftime("%Y-%m-%d")
        base_equity, base_wallet = self.baselines.setdefault(day, (equity, wallet))
        positions = frozenset(
            n for n in self.account.names if self.account.symbols[n].book.holdings
        )
        pending = (
            frozenset(n for n in self.account.names if self.account.symbols[n].entry is not None)
            - positions
        )
        last = self.account.symbols[symbol].last_exit_ms
        return RiskState(
            symbol=symbol,
            open_positions=positions,
            pending_entries=pending - positions,
            baseline_equity=base_equity,
            baseline_wallet=base_wallet,
            equity=equity,
            wallet=wallet,
            last_exit=None if last is None else utc(last),
            now=utc(now),
        )

    # --- a READY signal -----------------------------------------------------------------------

    def _outcome(self, signal: BacktestSignal, status: str, **extra: Any) -> int:
        self.outcomes.append(
            SignalOutcome(
                signal.moment_ms,
                signal.symbol,
                signal.side.value,
                signal.timeframe.value,
                status,
                **extra,
            )
        )
        return len(self.outcomes) - 1

    def _signal(self, signal: BacktestSignal) -> None:
        state = self.account.symbols[signal.symbol]
        now = signal.moment_ms
        if state.book.holdings or state.entry is not None or state.book.orders:
            self._outcome(signal, "busy", detail="open position or entry: left out of the cycle")
            return
        market = state.market
        quote = market.quote(now)
        if quote is None:
            self._outcome(signal, "error", detail="no closed 1m candle to price from")
            return
        config = self.config
        candle_open = signal.timeframe.last_closed_open_ms(now)
        key = decision_key(signal.symbol, signal.timeframe.value, candle_open)
        numbers = market.numbers(
            now,
            config.stop.atr_timeframe or signal.timeframe,
            config.entry_zone.timeframe,
            config.entry_zone.anchor,
        )
        equity, available, _ = self.account.balance(now)
        snapshot = Snapshot(
            spec=market.spec,
            book=quote,
            equity=equity,
            available=available,
            atr=numbers.atr,
            anchor=numbers.anchor,
            anchor_kind=numbers.anchor_kind,
            pivots=numbers.pivots,
            now_ms=now,
            zone_atr=numbers.zone_atr,
        )
        plan = plan_trade(
            Signal(
                symbol=signal.symbol,
                side=signal.side,
                timeframe=signal.timeframe.value,
                profile=config.name,
                decision_key=key,
                candle_open_ms=candle_open,
                as_of_ms=now,
            ),
            snapshot,
            config,
        )
        if isinstance(plan, Skip):
            self._outcome(signal, "skipped", reason=plan.reason.value, detail=plan.detail)
            return
        breach = check_limits(self._risk_state(signal.symbol, now), self.limits)
        if breach is not None:
            self._outcome(signal, "blocked", reason=breach.limit, detail=breach.detail, plan=plan)
            return
        index = self._outcome(signal, "submitted", plan=plan)
        request = OrderRequest(
            symbol=plan.symbol,
            side=OrderSide.open(plan.side),
            type=plan.order_type,
            size=plan.size,
            price=plan.entry_price if plan.order_type is OrderType.LIMIT else None,
            mode=plan.mode,
            client_order_id=client_order_id(key),
            leverage=plan.leverage,
            open_type=OpenType.ISOLATED,
            preset_take_profit=plan.take_profit,
            preset_stop_loss=plan.stop_loss,
            preset_price_type=self.price_type,
        )
        try:
            order_id = self.account.submit(state, request, now)
        except ExchangeError as exc:
            self._settle_outcome(index, "rejected", f"{type(exc).__name__}: {exc}")
            return
        assert plan.zone is not None
        zone = plan.zone
        entry = Entry(key, signal, plan, zone, order_id, [], index)
        entry.looks = look_times(
            market,
            now,
            zone.expires_ms,
            self.watch_rule.enabled,
            self.watch_rule.seconds_before_expiry,
        )
        state.entry = entry
        state.trade = Trade(
            signal.symbol,
            signal.side,
            key,
            now,
            signal.timeframe.value,
            plan.stop_loss,
            market.spec.contract_size,
            plan,
        )
        self.account.harvest(state, now)
        self._look(state, now)

    def _settle_outcome(self, index: int, status: str, detail: str | None = None) -> None:
        current = self.outcomes[index]
        self.outcomes[index] = replace(
            current, status=status, detail=detail if detail is not None else current.detail
        )

    # --- the entry's lifecycle ----------------------------------------------------------------

    def _look(self, state: SymbolState, now: int) -> None:
        """`tradeentry.follow.follow_entry` on the in-memory book."""
        entry = state.entry
        if entry is None:
            self._reschedule(state, now)
            return
        market = state.market
        taker = entry.taker_id is not None
        order_id = entry.taker_id if taker else entry.order_id
        assert order_id is not None
        order = state.latest(order_id)
        zone, rule = entry.zone, self.watch_rule
        if taker:  # a market order filled or refused at once: never a second fallback
            rule = replace(rule, enabled=False)
        book = None
        if rule.enabled and (zone.expires_ms - now) / 1000 <= rule.seconds_before_expiry:
            book = market.quote(now)
        decision = decide_watch(order, zone, book, now, rule, self.config.watcher.poll_seconds)
        action = decision.action
        if action is WatchAction.WAIT:
            self._reschedule(state, now)
            return
        if action is WatchAction.PROTECT:
            self._entered(state, now, entry.filled + order.filled_size)
            return
        if action is WatchAction.DONE:
            self._ended(state, now, order, order.status.value, decision.detail)
            return
        order = self.account.cancel(state, order_id, now)
        if action is WatchAction.CANCEL or order.status is OrderStatus.FILLED:
            self._ended(state, now, order, "expired", decision.detail)
            return
        assert book is not None  # a fallback is only decided on a book
        self._fall_back(state, now, order, decision.detail, book)

    def _ended(self, state: SymbolState, now: int, order: Order, status: str, detail: str) -> None:
        entry = state.entry
        assert entry is not None
        filled = entry.filled + order.filled_size
        if filled > 0:
            self._entered(state, now, filled)
            return
        self._settle_outcome(entry.outcome_index, status, detail)
        state.entry = None
        state.trade = None
        self._reschedule(state, now)

    def _fall_back(
        self, state: SymbolState, now: int, limit: Order, detail: str, book: TopOfBook
    ) -> None:
        """`tradeentry.follow`'s taker fallback, sized by the same `fallback_size`."""
        entry = state.entry
        assert entry is not None
        spec = state.market.spec
        rest = limit.size - limit.filled_size
        if rest < spec.min_volume:
            self._entered(state, now, limit.filled_size)
            return
        plan = entry.plan
        sized = fallback_size(fallback_risk(recorded(plan), limit, self.config), rest, book, spec)
        if isinstance(sized, str):
            self._ended(state, now, limit, "expired", f"no fallback: {sized}")
            return
        rest = sized
        bare = limit.filled_size == 0
        request = OrderRequest(
            symbol=spec.symbol,
            side=OrderSide.open(plan.side),
            type=OrderType.MARKET,
            size=rest,
            client_order_id=taker_client_id(entry.key),
            leverage=plan.leverage,
            preset_take_profit=plan.take_profit if bare else None,
            preset_stop_loss=plan.stop_loss if bare else None,
            preset_price_type=self.price_type,
        )
        entry.filled = limit.filled_size
        try:
            entry.taker_id = self.account.submit(state, request, now)
        except ExchangeError as exc:
            self._ended(state, now, limit, "rejected", f"fallback refused: {exc}")
            return
        state.reasons[entry.taker_id] = "fallback"
        self.account.harvest(state, now)
        self._look(state, now)

    def _entered(self, state: SymbolState, now: int, filled: Decimal) -> None:
        """The entry is done with `filled` contracts: protect the position (TP/SL sweep)."""
        entry = state.entry
        assert entry is not None
        self._settle_outcome(entry.outcome_index, "filled", f"{filled:f} contracts")
        state.intent = intent_from_plan(entry.key, recorded(entry.plan), filled, state.market.spec)
        state.entry = None
        self._protect(state, now)

    def _protect(self, state: SymbolState, now: int) -> None:
        """`tradeentry.sweep.sweep` for the symbol's position, acting on the book."""
        intent = state.intent
        market = state.market
        for holding in list(state.book.holdings):
            if intent is None:
                break
            mark = market.mark(now)
            position = ledger.position(holding, market.spec, mark or holding.entry_price)
            last = mark if mark is not None else holding.entry_price
            plan = plan_protection(position, list(state.book.triggers), intent, market.spec, last)
            placed_at = now + AFTER_FILL_MS
            for action in plan.actions:
                if action.kind is ActionKind.PLACE:
                    assert action.trigger_kind is not None and action.price is not None
                    book, trigger_id = books.allocate(state.book)
                    trigger = intake.new_trigger(
                        trigger_id,
                        market.symbol,
                        kind=action.trigger_kind,
                        position_side=holding.side,
                        trigger_price=action.price,
                        size=action.size,
                        execution_price=None,
                        price_type=self.price_type,
                        client_order_id=action.client_order_id,
                        now=placed_at,
                    )
                    state.book = books.attach(book, trigger)
                elif action.kind is ActionKind.CANCEL:
                    assert action.order_id is not None
                    if state.book.trigger(action.order_id) is not None:
                        state.book = books.detach(
                            state.book, action.order_id, OrderStatus.CANCELLED
                        )
                else:
                    self.account.close(state, now, "close")
        self.account.harvest(state, now)
        self._reschedule(state, now)

    # --- bars ---------------------------------------------------------------------------------

    def _bar(self, state: SymbolState, close_ms: int) -> None:
        index = state.market.bar_index(close_ms)
        state.book = bar_fills.step(state.book, state.market.bar(index), self.costs)
        state.cursor = index + 1
        filled = self.account.harvest(state, close_ms)
        if filled and state.entry is None and state.book.holdings and state.intent is not None:
            self._protect(state, close_ms)  # an exit changed the position: sweep again
            return
        self._reschedule(state, close_ms, look_now=True)

    def _finish(self, state: SymbolState) -> None:
        """At the end of the range: cancel resting entries, close positions at the last close."""
        end = self.end_ms
        if state.entry is not None:
            order_id = state.entry.taker_id or state.entry.order_id
            order = self.account.cancel(state, order_id, end)
            self._ended(state, end, order, "expired", "the backtest ended")
        if state.book.holdings:
            for trigger in list(state.book.triggers):
                state.book = books.detach(state.book, trigger.order_id, OrderStatus.CANCELLED)
            self.account.close(state, end, "end")
            self.account.harvest(state, end)


def simulate(
    config: TradeEntryConfig,
    markets: Sequence[SymbolMarket],
    signals: Sequence[BacktestSignal],
    *,
    costs: Costs,
    balance: Decimal,
    start_ms: int,
    end_ms: int,
    progress: Progress | None = None,
) -> SimResult:
    """The account's trades and the fate of every signal over [start_ms, end_ms] (pure)."""
    return Simulation(config, markets, costs, balance, start_ms, end_ms).run(signals, progress)
