"""What every plan promises, checked against its inputs."""

from __future__ import annotations

from decimal import Decimal

from providers.types import OrderType, PositionSide
from tradeentry.config import TradeEntryConfig
from tradeentry.model import Signal, Skip, SkipReason, Snapshot, TradePlan
from tradeentry.planner.leverage import symbol_cap
from tradeentry.planner.sizing import volume_cap

REQUIRED_STEPS = (
    "budget",
    "risk_pct_effective",
    "risk_usdt",
    "atr",
    "zone_half_width",
    "zone",
    "entry_ideal",
    "stop_candidates",
    "stop_distance",
    "size_raw",
    "size",
    "notional",
    "leverage_dynamic",
    "leverage_caps",
    "leverage",
    "margin",
    "liquidation_price",
    "tp1",
    "tp2",
)


def check_result(
    result: TradePlan | Skip, signal: Signal, snapshot: Snapshot, config: TradeEntryConfig
) -> None:
    if isinstance(result, Skip):
        assert isinstance(result.reason, SkipReason)
        assert result.detail
        return
    check_plan(result, signal, snapshot, config)


def check_plan(
    plan: TradePlan, signal: Signal, snapshot: Snapshot, config: TradeEntryConfig
) -> None:
    spec, book = snapshot.spec, snapshot.book
    long = plan.side is PositionSide.LONG
    sign = 1 if long else -1
    entry, stop = plan.entry_price, plan.stop_loss

    # every price on the tick grid
    prices = [entry, stop, *(t.price for t in plan.targets)]
    assert plan.zone is not None
    prices += [plan.zone.low, plan.zone.high]
    if plan.liquidation_price is not None:
        prices.append(plan.liquidation_price)
    for price in prices:
        assert price > 0 and spec.is_on_tick(price), price

    # entry: inside the zone; a limit is a maker price
    assert plan.zone.contains(entry)
    if plan.order_type is OrderType.LIMIT:
        assert entry < book.ask if long else entry > book.bid
    assert abs(entry - book.mark) / book.mark * 100 <= config.order.max_deviation_pct

    # stop on the losing side, within the configured distance
    assert sign * (entry - stop) > 0
    assert abs(entry - stop) / entry * 100 <= config.stop.max_distance_pct

    # risk: the configured amount, never exceeded after rounding
    budget = min(config.risk.budget_usdt, snapshot.available)
    risk_pct = config.risk.risk_pct * config.risk.multiplier(signal.timeframe)
    assert plan.budget_usdt == budget
    assert plan.risk_usdt == budget * risk_pct / 100
    fees = max(entry, stop) * spec.contract_size * config.order.fee_reserve_pct / 100
    assert plan.loss_at_stop_usdt == (abs(entry - stop) * spec.contract_size + fees) * plan.size
    assert plan.loss_at_stop_usdt <= plan.risk_usdt

    # size on the step, within the contract's limits
    cap = volume_cap(spec, plan.order_type)
    assert plan.size % spec.volume_step == 0
    assert spec.min_volume <= plan.size <= cap

    # leverage within [floor, caps], margin within the budget
    caps = [config.leverage.exchange_cap, spec.max_leverage]
    matched = symbol_cap(spec.symbol, config.leverage.per_symbol_caps)
    if matched:
        caps.append(matched[1])
    assert max(config.leverage.floor, spec.min_leverage) <= plan.leverage <= min(caps)
    assert plan.notional_usdt == entry * spec.contract_size * plan.size
    assert plan.margin_usdt == plan.notional_usdt / plan.leverage
    assert plan.margin_usdt <= plan.budget_usdt

    # the stop triggers well before the liquidation
    mm = config.leverage.maintenance_margin_pct
    liquidation_distance = entry * (Decimal(1) / plan.leverage - mm / 100)
    assert liquidation_distance >= config.leverage.min_liquidation_ratio * abs(entry - stop)
    if plan.liquidation_price is not None:
        assert sign * (stop - plan.liquidation_price) > 0

    # targets: winning side, nearest first, sizes on the step adding up to the size
    assert 1 <= len(plan.targets) <= 2
    assert sum(t.size for t in plan.targets) == plan.size
    previous = entry
    for target in plan.targets:
        assert sign * (target.price - previous) > 0
        assert target.r > 0
        assert target.size % spec.volume_step == 0 and target.size >= spec.min_volume
        previous = target.price

    for key in REQUIRED_STEPS:
        assert key in plan.steps, key
    assert all(isinstance(v, str) for v in plan.steps.values())
