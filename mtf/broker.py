"""The Redis broker transport, with kombu's channel shutdown made safe after a connection loss.

When Redis goes away under a worker holding unacknowledged messages, Celery collects the broken
connection (which detaches the transport from its client) and then closes it; closing the
consuming channel tries to restore the unacknowledged messages, and building a Redis client for
that reads the detached client's host: `AttributeError: 'NoneType' object has no attribute
'hostname'`, which kombu does not count as a connection error, so the worker exits
("Unrecoverable error") instead of reconnecting.

Here a detached channel raises the connection error it is, so the shutdown path ignores it as it
ignores any other connection error and the worker reconnects. Nothing is lost: the messages stay
in Redis's unacknowledged set and are delivered again once their visibility timeout passes (the
tasks are idempotent under redelivery); a Redis that restarted without persistence has lost them
anyway, and the run reaper accounts for their runs.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

DETACHED = "the broker connection was closed (Redis unreachable); reconnecting"


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError(DETACHED)
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    """Serve `redis://` and `rediss://` broker URLs with this transport (idempotent)."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
