"""Celery configuration, read from the environment through `infra.settings`.

Queues: `mtf` (cycles, symbol validation, reducers), `orders` (placement and order watchers),
`tpsl` (TP/SL sweeps), `maintenance` (contract and kline sync, cleanup) and `backtest` (parts of
parameter sweeps). Run one worker per queue family in production so a slow order call never
delays a validation, and backtests never share processes with live cycles.
"""

from __future__ import annotations

from kombu import Queue

from infra.settings import get_settings
from schedules.beat import beat_schedule as _beat_schedule

_settings = get_settings()

broker_url = _settings.broker_url
result_backend = _settings.result_backend

# msgpack: compact and fast for the many small validation results; no compression (measured
# slower than the bytes it saves on a local network).
task_serializer = "msgpack"
result_serializer = "msgpack"
accept_content = ["msgpack", "json"]
result_compression = None
result_expires = 3600

task_default_queue = "mtf"
task_queues = (
    Queue("mtf"),
    Queue("orders"),
    Queue("tpsl"),
    Queue("maintenance"),
    Queue("backtest"),
)
task_routes = {
    "mtf.place_order": {"queue": "orders"},
    "mtf.watch_order": {"queue": "orders"},
    "mtf.recalc_tpsl": {"queue": "tpsl"},
    "mtf.sync_contracts": {"queue": "maintenance"},
    "mtf.sync_klines": {"queue": "maintenance"},
    "mtf.cleanup": {"queue": "maintenance"},
    "mtf.backtest_signals": {"queue": "backtest"},
    "mtf.backtest_trades": {"queue": "backtest"},
    "mtf.*": {"queue": "mtf"},
}

# Reliability: a task is acknowledged only once it has run, and a task whose worker process
# died is put back; money-touching tasks are idempotent on their decision key.
task_acks_late = True
task_reject_on_worker_lost = True
# Validation batches arrive in bursts: a few reserved messages per process keep every process
# busy between them (measured: a 600-symbol cycle 1.5 s with 1, 0.95 s with 4). Order workers
# run with --prefetch-multiplier 1 so one slow exchange call never holds other orders back.
worker_prefetch_multiplier = 4
broker_transport_options = {"visibility_timeout": 300}
# A safety net for processes that run for days: Python-level allocations stay flat over
# hundreds of cycles (benchmarks/bench_soak.py), but freed numpy buffers may keep the resident
# size creeping; a child past this many KiB is replaced after its current task.
worker_max_memory_per_child = 600_000
broker_connection_retry_on_startup = True

# Visibility in Flower: task events from the worker's start, so a Flower started (or restarted)
# later still sees every task the workers run from then on, sent ones included, without waiting
# for Flower to switch events on.
worker_send_task_events = True
task_send_sent_event = True
task_track_started = True

# Beat: RedBeat keeps schedules in Redis (editable at run time, one leader among beats).
beat_scheduler = "redbeat.RedBeatScheduler"
redbeat_redis_url = _settings.redis_url
redbeat_key_prefix = "mtf:redbeat"
redbeat_redis_options: dict[str, object] = {}
redbeat_lock_timeout = 90
beat_max_loop_interval = 5
beat_schedule = _beat_schedule(_settings)

timezone = "UTC"
enable_utc = True
worker_hijack_root_logger = False
