"""The run response: pure functions from per-symbol results to what a run returns and stores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from mtf.context import RunContext
from providers.timeframes import DESCENDING, iso

COMPACT_KEYS = (
    "status",
    "side",
    "execution_tf",
    "reason",
    "detail",
    "blocking_tf",
    "signals",
    "candle_open_ms",
    "duration_ms",
)


def compact_result(result: dict[str, Any]) -> dict[str, Any]:
    """What the reducer needs of a symbol's result: the outcome and, per timeframe, its side or
    why it has none. The full trace stays in the run's stored results."""
    out = {k: result[k] for k in ("symbol", *COMPACT_KEYS) if k in result and k != "signals"}
    out["last_validated"] = result.get("last_validated")
    out["signals"] = {
        tf: (d["signal"] if d.get("valid") else d.get("reason") or "invalid")
        for tf, d in (result.get("timeframes") or {}).items()
    }
    return out


def decision_key(symbol: str, timeframe: str, candle_open_ms: int) -> str:
    """Idempotency key of a trade decision: one per symbol, timeframe and candle."""
    return f"{symbol}:{timeframe}:{candle_open_ms}"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def symbol_stats(results: list[dict[str, Any]]) -> dict[str, float]:
    durations = [float(r.get("duration_ms") or 0.0) for r in results]
    if not durations:
        return {"count": 0}
    return {
        "count": len(durations),
        "min_ms": round(min(durations), 3),
        "avg_ms": round(sum(durations) / len(durations), 3),
        "p95_ms": round(_percentile(durations, 0.95), 3),
        "max_ms": round(max(durations), 3),
        "sum_ms": round(sum(durations), 3),
    }


def summary_by_tf(
    results: list[dict[str, Any]], timeframes: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """Per timeframe: symbols READY on it, and symbols it blocked."""
    out: dict[str, dict[str, list[str]]] = {tf: {"ready": [], "blocked": []} for tf in timeframes}
    for r in sorted(results, key=lambda r: r["symbol"]):
        if r["status"] == "READY" and r.get("execution_tf"):
            out.setdefault(r["execution_tf"], {"ready": [], "blocked": []})["ready"].append(
                r["symbol"]
            )
        elif r.get("blocking_tf"):
            out.setdefault(r["blocking_tf"], {"ready": [], "blocked": []})["blocked"].append(
                r["symbol"]
            )
    return out


def build_response(
    ctx: RunContext,
    results: list[dict[str, Any]],
    resolved: dict[str, Any],
    *,
    timeframes: list[str],
    performance: dict[str, Any],
    orders: list[dict[str, Any]],
    tpsl: dict[str, Any] | None,
) -> dict[str, Any]:
    """Assemble the full run response (what `reduce_run` returns and the runs table keeps)."""
    counts = Counter(r["status"] for r in results)
    processed = len(results)
    errors = [
        {"symbol": r["symbol"], "error": r.get("detail") or r.get("reason")}
        for r in results
        if r["status"] == "ERROR"
    ]
    errors.extend(resolved.get("errors", []))
    ordered_tfs = [tf.value for tf in DESCENDING if tf.value in timeframes]
    status = (
        "success"
        if not errors
        else ("partial_success" if counts["READY"] + counts["INVALID"] else "failed")
    )
    run = {
        "run_id": ctx.run_id,
        "profile": ctx.profile,
        "as_of": iso(ctx.as_of_ms),
        "dry_run": ctx.dry_run,
        "exchange": ctx.exchange,
        "symbols_requested": resolved.get("symbol_count", 0) + len(resolved.get("excluded", {})),
        "symbols_processed": processed,
        "ready": counts["READY"],
        "invalid": counts["INVALID"],
        "skipped": counts["SKIPPED"],
        "errors": counts["ERROR"],
        "ready_pct": round(100.0 * counts["READY"] / processed, 2) if processed else 0.0,
        "duration_s": round(performance.get("total_ms", 0.0) / 1000, 3),
    }
    symbols = {
        r["symbol"]: {k: r[k] for k in COMPACT_KEYS if r.get(k) is not None}
        for r in sorted(results, key=lambda r: r["symbol"])
    }
    rejected_by = [
        {
            "symbol": r["symbol"],
            "status": r["status"],
            "reason": r.get("reason"),
            "timeframe": r.get("blocking_tf"),
        }
        for r in sorted(results, key=lambda r: r["symbol"])
        if r["status"] != "READY"
    ]
    last_validated = [
        {"symbol": r["symbol"], **r["last_validated"], "ready": r["status"] == "READY"}
        for r in sorted(results, key=lambda r: r["symbol"])
        if r.get("last_validated")
    ]
    return {
        "status": status,
        "message": f"{ctx.profile} run as of {iso(ctx.as_of_ms)} completed",
        "run": run,
        "symbols": symbols,
        "summary_by_tf": summary_by_tf(results, ordered_tfs),
        "rejected_by": rejected_by,
        "last_validated": last_validated,
        "excluded": resolved.get("excluded", {}),
        "errors": errors,
        "orders": {"count": len(orders), "enqueued": orders},
        "tpsl": tpsl,
        "performance": performance,
    }


def reason_counts(response: dict[str, Any]) -> list[tuple[str, int]]:
    counter: Counter[str] = Counter()
    for entry in response.get("rejected_by", []):
        where = f"{entry['timeframe']} " if entry.get("timeframe") else ""
        counter[f"{where}{entry.get('reason') or entry['status'].lower()}"] += 1
    return counter.most_common()
