"""`mtf metrics serve`: one HTTP endpoint with the processes' counters (merged from the
multiprocess folder when `PROMETHEUS_MULTIPROC_DIR` is set, else this process's own) and the
state gauges read from the database, behind a bearer token or basic auth when configured.

Paths: `/metrics` (authenticated when configured) and `/healthz` (never: a liveness probe).
"""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine

from infra import telemetry
from infra.settings import Settings
from mtf.observability.state import StateCollector

log = logging.getLogger("mtf.metrics")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: The process metrics of `infra.telemetry`, served directly when there is no multiprocess
#: folder to merge.
PROCESS_METRICS = (
    telemetry.RUNS,
    telemetry.SYMBOLS,
    telemetry.CYCLE_DURATION,
    telemetry.CYCLE_LATENESS,
    telemetry.STALE_CANDLES,
    telemetry.ORDERS,
    telemetry.RISK_BLOCKS,
    telemetry.SWEEPS,
    telemetry.PROTECTIVE_ORDERS,
    telemetry.EXCHANGE_REQUESTS,
    telemetry.RATELIMIT_HEADROOM,
)


def build_registry(engine: Engine, settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry()
    folder = telemetry.multiprocess_dir()
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    registry.register(StateCollector(engine, settings))
    return registry


class Auth:
    """What the endpoint asks of a client: nothing, a bearer token, or basic credentials (either
    accepted when both are configured)."""

    def __init__(self, token: str = "", basic: str = "") -> None:
        if basic and ":" not in basic:
            raise ValueError("MTF_METRICS_BASIC_AUTH must be user:password")
        self._token = token
        self._basic = basic

    @classmethod
    def from_settings(cls, settings: Settings) -> Auth:
        return cls(
            settings.metrics_token.get_secret_value(),
            settings.metrics_basic_auth.get_secret_value(),
        )

    @property
    def required(self) -> bool:
        return bool(self._token or self._basic)

    def allows(self, header: str | None) -> bool:
        if not self.required:
            return True
        scheme, _, value = (header or "").partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self._token:
            return hmac.compare_digest(value.strip().encode(), self._token.encode())
        if scheme == "basic" and self._basic:
            try:
                given = base64.b64decode(value.strip(), validate=True)
            except ValueError:
                return False
            return hmac.compare_digest(given, self._basic.encode())
        return False


def metrics_app(registry: CollectorRegistry, auth: Auth) -> WSGIApp:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: the metrics are at /metrics\n"]
        if not auth.allows(environ.get("HTTP_AUTHORIZATION")):
            challenge = 'Basic realm="mtf metrics"' if auth._basic else "Bearer"
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", challenge)],
            )
            return [b"unauthorized\n"]
        return metrics(environ, start_response)

    return app


def serve(engine: Engine, settings: Settings, *, host: str, port: int) -> ThreadingWSGIServer:
    """A started-on-`serve_forever` server (the caller runs it); port 0 picks a free one."""
    app = metrics_app(build_registry(engine, settings), Auth.from_settings(settings))
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    return server
