"""The engine's Prometheus metrics: what its processes count and time (counters, histograms).

Every process increments the same module-level metrics. Under Celery's prefork pool, and
whenever several processes share a host, `PROMETHEUS_MULTIPROC_DIR` names a folder where each
process keeps its values in a file of its own (named by host and pid, so containers sharing a
volume never write to one file); `mtf metrics serve` adds them up. Without it, values live in
the process (the embedded mode, tests).

State (open positions, protection, equity, the last completed run) is not kept here: it is read
from the database at scrape time (`mtf.observability.state`), so every host reports the same.

Hooks elsewhere are one call each: `run_recorded`, `run_finished`, `order_status`,
`exchange_request`, `ratelimit_headroom`, `risk_block`, `sweep_done`, `protective_order`.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, values
from prometheus_client import multiprocess as _multiprocess

from infra import clock

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def process_id() -> str:
    """This process's name in the multiprocess folder: host and pid (no underscores, which
    the folder's file names use as separators)."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def _setup() -> None:
    folder = multiprocess_dir()
    if folder:
        os.makedirs(folder, exist_ok=True)
        values.ValueClass = values.MultiProcessValue(process_identifier=process_id)


_setup()


def process_exited() -> None:
    """Forget this process's live gauges (a pool process that exits): its counters stay, so
    totals never go down."""
    folder = multiprocess_dir()
    if folder:
        _multiprocess.mark_process_dead(process_id(), folder)


# --- runs -------------------------------------------------------------------------------------

RUNS = Counter("mtf_runs", "Runs by profile and outcome.", ["profile", "status"])
SYMBOLS = Counter(
    "mtf_symbols", "Symbols decided by completed runs, by outcome.", ["profile", "status"]
)
CYCLE_DURATION = Histogram(
    "mtf_cycle_duration_seconds",
    "From a run's start to its recorded response.",
    ["profile"],
    buckets=(0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120),
)
CYCLE_LATENESS = Histogram(
    "mtf_cycle_lateness_seconds",
    "From the close of the candle a run decides on to its decisions (live runs, not replays).",
    ["profile"],
    buckets=(1, 2, 3, 4, 5, 6, 7.5, 10, 12.5, 15, 20, 30, 45, 60, 120),
)
STALE_CANDLES = Counter(
    "mtf_stale_candles",
    "Symbols a run left undecided because their newest candle was late.",
    ["profile"],
)

# --- orders and protection ----------------------------------------------------------------------

ORDERS = Counter("mtf_orders", "Entry decisions reaching a ledger status.", ["exchange", "status"])
RISK_BLOCKS = Counter("mtf_risk_blocks", "Entries held back by a risk limit.", ["limit"])
SWEEPS = Counter(
    "mtf_tpsl_sweeps",
    "TP/SL sweeps by outcome: protected (all), unprotected, unknown.",
    ["exchange", "outcome"],
)
PROTECTIVE_ORDERS = Counter(
    "mtf_protective_orders",
    "Protective orders sent: placed (first generation) or replaced (a later one).",
    ["exchange", "role", "kind"],
)

# --- exchange -----------------------------------------------------------------------------------

EXCHANGE_REQUESTS = Counter(
    "mtf_exchange_requests",
    "Exchange REST requests by rate-limit group and outcome.",
    ["endpoint_group", "outcome"],
)
RATELIMIT_HEADROOM = Gauge(
    "mtf_ratelimit_headroom_ratio",
    "Share of a rate-limit group's window still free, as the exchange last reported it.",
    ["group"],
    multiprocess_mode="livemostrecent",
)


# --- hooks ----------------------------------------------------------------------------------------


def run_recorded(profile: str, status: str) -> None:
    """A run ended with `status` (completed, failed, skipped, rejected, ...)."""
    RUNS.labels(profile, status).inc()


def run_finished(
    run: Any, status: str, response: Mapping[str, Any], request: Mapping[str, Any]
) -> None:
    """A run (`profile`, `started_ms`, `as_of_ms`) recorded its response: its outcome, its
    symbols, its duration and, unless its request replays a given minute (`as_of`), its
    lateness: from the close of the candle it decides on to now."""
    now = clock.now_ms()
    profile = run.profile
    run_recorded(profile, status)
    counts = response.get("run") or {}
    for key, label in (("ready", "ready"), ("invalid", "invalid"), ("skipped", "skipped")):
        SYMBOLS.labels(profile, label).inc(int(counts.get(key) or 0))
    SYMBOLS.labels(profile, "error").inc(int(counts.get("errors") or 0))
    stale = sum(1 for r in response.get("rejected_by") or () if r.get("reason") == "stale_candles")
    if stale:
        STALE_CANDLES.labels(profile).inc(stale)
    CYCLE_DURATION.labels(profile).observe(max(0.0, (now - run.started_ms) / 1000))
    if not request.get("as_of"):
        CYCLE_LATENESS.labels(profile).observe(max(0.0, (now - run.as_of_ms) / 1000))


def order_status(exchange: str, status: str) -> None:
    ORDERS.labels(exchange, status).inc()


def risk_block(limit: str) -> None:
    RISK_BLOCKS.labels(limit).inc()


def sweep_done(exchange: str, outcome: str) -> None:
    SWEEPS.labels(exchange, outcome).inc()


def protective_order(exchange: str, role: str, generation: int) -> None:
    PROTECTIVE_ORDERS.labels(exchange, role, "placed" if generation == 0 else "replaced").inc()


def exchange_request(group: str, error: BaseException | None = None) -> None:
    """One request's outcome: `ok`, or the error's kind (`rate_limit`, `transient`, ...)."""
    EXCHANGE_REQUESTS.labels(group, "ok" if error is None else error_kind(error)).inc()


def ratelimit_headroom(group: str, used: float | None, limit: float | None) -> None:
    if used is None or not limit:
        return
    RATELIMIT_HEADROOM.labels(group).set(max(0.0, 1.0 - used / limit))


def error_kind(error: BaseException) -> str:
    """`RateLimitError` -> `rate_limit`: a bounded label from the error's class."""
    name = type(error).__name__.removesuffix("Error") or "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
