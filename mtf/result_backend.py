"""The Redis result backend, without the pub/sub subscriptions nobody reads.

Applying a chord makes the applying process subscribe to every header member's result
channel, through the barrier of the `GroupResult` it builds (celery#4824). Inside a worker
nothing ever waits: the subscriptions are never read, Redis buffers every result published to
them until it drops the connection at its pub/sub output limit, and the subscriptions pile up.
This backend skips subscriptions where nothing may wait (inside tasks); everything else is
Celery's Redis backend.
"""

from __future__ import annotations

from typing import Any

from celery._state import task_join_will_block
from celery.backends.redis import RedisBackend as CeleryRedisBackend


class RedisBackend(CeleryRedisBackend):
    def add_pending_result(
        self, result: Any, weak: bool = False, start_drainer: bool = True
    ) -> Any:
        if task_join_will_block():
            # Inside a task nothing may wait on a result (Celery refuses result.get() there
            # unless allow_join_result() lifts this flag), so a subscription would never be read.
            return result
        return super().add_pending_result(result, weak=weak, start_drainer=start_drainer)


def backend_class(resolved: type[Any]) -> type[Any]:
    """This backend in place of Celery's Redis backend (whatever URL or CLI option chose it)."""
    return RedisBackend if resolved is CeleryRedisBackend else resolved
