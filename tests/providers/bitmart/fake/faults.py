"""Programmable faults: the next N matching requests fail in a chosen way.

A fault is matched by path and/or method (None matches anything) before the request reaches
routing, auth or rate limiting, like a failure in front of the exchange. With `executed=True`
the request is carried out first and only its answer is lost, which is how a client learns
that a timed-out order may still have been placed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from enum import Enum

from .limits import rule_for
from .wire import CODES, Reply, envelope

CLOUDFLARE_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
    b"<hr><center>cloudflare</center></body></html>\n"
)


class FaultKind(Enum):
    SERVER_ERROR = "server_error"  # 5xx with the JSON envelope
    CLOUDFLARE = "cloudflare"  # 503 with an HTML body
    TIMEOUT = "timeout"  # no answer before the client gives up
    DISCONNECT = "disconnect"  # connection closed without an answer
    MALFORMED = "malformed"  # 200 with a truncated JSON body
    RATE_LIMIT = "rate_limit"  # 429 + 30013 with the rate-limit headers
    MAINTENANCE = "maintenance"  # 200 + 30016
    BAN = "ban"  # 418 + 30017


@dataclass(frozen=True)
class Fault:
    """How one request fails; build with the class methods."""

    kind: FaultKind
    status: int = 500
    code: int = 30014
    delay_s: float = 0.0
    executed: bool = False

    @classmethod
    def server_error(cls, status: int = 500, *, code: int = 30014, executed: bool = False) -> Fault:
        if not 500 <= status <= 599:
            raise ValueError(f"a server error has a 5xx status, got {status}")
        return cls(FaultKind.SERVER_ERROR, status=status, code=code, executed=executed)

    @classmethod
    def cloudflare(cls) -> Fault:
        return cls(FaultKind.CLOUDFLARE, status=503)

    @classmethod
    def timeout(cls, delay_s: float = 30.0, *, executed: bool = False) -> Fault:
        """Answer after `delay_s` (served) or raise `httpx.ReadTimeout` at once (in-process)."""
        return cls(FaultKind.TIMEOUT, status=200, delay_s=delay_s, executed=executed)

    @classmethod
    def disconnect(cls, *, executed: bool = False) -> Fault:
        return cls(FaultKind.DISCONNECT, status=0, executed=executed)

    @classmethod
    def malformed(cls, *, executed: bool = False) -> Fault:
        return cls(FaultKind.MALFORMED, status=200, executed=executed)

    @classmethod
    def rate_limit(cls) -> Fault:
        return cls(FaultKind.RATE_LIMIT, status=429, code=30013)

    @classmethod
    def maintenance(cls) -> Fault:
        return cls(FaultKind.MAINTENANCE, status=200, code=30016)

    @classmethod
    def ban(cls) -> Fault:
        return cls(FaultKind.BAN, status=418, code=30017)


@dataclass(frozen=True)
class _Armed:
    fault: Fault
    remaining: int
    path: str | None
    method: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (
            self.method is None or self.method == method.upper()
        )


class FaultQueue:
    """Faults waiting for their requests, first added first served."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()

    def add(
        self, fault: Fault, *, times: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """Fail the next `times` requests matching `path` and `method` with `fault`."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        armed = _Armed(fault, times, path, method.upper() if method else None)
        with self._lock:
            self._armed.append(armed)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if one is armed for it."""
        with self._lock:
            for i, armed in enumerate(self._armed):
                if armed.matches(method, path):
                    if armed.remaining == 1:
                        del self._armed[i]
                    else:
                        self._armed[i] = replace(armed, remaining=armed.remaining - 1)
                    return armed.fault
        return None

    @property
    def pending(self) -> int:
        """Requests still to be failed."""
        with self._lock:
            return sum(a.remaining for a in self._armed)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()


def render(fault: Fault, path: str) -> Reply:
    """The answer a fault gives."""
    name = fault.kind.value
    json_headers = {"Content-Type": "application/json"}
    if fault.kind is FaultKind.CLOUDFLARE:
        headers = {"Content-Type": "text/html; charset=UTF-8", "Server": "cloudflare"}
        return Reply(503, headers, CLOUDFLARE_HTML, fault=name)
    if fault.kind is FaultKind.TIMEOUT:
        body = envelope(1000, "Ok", {})
        return Reply(200, json_headers, body, delay=fault.delay_s, fault=name)
    if fault.kind is FaultKind.DISCONNECT:
        return Reply(0, {}, b"", drop=True, fault=name)
    if fault.kind is FaultKind.MALFORMED:
        body = envelope(1000, "Ok", {"symbols": [{"symbol": "BTCUSDT"}]})
        return Reply(200, json_headers, body[: len(body) // 2], fault=name)
    headers = dict(json_headers)
    if fault.kind is FaultKind.RATE_LIMIT:
        rule = rule_for(path)
        headers |= {
            "X-BM-RateLimit-Remaining": str(rule.limit),
            "X-BM-RateLimit-Limit": str(rule.limit),
            "X-BM-RateLimit-Reset": str(rule.window_s),
        }
    message = CODES[fault.code][1] if fault.code in CODES else "Internal Server Error"
    return Reply(
        fault.status, headers, envelope(fault.code, message, {}), code=fault.code, fault=name
    )
