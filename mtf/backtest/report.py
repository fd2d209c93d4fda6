"""The backtest report (pure): trades, per-symbol table, summary, equity curve.

Money figures come from the exact decimals of the fills (net P&L = realized price P&L minus
fees). The equity curve marks open positions at every minute's close (floats: a chart and the
drawdown, Sharpe and Sortino read it); daily returns are taken from the equity at each UTC
day's last minute, annualised over 365 days (crypto trades every day).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from mtf.backtest.engine import SignalOutcome, SimResult, Trade
from mtf.backtest.market import SymbolMarket
from mtf.backtest.signals import SymbolSignals, decision_minutes
from providers.timeframes import iso
from tradeentry.model import TradePlan

DAY_MS = 86_400_000

#: How fills are taken from candles, stated in every report.
INTRA_CANDLE_RULE = (
    "Fills come from 1m candles. A candle does not say whether its high or its low came "
    "first, so each position is walked along the path worst for it: a long's candle goes down "
    "to its low before its high, a short's up first. A stop and a target inside one candle: "
    "the stop fills. A limit entry fills when the candle trades through its price (not on a "
    "touch), at the limit, as maker; a stop armed by that fill is checked on the rest of the "
    "candle; a target waits for the next candle. Stops and market orders fill at the price "
    "moved by the slippage (a stop at the candle's open when it opened beyond the stop), as "
    "taker; targets fill at their price, also as taker (a target is a trigger that closes at "
    "market)."
)
NOT_MODELLED = (
    "funding payments",
    "liquidation (the planner keeps it beyond the stop; a gap through both is not modelled)",
    "order book depth: any size fills at the candle's prices",
    "latency inside the minute: decisions and orders at the candle close",
    "partial fills (all or nothing, as the paper exchange)",
)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('1e-8')):f}"


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def trade_row(trade: Trade) -> dict[str, Any]:
    r = trade.r
    return {
        "symbol": trade.symbol,
        "side": trade.side.value,
        "timeframe": trade.timeframe,
        "decision_key": trade.decision_key,
        "signal_time": iso(trade.signal_ms),
        "entry_time": iso(trade.entry_ms),
        "entry_price": f"{trade.entry_price.normalize():f}",
        "exit_time": iso(trade.exit_ms),
        "exit_price": f"{trade.exit_price.normalize():f}",
        "size": f"{trade.size:f}",
        "stop": f"{trade.stop:f}",
        "fees": _money(trade.fees),
        "pnl_usdt": _money(trade.net),
        "pnl_r": None if r is None else round(float(r), 4),
        "exit_reason": trade.exit_reason,
        "holding_minutes": round((trade.exit_ms - trade.entry_ms) / 60_000, 2),
        "plan": plan_summary(trade.plan),
        "fills": [
            {
                "time": iso(f.ms),
                "ms": f.ms,
                "side": f.side,
                "price": f"{f.price:f}",
                "size": f"{f.size:f}",
                "fee": f"{f.fee:f}",
                "realized": f"{f.realized:f}",
                "maker": f.maker,
                "reason": f.reason,
            }
            for f in trade.fills
        ],
    }


def plan_summary(plan: TradePlan) -> dict[str, Any]:
    """The numbers of a plan a trader checks (the full plan with its steps: `mtf plan`)."""
    data: dict[str, Any] = {
        "order_type": plan.order_type.value,
        "entry_price": f"{plan.entry_price:f}",
        "stop_loss": f"{plan.stop_loss:f}",
        "stop_source": plan.stop_source,
        "take_profit": f"{plan.take_profit:f}",
        "targets": [
            {"price": f"{t.price:f}", "size": f"{t.size:f}", "r": f"{t.r:f}"} for t in plan.targets
        ],
        "size": f"{plan.size:f}",
        "leverage": plan.leverage,
        "risk_usdt": f"{plan.risk_usdt:f}",
        "loss_at_stop_usdt": f"{plan.loss_at_stop_usdt:f}",
    }
    if plan.zone is not None:
        data["zone"] = {
            "low": f"{plan.zone.low:f}",
            "high": f"{plan.zone.high:f}",
            "expires": iso(plan.zone.expires_ms),
        }
    return data


def outcome_row(outcome: SignalOutcome) -> dict[str, Any]:
    row: dict[str, Any] = {
        "time": iso(outcome.moment_ms),
        "symbol": outcome.symbol,
        "side": outcome.side,
        "timeframe": outcome.timeframe,
        "status": outcome.status,
    }
    if outcome.reason:
        row["reason"] = outcome.reason
    if outcome.plan is not None and outcome.status not in ("blocked",):
        row["plan"] = plan_summary(outcome.plan)
    return row


def equity_curve(
    result: SimResult, markets: Mapping[str, SymbolMarket]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minute closes, equity, open positions) over the range: realized P&L and fees from each
    fill on, open positions marked at every minute's close."""
    grid = decision_minutes(result.start_ms, result.end_ms)
    equity = np.full(len(grid), float(result.initial_balance))
    busy = np.zeros(len(grid), dtype=np.int64)
    closes: dict[str, np.ndarray] = {}
    for trade in result.trades:
        market = markets[trade.symbol]
        if trade.symbol not in closes:
            bars = market.bars
            idx = np.searchsorted(bars.open_time, grid - 60_000, side="right") - 1
            closes[trade.symbol] = np.where(idx >= 0, bars.close[np.maximum(idx, 0)], np.nan)
        close = closes[trade.symbol]
        sign = 1.0 if trade.side.value == "long" else -1.0
        size, cost = Decimal(0), Decimal(0)
        fills = sorted(trade.fills, key=lambda f: f.ms)
        for i, fill in enumerate(fills):
            at = int(np.searchsorted(grid, fill.ms))
            equity[at:] += float(fill.realized - fill.fee)
            if fill.side == "entry":
                cost += fill.price * fill.size
                size += fill.size
            else:
                cost -= cost / size * fill.size if size else Decimal(0)
                size -= fill.size
            until = int(np.searchsorted(grid, fills[i + 1].ms)) if i + 1 < len(fills) else at
            if size > 0 and until > at:
                average = float(cost / size)
                qty = float(size * market.spec.contract_size)
                segment = slice(at, until)
                equity[segment] += sign * (close[segment] - average) * qty
                busy[segment] += 1
    return grid, equity, busy


