"""One decision per symbol, timeframe and candle: two timeframes deciding on candles that open
at the same moment are two decisions, with two keys, two ledger rows and two exchange ids."""

from __future__ import annotations

from typing import Any

from infra.db import get_engine
from mtf.context import RunContext
from mtf.report import decision_key
from mtf.tasks.cycle import _decision
from tradeentry.ids import client_order_id
from tradeentry.ledger import OrderLedger

OPEN_MS = 1_700_000_100_000  # a 1m and a 5m candle both open here


def ready(timeframe: str) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "status": "READY",
        "side": "long",
        "execution_tf": timeframe,
        "candle_open_ms": OPEN_MS,
    }


def test_two_timeframes_of_one_candle_are_two_decisions(db_url: str) -> None:
    ctx = RunContext("run-1", "scalper", OPEN_MS + 300_000, True, "paper", 0)
    one, five = _decision(ctx, ready("1m")), _decision(ctx, ready("5m"))
    assert one.decision_key == decision_key("BTCUSDT", "1m", OPEN_MS)
    assert five.decision_key == decision_key("BTCUSDT", "5m", OPEN_MS)
    assert one.decision_key != five.decision_key
    assert client_order_id(one.decision_key) != client_order_id(five.decision_key)

    ledger = OrderLedger(get_engine(db_url))
    row_1m, created_1m = ledger.claim(one, client_order_id(one.decision_key))
    row_5m, created_5m = ledger.claim(five, client_order_id(five.decision_key))
    assert created_1m and created_5m, "neither blocks the other"
    assert (row_1m.timeframe, row_5m.timeframe) == ("1m", "5m")
    _, again = ledger.claim(one, client_order_id(one.decision_key))
    assert not again, "the same timeframe and candle stays one decision"
