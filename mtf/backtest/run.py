"""One backtest from loaded candles to its report: the signals of every symbol, then the
account's trades, then the report. No I/O: the caller loads (`mtf.backtest.data`) and keeps
(`mtf.backtest.store`). A sweep runs the same two stages as separate parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mtf.backtest.data import Loaded, markets
from mtf.backtest.engine import simulate
from mtf.backtest.overrides import ProfilePair
from mtf.backtest.report import build_report
from mtf.backtest.request import BacktestRequest
from mtf.backtest.signals import SymbolSignals, symbol_signals
from providers.paper.book import Costs

#: (stage, done, total): "decisions" per symbol, then "trades" per signal.
Progress = Callable[[str, int, int], None]


def costs_of(request: BacktestRequest) -> Costs:
    return Costs(request.maker_fee, request.taker_fee, request.slippage_bps)


def signals_of(
    pair: ProfilePair,
    request: BacktestRequest,
    loaded: Loaded,
    symbol: str,
) -> SymbolSignals:
    return symbol_signals(
        pair.profile, symbol, loaded.candles[symbol], request.start_ms, request.end_ms
    )


def trades_of(
    pair: ProfilePair,
    request: BacktestRequest,
    loaded: Loaded,
    signals: Sequence[SymbolSignals],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The account over the range given every symbol's signals: the report."""
    by_symbol = markets(pair, loaded, request.spread_bps)
    result = simulate(
        pair.config,
        list(by_symbol.values()),
        [s for symbol in signals for s in symbol.signals()],
        costs=costs_of(request),
        balance=request.balance,
        start_ms=request.start_ms,
        end_ms=request.end_ms,
        progress=(lambda done, total: progress("trades", done, total)) if progress else None,
    )
    meta = {
        "profile": request.profile,
        "symbols": list(request.symbols),
        "request": request.to_dict(),
    }
    return build_report(result, by_symbol, signals, meta)


def run(
    pair: ProfilePair,
    request: BacktestRequest,
    loaded: Loaded,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole backtest in this process."""
    signals = []
    for i, symbol in enumerate(request.symbols):
        if progress:
            progress("decisions", i, len(request.symbols))
        signals.append(signals_of(pair, request, loaded, symbol))
    if progress:
        progress("decisions", len(request.symbols), len(request.symbols))
    return trades_of(pair, request, loaded, signals, progress)