def _drawdown(equity: np.ndarray) -> tuple[float, float, int, int]:
    """(max drawdown in USDT, in percent of the peak, index of the peak, of the trough)."""
    if not len(equity):
        return 0.0, 0.0, 0, 0
    peak = np.maximum.accumulate(equity)
    dd = equity - peak
    trough = int(np.argmin(dd))
    top = int(np.argmax(equity[: trough + 1])) if trough else 0
    return float(dd[trough]), float(dd[trough] / peak[trough] * 100), top, trough


def daily_returns(grid: np.ndarray, equity: np.ndarray, start: float) -> np.ndarray:
    """Returns of the equity at each UTC day's last minute (the first day against `start`)."""
    if not len(grid):
        return np.empty(0)
    days = (grid - 1) // DAY_MS  # a minute close at 00:00 ends the day before
    last = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    closes = np.concatenate([[start], equity[last]])
    out: np.ndarray = closes[1:] / closes[:-1] - 1
    return out


def _annualised(returns: np.ndarray) -> tuple[float | None, float | None]:
    if len(returns) < 2:
        return None, None
    mean = float(np.mean(returns))
    std = float(np.std(returns, ddof=1))
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    scale = math.sqrt(365)
    sharpe = mean / std * scale if std > 0 else None
    sortino = mean / downside * scale if downside > 0 else None
    return sharpe, sortino


def _table(trades: Sequence[Trade]) -> dict[str, Any]:
    nets = [t.net for t in trades]
    wins = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    rs = [float(t.r) for t in trades if t.r is not None]
    gross_win = float(sum(wins, Decimal(0)))
    gross_loss = float(-sum(losses, Decimal(0)))
    return {
        "trades": len(trades),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": round(len(wins) / len(trades) * 100, 2) if trades else None,
        "net_pnl": _money(sum(nets, Decimal(0))),
        "fees": _money(sum((t.fees for t in trades), Decimal(0))),
        "profit_factor": None if not gross_loss else round(gross_win / gross_loss, 4),
        "expectancy_r": round(float(np.mean(rs)), 4) if rs else None,
        "long": sum(t.side.value == "long" for t in trades),
        "short": sum(t.side.value == "short" for t in trades),
    }


