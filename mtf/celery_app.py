"""The Celery application (`celery -A mtf ...`)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals
from celery.app import backends

from infra import logging as mtf_logging
from infra.db import dispose_engines, ensure_schema
from infra.settings import get_settings
from mtf.result_backend import backend_class


class MtfCelery(Celery):
    """Celery with this project's Redis result backend (see `mtf.result_backend`)."""

    def _get_backend(self) -> Any:
        backend, url = backends.by_url(self.backend_cls or self.conf.result_backend, self.loader)
        return backend_class(backend)(app=self, url=url)


app = MtfCelery(
    "mtf",
    include=["mtf.tasks.cycle", "mtf.tasks.orders", "mtf.tasks.tpsl", "mtf.tasks.maintenance"],
)
app.config_from_object("celeryconfig")


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
    # Migrate once in the parent, before the pool forks.
    ensure_schema()


@signals.worker_process_init.connect
def _worker_process_init(**_: Any) -> None:
    from mtf import services

    dispose_engines()
    services.reset()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _setup_logging(logger: logging.Logger, **_: Any) -> None:
    secrets = get_settings().secret_values()
    for handler in logger.handlers:
        mtf_logging.install_filters(handler, secrets)
