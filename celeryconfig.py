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
# died is put back; money-touching tasks are idempotent on their decision key, cycle steps on
# their run's state.
task_acks_late = True
task_reject_on_worker_lost = True
# Validation batches arrive in bursts: a few reserved messages per process keep every process
# busy between them (measured: a 600-symbol cycle 1.5 s with 1, 0.95 s with 4). Order workers
# run with --prefetch-multiplier 1 so one slow exchange call never holds other orders back.
worker_prefetch_multiplier = 4
# A message reserved by a worker that died (SIGKILL of its main process, a lost host) goes
# back to its queue after the visibility timeout. It must outlast the longest a healthy worker
# holds a message before acknowledging it: cycle steps have hard time limits of at most 60 s,
# the longest countdown is the TP/SL sweep's 30 s, order tasks finish within their HTTP timeouts
# and retries (each retry is a new message). A killed worker's cycle does not wait for it: the
# run reaper declares it abandoned at its deadline (within the minute for a 1m profile), and the
# redelivered messages then find the run over and do nothing. A backtest sweep part that runs
# longer than the timeout may be computed twice; it is kept once.
broker_transport_options = {
    "visibility_timeout": _settings.visibility_timeout_seconds,
    # Fail fast on a dead Redis instead of hanging a publish or a poll.
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "retry_on_timeout": True,
    "health_check_interval": 10,
}
# Time limits per task family, all within the visibility timeout (a healthy worker's message
# is never handed to another while it runs). Cycle steps set theirs on the task (validation
# batches: MTF_VALIDATE_TIME_LIMIT_SECONDS). Order tasks have none: killing one mid-send would
# leave its decision claimed; their HTTP timeouts and retries bound them instead.
task_annotations = {
    "mtf.recalc_tpsl": {"soft_time_limit": 100, "time_limit": 120},
    "mtf.cleanup": {"soft_time_limit": 140, "time_limit": 150},
    "mtf.sync_contracts": {"soft_time_limit": 140, "time_limit": 150},
}
# A safety net for processes that run for days: Python-level allocations stay flat over
# hundreds of cycles (benchmarks/bench_soak.py), but freed numpy buffers may keep the resident
# size creeping; a child past this many KiB is replaced after its current task.
worker_max_memory_per_child = 600_000
# Redis going away: workers reconnect for ever (one log line per attempt, backoff up to 8 s) and
# carry on with what they hold; publishers retry a publish a few times before failing it.
broker_connection_retry_on_startup = True
broker_connection_retry = True
broker_connection_max_retries = None
broker_connection_timeout = 5
task_publish_retry_policy = {
    "max_retries": 3,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 1,
}
redis_socket_timeout = 10
redis_socket_connect_timeout = 5
redis_retry_on_timeout = True
redis_backend_health_check_interval = 10
result_backend_always_retry = True
result_backend_max_retries = 10
result_backend_base_sleep_between_retries_ms = 200
result_backend_max_sleep_between_retries_ms = 4000

# Visibility in Flower: task events from the worker's start, so a Flower started (or restarted)
# later still sees every task the workers run from then on, sent ones included, without waiting
# for Flower to switch events on.
worker_send_task_events = True
task_send_sent_event = True
task_track_started = True

# Beat: cycle schedules live in the database and are dispatched (each scheduled time claimed
# once, accounted for) by the durable scheduler; RedBeat keeps the static entries (TP/SL sweep,
# maintenance) in Redis and the leader lock. A standby beat takes over within the lock timeout
# plus one loop (about 11 s).
beat_scheduler = "schedules.scheduler:DurableScheduler"
redbeat_redis_url = _settings.redis_url
redbeat_key_prefix = "mtf:redbeat"
redbeat_redis_options: dict[str, object] = {
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
    "health_check_interval": 10,
}
redbeat_lock_timeout = _settings.beat_lock_timeout_seconds
beat_max_loop_interval = _settings.beat_loop_seconds
beat_schedule = _beat_schedule(_settings)

timezone = "UTC"
enable_utc = True
worker_hijack_root_logger = False