def build_report(
    result: SimResult,
    markets: Mapping[str, SymbolMarket],
    signals: Sequence[SymbolSignals],
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole report as plain data (JSON-ready)."""
    trades = sorted(result.trades, key=lambda t: (t.entry_ms, t.symbol))
    grid, equity, busy = equity_curve(result, markets)
    start = float(result.initial_balance)
    dd_usdt, dd_pct, top, trough = _drawdown(equity)
    sharpe, sortino = _annualised(daily_returns(grid, equity, start))
    net = sum((t.net for t in trades), Decimal(0))
    table = _table(trades)
    outcomes = Counter(o.status for o in result.outcomes)
    refused: Counter[str] = Counter(
        f"{o.status}: {o.reason}" for o in result.outcomes if o.status in ("skipped", "blocked")
    )
    holding = [(t.exit_ms - t.entry_ms) / 60_000 for t in trades]
    streak = longest = 0
    for t in trades:
        streak = streak + 1 if t.net < 0 else 0
        longest = max(longest, streak)
    market_change = []
    for market in markets.values():
        first, last = market.bar_index(result.start_ms), market.bar_index(result.end_ms)
        if first >= 0 and last >= 0:
            market_change.append(market.bars.close[last] / market.bars.close[first] - 1)
    rs = [float(t.r) for t in trades if t.r is not None]
    summary = {
        **table,
        "start_balance": _money(result.initial_balance),
        "final_balance": _money(result.initial_balance + net),
        "return_pct": round(float(net / result.initial_balance * 100), 4),
        "max_drawdown_usdt": round(dd_usdt, 8),
        "max_drawdown_pct": round(dd_pct, 4),
        "drawdown_from": iso(int(grid[top])) if len(grid) else None,
        "drawdown_to": iso(int(grid[trough])) if len(grid) else None,
        "sharpe": None if sharpe is None else round(sharpe, 4),
        "sortino": None if sortino is None else round(sortino, 4),
        "exposure_pct": round(float(np.mean(busy > 0) * 100), 4) if len(busy) else 0.0,
        "avg_holding_minutes": round(float(np.mean(holding)), 2) if holding else None,
        "best_trade": _money(max(t.net for t in trades)) if trades else None,
        "worst_trade": _money(min(t.net for t in trades)) if trades else None,
        "best_r": round(max(rs), 4) if rs else None,
        "worst_r": round(min(rs), 4) if rs else None,
        "max_consecutive_losses": longest,
        "fees_paid": table["fees"],
        "market_change_pct": (
            round(float(np.mean(market_change)) * 100, 4) if market_change else None
        ),
    }
    per_symbol = [
        {"symbol": name, **_table([t for t in trades if t.symbol == name])}
        for name in sorted(markets)
    ]
    decisions = {
        "minutes": sum(s.decisions for s in signals),
        "statuses": dict(sum((Counter(s.statuses) for s in signals), Counter())),
        "ready": sum(len(s.ready) for s in signals),
        "reasons": dict(sum((Counter(s.reasons) for s in signals), Counter()).most_common(12)),
    }
    step = max(1, len(grid) // 2000)
    shown = list(range(0, len(grid), step))
    if shown and shown[-1] != len(grid) - 1:
        shown.append(len(grid) - 1)
    return {
        **meta,
        "start": iso(result.start_ms),
        "end": iso(result.end_ms),
        "summary": summary,
        "per_symbol": per_symbol,
        "trades": [trade_row(t) for t in trades],
        "signals": {
            "outcomes": dict(outcomes.most_common()),
            "refused": dict(refused.most_common()),
            # every READY signal that reached the planner (busy ones are only counted)
            "list": [outcome_row(o) for o in result.outcomes if o.status != "busy"],
        },
        "decisions": decisions,
        "equity": {
            "ms": [int(grid[i]) for i in shown],
            "equity": [round(float(equity[i]), 8) for i in shown],
        },
        "intra_candle_rule": INTRA_CANDLE_RULE,
        "not_modelled": list(NOT_MODELLED),
    }
