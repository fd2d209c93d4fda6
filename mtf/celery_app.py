"""The Celery application (`celery -A mtf ...`)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, Task, signals
from celery.app import backends
from celery.loaders.app import AppLoader
from celery.worker.request import Request

from infra import clock
from infra import logging as mtf_logging
from infra.cluster import ClusterError, JoinReport, join_cluster
from infra.db import dispose_engines, ensure_schema, get_engine
from infra.settings import get_settings
from mtf import broker, health
from mtf.observability import worker as _metrics_bookkeeping  # noqa: F401  (signals)
from mtf.result_backend import backend_class

broker.install()
log = logging.getLogger("mtf.cluster")


class MtfCelery(Celery):
    """Celery with this project's Redis result backend (see `mtf.result_backend`), reading time
    from the cluster's clock: the ETA and expiry that beat, a retry or `celery call` put on a
    message are moments of that clock, whichever host sent it."""

    task_cls = "mtf.celery_app:ClusterTask"
    loader_cls = "mtf.celery_app:ClusterLoader"

    def _get_backend(self) -> Any:
        backend, url = backends.by_url(self.backend_cls or self.conf.result_backend, self.loader)
        return backend_class(backend)(app=self, url=url)

    def now(self) -> datetime:
        return clock.now().astimezone(self.timezone)


class ReferenceClockRequest(Request):
    """A received task whose ETA and expiry (moments of the cluster's clock) are turned into
    moments of this host's clock, which Celery's timers and expiry check read: a host ahead
    of the others neither drops a cycle as expired nor starts it early."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shift = timedelta(milliseconds=clock.offset_ms())
        if shift:
            if self._eta is not None:
                self._eta -= shift
            if self._expires is not None:
                self._expires -= shift


class ClusterTask(Task):
    Request = "mtf.celery_app:ReferenceClockRequest"


_joined: JoinReport | None = None


def process_role(argv: list[str] | None = None) -> str:
    """`worker`, `beat` or `worker+beat` (a worker with `-B`), from the command line."""
    args = sys.argv if argv is None else argv
    if "beat" in args:
        return "beat"
    return "worker+beat" if "-B" in args or "--beat" in args else "worker"


class ClusterLoader(AppLoader):
    """Runs the cluster checks when a worker or beat starts, before either touches the broker,
    the schedules or the rate limiter (`infra.cluster`); refuses to start on a problem."""

    def on_worker_init(self) -> None:
        global _joined
        super().on_worker_init()
        role = process_role()
        try:
            _joined = join_cluster(get_settings(), role)
        except ClusterError as exc:
            for line in exc.lines:
                print(f"mtf {role}: refusing to start: {line}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None


app = MtfCelery(
    "mtf",
    include=[
        "mtf.tasks.cycle",
        "mtf.tasks.orders",
        "mtf.tasks.tpsl",
        "mtf.tasks.maintenance",
        "mtf.tasks.backtest",
    ],
)
app.config_from_object("celeryconfig")
app.steps["worker"].add(health.WorkerHeartbeat)


def configure_embedded(celery_app: Celery = app) -> None:
    """Run every task in-process (no broker, no result backend): the embedded mode."""
    from mtf import services

    services.single_process()
    celery_app.conf.update(
        task_always_eager=True,
        task_eager_propagates=False,
        task_store_eager_result=False,
        broker_url="memory://localhost/",
        result_backend="disabled://",
    )


@signals.worker_init.connect
def _worker_init(**_: Any) -> None:
    # Migrate once in the parent, before the pool forks. A database that is down now is not a
    # reason to exit: tasks retry until it is back, and migrate on first use.
    try:
        ensure_schema()
    except Exception as exc:
        log.error("database unreachable at start (%s); tasks will retry", type(exc).__name__)


@signals.before_task_publish.connect
def _stamp_request_time(
    sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any
) -> None:
    # When a run was requested: an ad-hoc run's staleness counts from here, even if its message
    # waits in a backlog or is redelivered.
    if sender == "mtf.run_cycle" and headers is not None:
        headers.setdefault("mtf_requested_ms", clock.now_ms())


@signals.celeryd_after_setup.connect
@signals.beat_init.connect
def _report_joined(**_: Any) -> None:
    # Logging is configured by now (it was not when the checks ran).
    if _joined is not None:
        log.info("%s", _joined.summary())


@signals.worker_process_init.connect
def _worker_process_init(**_: Any) -> None:
    from mtf import services

    dispose_engines()
    services.cluster_process()
    if _joined is not None:
        # The offset came with the fork; the thread that keeps it measured did not.
        settings = get_settings()
        url = settings.database_url
        clock.start_sync(
            lambda: get_engine(url), settings.clock_sync_seconds, settings.max_clock_skew_seconds
        )


class OneLineRetries(logging.Filter):
    """The result backend logs a full traceback on every retry while Redis is away: keep one
    line per attempt (with the error's first line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Failed operation"):
            exc = record.exc_info[1]
            first = (str(exc).splitlines()[0] if str(exc) else "").replace("%", "%%")
            record.msg = f"{record.msg} ({type(exc).__name__}: {first})"
            record.exc_info = None
            record.exc_text = None
        return True


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _setup_logging(logger: logging.Logger, **_: Any) -> None:
    secrets = get_settings().secret_values()
    for handler in logger.handlers:
        mtf_logging.install_filters(handler, secrets)
        handler.addFilter(OneLineRetries())
