"""A backtest over real candles, checked from the outside: P&L recomputed from the trade list
and the candles, every price and size on the contract's grid, every fill where the candles
allow it, and no look-ahead (changing the future leaves the past unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import pytest

from mtf.backtest import run
from mtf.backtest.data import Loaded
from mtf.backtest.overrides import ProfilePair, load_pair
from mtf.backtest.request import BacktestRequest
from providers.candles import Candles
from providers.paper.quotes import dec, slipped
from providers.timeframes import Timeframe, iso, to_ms
from tests.backtest.builders import real_loaded

SYMBOLS = ("BTCUSDT", "ETHUSDT", "XRPUSDT")
START = to_ms(datetime(2023, 7, 25, tzinfo=UTC))
END = to_ms(datetime(2023, 7, 29, tzinfo=UTC))
MONEY = Decimal("1e-8")
SETS: dict[str, dict[str, Any]] = {
    # limit entries with the end-of-zone fallback, one target
    "scalper_micro": {},
    # two targets and market entries: partial exits, taker fills
    "two_targets": {
        "take_profit.two_targets.enabled": True,
        "take_profit.two_targets.tp1_r": 0.6,
        "take_profit.r_multiple": 1.6,
        "order.type": "market",
        "order.mode": "gtc",
        "risk.budget_usdt": 400,
    },
}


def request(overrides: dict[str, Any]) -> BacktestRequest:
    return BacktestRequest("scalper_micro", SYMBOLS, START, END, overrides=overrides)


@cache
def backtest(name: str) -> tuple[ProfilePair, Loaded, dict[str, Any]]:
    pair = load_pair("scalper_micro", SETS[name])
    loaded = real_loaded(pair, SYMBOLS, START, END)
    return pair, loaded, run.run(pair, request(SETS[name]), loaded)


def _bar(candles: Candles, close_ms: int) -> int:
    return int(np.searchsorted(candles.open_time, close_ms - 60_000, side="right")) - 1


@pytest.mark.parametrize("name", sorted(SETS))
def test_pnl_recomputed_from_the_trades_and_the_candles(name: str) -> None:
    _, loaded, report = backtest(name)
    costs = run.costs_of(request(SETS[name]))
    assert len(report["trades"]) > 20, "enough trades to mean something"
    total, fees_total = Decimal(0), Decimal(0)
    reasons: set[str] = set()
    for trade in report["trades"]:
        spec = loaded.specs[trade["symbol"]]
        minutes = loaded.candles[trade["symbol"]][Timeframe.M1]
        long = trade["side"] == "long"
        sign = 1 if long else -1
        entries = [f for f in trade["fills"] if f["side"] == "entry"]
        exits = [f for f in trade["fills"] if f["side"] == "exit"]
        size = sum(Decimal(f["size"]) for f in entries)
        assert size == sum(Decimal(f["size"]) for f in exits) == Decimal(trade["size"])
        entry = sum(Decimal(f["price"]) * Decimal(f["size"]) for f in entries) / size
        pnl, fees = Decimal(0), Decimal(0)
        for fill in trade["fills"]:
            price, qty = Decimal(fill["price"]), Decimal(fill["size"])
            # on the contract's grid
            assert price % spec.tick_size == 0 and qty % spec.volume_step == 0, fill
            assert qty >= spec.min_volume
            rate = costs.maker_fee if fill["maker"] else costs.taker_fee
            fee = (price * qty * spec.contract_size * rate).quantize(MONEY)
            assert Decimal(fill["fee"]) == fee, fill
            fees += fee
            # where the candle allows it
            bar = _bar(minutes, fill["ms"])
            low, high = dec(minutes.low[bar]), dec(minutes.high[bar])
            close = dec(minutes.close[bar])
            buy = (fill["side"] == "entry") == long
            reasons.add(fill["reason"])
            if fill["reason"] in ("market", "fallback", "end", "close"):
                assert price == slipped(spec, close, buy=buy, bps=costs.slippage_bps), fill
            elif fill["reason"] == "limit":
                assert fill["maker"] and (low < price if buy else high > price), fill
            elif fill["reason"] == "stop":
                stop = Decimal(trade["stop"])
                opened = dec(minutes.open[bar])
                gap = max(stop, opened) if buy else min(stop, opened)
                moved = (
                    slipped(spec, stop, buy=buy, bps=costs.slippage_bps),
                    slipped(spec, gap, buy=buy, bps=costs.slippage_bps),
                )
                assert price in moved and (high >= stop if buy else low <= stop), fill
            else:
                assert fill["reason"] in ("take_profit", "tp1"), fill
                assert low <= price if buy else high >= price, fill
                targets = [Decimal(t["price"]) for t in trade["plan"]["targets"]]
                assert price in targets
            if fill["side"] == "exit":
                pnl += (sign * (price - entry) * qty * spec.contract_size).quantize(MONEY)
        net = pnl - fees
        assert abs(net - Decimal(trade["pnl_usdt"])) <= Decimal("1e-9"), trade
        total += net
        fees_total += fees
        assert trade["entry_time"] < trade["exit_time"] or trade["entry_time"] == trade["exit_time"]
        assert iso(min(f["ms"] for f in trade["fills"])) >= trade["signal_time"]
    summary = report["summary"]
    assert abs(total - Decimal(summary["net_pnl"])) <= Decimal("1e-9")
    assert abs(fees_total - Decimal(summary["fees_paid"])) <= Decimal("1e-9")
    assert Decimal(summary["final_balance"]) == Decimal(summary["start_balance"]) + total
    assert abs(report["equity"]["equity"][-1] - float(summary["final_balance"])) < 1e-6
    expected = {"stop", "take_profit"} | ({"tp1", "market"} if name == "two_targets" else {"limit"})
    assert expected <= reasons, reasons


def _altered(loaded: Loaded, after_ms: int) -> Loaded:
    """The same candles until `after_ms`, a different market after it."""
    rng = np.random.default_rng(3)
    out: dict[str, dict[Timeframe, Candles]] = {}
    for symbol, blocks in loaded.candles.items():
        out[symbol] = {}
        for tf, c in blocks.items():
            later = c.open_time >= after_ms
            factor = np.where(later, np.exp(np.cumsum(rng.normal(0, 0.003, len(c))) * later), 1.0)
            out[symbol][tf] = Candles(
                c.symbol,
                tf,
                c.open_time,
                c.open * factor,
                np.maximum(c.high * factor, c.open * factor),
                np.minimum(c.low * factor, c.open * factor),
                c.close * factor,
                np.where(later, c.volume * 3, c.volume),
            )
    return Loaded(loaded.specs, out)


def test_changing_the_future_leaves_earlier_trades_unchanged() -> None:
    pair, loaded, report = backtest("scalper_micro")
    cut = START + 2 * 86_400_000 + 7 * 3_600_000
    other = run.run(pair, request({}), _altered(loaded, cut))
    before = [t for t in report["trades"] if t["fills"][-1]["ms"] < cut]
    assert len(before) > 10
    assert [t for t in other["trades"] if t["fills"][-1]["ms"] < cut] == before
    assert other["trades"] != report["trades"], "the altered future did change later trades"
    # every signal decided before the change meets the same fate
    early = iso(cut - 10 * 60_000)
    mine = [s for s in report["signals"]["list"] if s["time"] < early]
    theirs = [s for s in other["signals"]["list"] if s["time"] < early]
    assert mine == theirs and len(mine) > 50
    # no fill happens before the candle of its decision closed
    for trade in report["trades"]:
        assert min(f["ms"] for f in trade["fills"]) >= to_ms(
            datetime.fromisoformat(trade["signal_time"].replace("Z", "+00:00"))
        )


@pytest.mark.parametrize("name", sorted(SETS))
def test_no_entry_is_larger_than_its_risk_allows_at_the_price_it_filled(name: str) -> None:
    """Fallback and limit fills alike: what the stop takes from the average entry, with the
    profile's fee reserve, stays within the plan's risk, but for the simulated slippage a
    taker fill pays beyond the book it was sized on."""
    pair, loaded, report = backtest(name)
    reserve = pair.config.order.fee_reserve_pct / 100
    slippage = Decimal(str(run.costs_of(request(SETS[name])).slippage_bps)) / 10_000
    fallbacks = 0
    for trade in report["trades"]:
        spec = loaded.specs[trade["symbol"]]
        entries = [f for f in trade["fills"] if f["side"] == "entry"]
        fallbacks += any(f["reason"] == "fallback" for f in entries)
        size = sum(Decimal(f["size"]) for f in entries)
        stop = Decimal(trade["stop"])
        loss = sum(
            (abs(Decimal(f["price"]) - stop) + max(Decimal(f["price"]), stop) * reserve)
            * Decimal(f["size"])
            * spec.contract_size
            for f in entries
        )
        slipped_by = sum(
            Decimal(f["price"]) * slippage * Decimal(f["size"]) * spec.contract_size
            for f in entries
            if not f["maker"]
        )
        assert size <= Decimal(trade["plan"]["size"]), trade
        assert loss <= Decimal(trade["plan"]["risk_usdt"]) + slipped_by, trade
    if name == "scalper_micro":
        assert fallbacks > 5, "taker fallbacks were exercised"
