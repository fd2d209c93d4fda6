"""The compact run summary: what an operator reads in the log, never more than 15 lines."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mtf.report import reason_counts

MAX_LINES = 15
_LIST = 8


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST])
    return shown + (f" +{len(items) - _LIST} more" if len(items) > _LIST else "")


def compact_summary(response: dict[str, Any]) -> str:
    """Render a run response (or a skipped/rejected run record) in at most 15 lines."""
    run = response.get("run", {})
    status = response.get("status", "?")
    if status in ("skipped", "rejected", "stale", "failed", "abandoned", "missed", "buffered") and (
        not response.get("symbols")
    ):
        return (
            f"[{status}] {run.get('profile', '?')} run {str(run.get('run_id', ''))[:8]}: "
            f"{response.get('message', '')}"
        )
    mode = "dry-run" if run.get("dry_run") else "LIVE"
    lines = [
        f"[{status}] {run.get('profile')} run {str(run.get('run_id'))[:8]} as of {run.get('as_of')}"
        f" | {mode} on {run.get('exchange')} | {run.get('duration_s', 0):.2f} s",
        f"symbols {run.get('symbols_processed', 0)} | READY {run.get('ready', 0)} | INVALID "
        f"{run.get('invalid', 0)} | SKIPPED {run.get('skipped', 0)} | ERROR {run.get('errors', 0)}",
    ]
    symbols = response.get("symbols", {})
    ready_lines = []
    for tf, groups in response.get("summary_by_tf", {}).items():
        ready = groups.get("ready", [])
        if ready:
            names = [f"{s} {symbols.get(s, {}).get('side', '')}".strip() for s in ready]
            ready_lines.append(f"READY {tf}: " + _names(names))
    lines.extend(ready_lines or ["READY: none"])
    stale = response.get("stale")
    if stale:
        lines.append(
            f"STALE: {len(stale.get('symbols', []))} READY symbol(s) not traded, the run was "
            f"{stale.get('age_s')} s old (stale after {stale.get('stale_after_s')} s): "
            + _names(list(stale.get("symbols", [])))
        )
    reasons = reason_counts(response)
    if reasons:
        lines.append("not ready: " + ", ".join(f"{r} x{c}" for r, c in reasons[:4]))
    excluded = dict(response.get("excluded") or {})
    unknown = {s: why for s, why in excluded.items() if why.startswith("not a contract")}
    if unknown:
        names = [f"{s} {why.removeprefix('not a contract ')}" for s, why in sorted(unknown.items())]
        lines.append("not a contract: " + _names(names))
        excluded = {s: why for s, why in excluded.items() if s not in unknown}
    if excluded:
        lines.append(f"excluded (open position/order, switch): {_names(sorted(excluded))}")
    orders = response.get("orders") or {}
    tpsl = response.get("tpsl")
    queued = []
    outcomes = orders.get("outcomes")
    if outcomes:
        lines.append("orders: " + _outcome_counts(outcomes))
    elif orders.get("count"):
        kind = "dry-run" if run.get("dry_run") else "live"
        queued.append(f"{orders['count']} order decision(s) ({kind}) on queue orders")
    if tpsl and tpsl.get("enqueued"):
        queued.append("the TP/SL sweep on queue tpsl")
    if queued:
        lines.append("enqueued: " + "; ".join(queued))
    perf = response.get("performance") or {}
    per = perf.get("per_symbol") or {}
    timings = (
        f"timings: resolve {perf.get('resolve_ms', 0):.1f} ms"
        f" | validate {perf.get('validate_ms', 0):.1f} ms"
        f" (per symbol avg {per.get('avg_ms', 0):.2f} ms, p95 {per.get('p95_ms', 0):.2f} ms)"
        f" | reduce {perf.get('reduce_ms', 0):.1f} ms"
    )
    errors = response.get("errors") or []
    room = MAX_LINES - len(lines) - 1  # the timings line comes last
    if errors and room >= 2:
        shown = errors[: min(3, room - 1 - (len(errors) > min(3, room - 1)))]
        lines.append(f"errors ({len(errors)}):")
        lines.extend(f"  {e.get('symbol') or '-'}: {str(e.get('error'))[:160]}" for e in shown)
        if len(errors) > len(shown):
            lines.append(f"  ... {len(errors) - len(shown)} more in the run response")
    lines.append(timings)
    return "\n".join(lines[:MAX_LINES])


def _outcome_counts(outcomes: dict[str, dict[str, Any]]) -> str:
    """'2 simulated, 1 skipped (deviation_too_large)': statuses by count, skip reasons named."""
    counts = Counter(o.get("status") or "pending" for o in outcomes.values())
    reasons = Counter(str(o["reason"]) for o in outcomes.values() if o.get("reason"))
    text = ", ".join(f"{n} {status}" for status, n in counts.most_common())
    if reasons:
        text += " (" + ", ".join(f"{r[:40]} x{n}" for r, n in reasons.most_common(3)) + ")"
    return text
