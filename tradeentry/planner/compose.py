"""`plan_trade`: the steps in order, each refusing with a `Skip` or adding its numbers to
`TradePlan.steps`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from providers.timeframes import iso
from tradeentry.config import TradeEntryConfig
from tradeentry.model import Signal, Skip, SkipReason, Snapshot, TradePlan
from tradeentry.planner import guards
from tradeentry.planner._text import num, pct
from tradeentry.planner.budget import risk_budget
from tradeentry.planner.leverage import choose_leverage
from tradeentry.planner.liquidation import guard_liquidation, liquidation_distance_pct
from tradeentry.planner.pricing import check_deviation, deviation_pct, ideal_price, round_entry
from tradeentry.planner.sizing import fit_margin, size_for_risk
from tradeentry.planner.stops import choose_stop
from tradeentry.planner.targets import build_targets
from tradeentry.planner.zone import entry_zone, half_width


def _check_spec(signal: Signal, snapshot: Snapshot) -> None:
    spec = snapshot.spec
    if spec.symbol != signal.symbol or snapshot.book.symbol != signal.symbol:
        raise ValueError(
            f"signal for {signal.symbol} planned with the contract of {spec.symbol} "
            f"and the book of {snapshot.book.symbol}"
        )
    for name in ("tick_size", "contract_size", "volume_step"):
        if getattr(spec, name) <= 0:
            raise ValueError(f"{spec.symbol}: contract {name} must be positive")


def plan_trade(signal: Signal, snapshot: Snapshot, config: TradeEntryConfig) -> TradePlan | Skip:
    """An executable plan for a READY signal, or the reason there is none (with the numbers
    worked out before the refusal)."""
    _check_spec(signal, snapshot)
    steps: dict[str, str] = {
        "timeframe": signal.timeframe,
        "order": f"{config.order.type.value} {config.order.mode}",
    }
    result = _plan(signal, snapshot, config, steps)
    if isinstance(result, Skip):
        return replace(result, steps=dict(steps))
    return result


def _plan(
    signal: Signal, snapshot: Snapshot, config: TradeEntryConfig, steps: dict[str, str]
) -> TradePlan | Skip:
    spec, book, side = snapshot.spec, snapshot.book, signal.side
    order = config.order

    skip = guards.check_timeframe(signal.timeframe, order)
    if skip:
        return skip
    skip = guards.check_book(book)
    if skip:
        return skip
    steps["spread_bps"] = num(guards.spread_bps(book).quantize(Decimal("0.0001")))
    skip = guards.check_spread(book, order.max_spread_bps)
    if skip:
        return skip

    budget = risk_budget(config.risk, signal.timeframe, snapshot.available)
    if isinstance(budget, Skip):
        return budget
    steps.update(budget.describe())

    zone_atr = snapshot.zone_atr if snapshot.zone_atr is not None else snapshot.atr
    steps["atr"] = num(snapshot.atr) if snapshot.atr is not None else "none"
    zone = entry_zone(
        spec, zone_atr, snapshot.anchor, snapshot.anchor_kind, snapshot.now_ms, config.entry_zone
    )
    if isinstance(zone, Skip):
        return zone
    assert zone_atr is not None  # entry_zone refuses a missing ATR
    steps["zone_atr"] = num(zone_atr)
    assert snapshot.anchor is not None  # entry_zone refuses a missing anchor
    steps["zone_half_width"] = num(half_width(zone_atr, snapshot.anchor, config.entry_zone))
    steps["zone"] = f"[{num(zone.low)}, {num(zone.high)}] {zone.anchor_kind} {num(zone.anchor)}"
    steps["zone_expires"] = iso(zone.expires_ms)

    ideal = ideal_price(side, order.type, book, zone)
    if isinstance(ideal, Skip):
        return ideal
    entry = round_entry(side, order.type, ideal, spec)
    steps["entry_ideal"] = num(ideal)
    steps["entry"] = num(entry)
    if entry <= 0:
        return Skip(SkipReason.BAD_BOOK, f"entry {num(ideal)} is under one tick {spec.tick_size}")
    steps["deviation_pct"] = pct(deviation_pct(entry, book.mark))
    skip = check_deviation(entry, book.mark, order.max_deviation_pct)
    if skip:
        return skip

    stop = choose_stop(side, entry, snapshot.atr, snapshot.pivots, config.stop, spec)
    if isinstance(stop, Skip):
        return stop
    steps.update(stop.describe())

    # Entry and exit fees (and slippage) are part of what the stop loses.
    fee_per_contract = (
        max(entry, stop.price) * spec.contract_size * order.fee_reserve_pct / Decimal(100)
    )
    sizing = size_for_risk(budget.risk_usdt, stop.distance, spec, order.type, fee_per_contract)
    if isinstance(sizing, Skip):
        return sizing
    steps.update(sizing.describe())

    lev = choose_leverage(
        spec.symbol, signal.timeframe, budget.risk_pct, stop.distance_pct, spec, config.leverage
    )
    if isinstance(lev, Skip):
        return lev
    steps.update(lev.describe())
    liq = guard_liquidation(
        side, entry, stop.price, stop.distance_pct, lev.leverage, lev.lowest, config.leverage, spec
    )
    if isinstance(liq, Skip):
        return liq
    steps.update(liq.describe())
    steps["liquidation_distance_pct"] = pct(
        liquidation_distance_pct(liq.leverage, config.leverage.maintenance_margin_pct)
    )

    # The leverage is settled by its rules; a margin above the budget shrinks the size instead.
    size = fit_margin(sizing.size, entry, liq.leverage, budget.budget, spec, order.fee_reserve_pct)
    if size < spec.min_volume or size <= 0:
        capped = fit_margin(
            sizing.size, entry, lev.leverage, budget.budget, spec, order.fee_reserve_pct
        )
        # Blame the liquidation guard when only its lower leverage made the size too small.
        lowered = liq.leverage < lev.leverage and capped >= spec.min_volume
        return Skip(
            SkipReason.LIQUIDATION_BEFORE_STOP if lowered else SkipReason.SIZE_BELOW_MINIMUM,
            f"at leverage {liq.leverage} the budget {num(budget.budget)} USDT margins "
            f"{num(size)} contracts; min_volume is {num(spec.min_volume)}",
        )
    notional = entry * spec.contract_size * size
    margin = notional / liq.leverage
    loss = sizing.risk_per_contract * size
    steps["size"] = num(size)
    steps["notional"] = num(notional)
    steps["margin"] = num(margin)
    steps["fees_at_stop"] = num(fee_per_contract * size)
    steps["loss_at_stop"] = num(loss)

    targets, notes = build_targets(
        side, entry, stop.price, size, snapshot.pivots, config.take_profit, spec
    )
    steps.update(notes)

    return TradePlan(
        symbol=signal.symbol,
        side=side,
        timeframe=signal.timeframe,
        order_type=order.type,
        mode=order.order_mode,
        entry_price=entry,
        stop_loss=stop.price,
        stop_source=stop.source,
        targets=targets,
        size=size,
        leverage=liq.leverage,
        zone=zone,
        risk_usdt=budget.risk_usdt,
        loss_at_stop_usdt=loss,
        notional_usdt=notional,
        margin_usdt=margin,
        budget_usdt=budget.budget,
        liquidation_price=liq.price,
        steps=steps,
    )


__all__ = ["plan_trade"]
