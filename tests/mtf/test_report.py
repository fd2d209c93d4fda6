"""The run response and its compact summary, from hand-made symbol results."""

from __future__ import annotations

from typing import Any

from mtf.context import RunContext
from mtf.report import build_response, compact_result, decision_key, reason_counts
from mtf.summary import MAX_LINES, compact_summary

CTX = RunContext(
    run_id="0123456789ab",
    profile="p",
    as_of_ms=1_690_891_200_000,
    dry_run=True,
    exchange="paper",
    started_ms=0,
)


def result(symbol: str, status: str, **kw: Any) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": status,
        "side": None,
        "execution_tf": None,
        "reason": None,
        "detail": None,
        "blocking_tf": None,
        "last_validated": None,
        "duration_ms": 2.0,
        **kw,
    }


RESULTS = [
    result(
        "AAA",
        "READY",
        side="long",
        execution_tf="1m",
        candle_open_ms=1,
        last_validated={"timeframe": "1m", "side": "long"},
    ),
    result(
        "BBB",
        "INVALID",
        reason="no_long_no_short",
        blocking_tf="1m",
        last_validated={"timeframe": "5m", "side": "short"},
    ),
    result("CCC", "INVALID", reason="context_all_neutral", blocking_tf="5m"),
    result("DDD", "SKIPPED", reason="stale_candles", detail="1m newest candle ..."),
    result("EEE", "ERROR", reason="symbol_error", detail="RuntimeError: boom"),
]


def response(results: list[dict[str, Any]] = RESULTS, **kw: Any) -> dict[str, Any]:
    return build_response(
        CTX,
        results,
        {"symbol_count": len(results)},
        timeframes=["1m", "5m"],
        performance={"total_ms": 1234.0},
        orders=kw.get("orders", []),
        tpsl=kw.get("tpsl"),
    )


def test_counts_and_status() -> None:
    r = response()
    run = r["run"]
    assert (run["ready"], run["invalid"], run["skipped"], run["errors"]) == (1, 2, 1, 1)
    assert run["ready_pct"] == 20.0 and run["as_of"] == "2023-08-01T12:00:00Z"
    assert r["status"] == "partial_success"
    assert r["errors"] == [{"symbol": "EEE", "error": "RuntimeError: boom"}]
    assert response(RESULTS[:3])["status"] == "success"


def test_summary_by_tf_lists_ready_and_blocked_per_timeframe() -> None:
    assert response()["summary_by_tf"] == {
        "5m": {"ready": [], "blocked": ["CCC"]},
        "1m": {"ready": ["AAA"], "blocked": ["BBB"]},
    }


def test_rejected_by_and_last_validated() -> None:
    r = response()
    assert [e["symbol"] for e in r["rejected_by"]] == ["BBB", "CCC", "DDD", "EEE"]
    assert r["rejected_by"][0] == {
        "symbol": "BBB",
        "status": "INVALID",
        "reason": "no_long_no_short",
        "timeframe": "1m",
    }
    assert r["last_validated"] == [
        {"symbol": "AAA", "timeframe": "1m", "side": "long", "ready": True},
        {"symbol": "BBB", "timeframe": "5m", "side": "short", "ready": False},
    ]
    assert reason_counts(r)[0] == ("1m no_long_no_short", 1)


def test_compact_result_keeps_signals_not_traces() -> None:
    full = {
        **RESULTS[1],
        "trace": {"1m": {"long": {}}},
        "timeframes": {
            "5m": {"signal": "short", "valid": True},
            "1m": {"signal": None, "valid": False, "reason": "no_long_no_short"},
        },
    }
    small = compact_result(full)
    assert "trace" not in small
    assert small["signals"] == {"5m": "short", "1m": "no_long_no_short"}


def test_summary_never_exceeds_fifteen_lines() -> None:
    many = [result(f"S{i:03d}", "ERROR", detail=f"boom {i}") for i in range(40)]
    many += [
        result(f"R{i:03d}", "READY", side="short", execution_tf=tf, candle_open_ms=1)
        for i, tf in enumerate(["1m", "5m", "15m", "1h", "4h"] * 10)
    ]
    r = build_response(
        CTX,
        many,
        {"symbol_count": 90, "excluded": {"X": "open position"}},
        timeframes=["4h", "1h", "15m", "5m", "1m"],
        performance={},
        orders=[{"decision_key": "k"}],
        tpsl={"enqueued": True},
    )
    text = compact_summary(r)
    assert len(text.splitlines()) <= MAX_LINES
    assert "READY 4h:" in text and "+2 more" in text
    assert "errors (40):" in text and "more in the run response" in text
    assert text.splitlines()[-1].startswith("timings:")


def test_summary_says_what_the_orders_became() -> None:
    r = build_response(
        CTX,
        [result("A", "READY", side="long", execution_tf="1m", candle_open_ms=1)],
        {"symbol_count": 1, "excluded": {}},
        timeframes=["5m", "1m"],
        performance={},
        orders=[{"decision_key": k} for k in "abcd"],
        tpsl=None,
    )
    assert "4 order decision(s) (dry-run) on queue orders" in compact_summary(r)
    r["orders"]["outcomes"] = {
        "a": {"status": "simulated", "reason": None},
        "b": {"status": "skipped", "reason": "spread_too_wide"},
        "c": {"status": "skipped", "reason": "spread_too_wide"},
        "d": {"status": "duplicate", "reason": None},
    }
    text = compact_summary(r)
    assert "orders: 2 skipped, 1 simulated, 1 duplicate (spread_too_wide x2)" in text
    assert "on queue orders" not in text


def test_decision_key_shape() -> None:
    assert decision_key("BTCUSDT", "1m", 1690891140000) == "BTCUSDT:1m:1690891140000"
