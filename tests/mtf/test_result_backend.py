"""The Redis result backend does not subscribe to result channels inside tasks (celery#4824)."""

from __future__ import annotations

import pytest
from celery import Celery
from celery.backends.redis import RedisBackend as CeleryRedisBackend
from celery.result import allow_join_result, denied_join_result

from mtf.celery_app import MtfCelery, app
from mtf.result_backend import RedisBackend, backend_class

pytestmark = pytest.mark.services


def test_the_app_uses_this_backend_for_redis_urls(redis_url: str) -> None:
    assert backend_class(CeleryRedisBackend) is RedisBackend
    other = object
    assert backend_class(other) is other
    probe = MtfCelery("probe", backend=redis_url)
    assert isinstance(probe.backend, RedisBackend)
    assert isinstance(app, Celery)


def test_no_subscription_where_nothing_can_wait(redis_url: str) -> None:
    probe = MtfCelery("probe", backend=redis_url)
    backend = probe.backend
    inside = probe.AsyncResult("inside-a-task")
    with denied_join_result():  # what a worker process runs tasks under
        backend.add_pending_result(inside)
    assert backend.result_consumer.subscribed_to == set()
    outside = probe.AsyncResult("in-a-client")
    with allow_join_result():  # a client that may wait: Celery's behaviour is kept
        backend.add_pending_result(outside)
    assert any(b"in-a-client" in key for key in backend.result_consumer.subscribed_to)
    backend.remove_pending_result(outside)
