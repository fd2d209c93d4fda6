"""One request, on the wire: authenticate, rate-limit, send, read the envelope, retry.

Everything that touches the network goes through `Session.call`, and the network itself is
the `httpx.Client` given to it (tests swap its transport). Logged at DEBUG: method, path,
HTTP status, code and duration — never headers, bodies or query values.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError

from infra import telemetry
from providers.bitmart import errors
from providers.bitmart.credentials import ENV_VARS, Credentials
from providers.bitmart.endpoints import Auth, Endpoint
from providers.bitmart.models import Envelope
from providers.bitmart.ratelimit import RateLimiter
from providers.bitmart.retry import RetryPolicy
from providers.bitmart.signing import compact_json, signature
from providers.port import AuthError, ExchangeError, RateLimitError, TransientError

log = logging.getLogger("providers.bitmart")

SUCCESS = 1000
TIMESTAMP_REFUSED = 30007  # X-BM-TIMESTAMP too far from the exchange's clock
USED_HEADER = "X-BM-RateLimit-Remaining"  # despite its name: requests already used
LIMIT_HEADER = "X-BM-RateLimit-Limit"
WINDOW_HEADER = "X-BM-RateLimit-Reset"  # the window length in seconds, not a moment

Params = Mapping[str, str | int | None]


class Session:
    """Sends calls for a `BitmartClient`; holds no state besides its collaborators."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: Credentials | None,
        limiter: RateLimiter,
        retry: RetryPolicy,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        resync_clock: Callable[[], None] | None = None,
    ) -> None:
        self.http = http
        self.resync_clock = resync_clock
        self.credentials = credentials
        self.limiter = limiter
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._secrets = credentials.secret_values() if credentials else ()
        self._owner = credentials.key_id if credentials else ""

    def call(
        self,
        endpoint: Endpoint,
        *,
        params: Params | None = None,
        body: Mapping[str, object] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """The `data` of a successful call; the mapped `ExchangeError` otherwise."""
        if endpoint.auth is not Auth.NONE and self.credentials is None:
            raise AuthError(
                f"{endpoint.name} needs Bitmart API credentials: set {', '.join(ENV_VARS)}"
            )
        query = {k: v for k, v in (params or {}).items() if v is not None}
        text = compact_json(body or {}) if endpoint.method == "POST" else None
        safe = endpoint.idempotent if idempotent is None else idempotent
        attempt = 0
        resynced = False
        while True:
            attempt += 1
            self.limiter.acquire(endpoint.group, self._owner)
            try:
                data = self._send(endpoint, query, text, attempt)
                telemetry.exchange_request(endpoint.group)
                return data
            except ExchangeError as exc:
                telemetry.exchange_request(endpoint.group, exc)
                if exc.code == TIMESTAMP_REFUSED and self.resync_clock and not resynced:
                    # Refused before anything was done: measure the exchange's clock, resend.
                    log.warning(
                        "%s: timestamp refused (30007); re-reading server time", endpoint.name
                    )
                    self.resync_clock()
                    resynced = True
                    continue
                if isinstance(exc, RateLimitError):
                    self.limiter.block(endpoint.group, self._owner, exc.retry_after)
                if not self.retry.should_retry(exc, attempt, idempotent=safe):
                    raise
                wait = self.retry.delay(exc, attempt, self.rng)
                log.warning(
                    "%s attempt %d failed with %s (code %s); retrying in %.2f s",
                    endpoint.name,
                    attempt,
                    type(exc).__name__,
                    exc.code,
                    wait,
                )
                self.sleep(wait)

    def _send(
        self, endpoint: Endpoint, query: Mapping[str, str | int], text: str | None, attempt: int
    ) -> Any:
        headers = self._headers(endpoint, text)
        started = time.perf_counter()
        try:
            response = self.http.request(
                endpoint.method,
                endpoint.path,
                params=query or None,
                content=None if text is None else text.encode(),
                headers=headers,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise errors.NotSentError(self._redact(f"{endpoint.name}: not sent: {exc!r}")) from None
        except httpx.TimeoutException as exc:
            raise TransientError(self._redact(f"{endpoint.name}: timed out: {exc!r}")) from None
        except httpx.TransportError as exc:
            raise TransientError(self._redact(f"{endpoint.name}: transport: {exc!r}")) from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        window = self._observe_limits(endpoint, response.headers)
        envelope = _envelope(response.content)
        code = None if envelope is None else envelope.code
        log.debug(
            "%s -> HTTP %d code %s in %.1f ms (attempt %d)",
            endpoint.name,
            response.status_code,
            code,
            elapsed_ms,
            attempt,
        )
        if envelope is not None and response.is_success and envelope.code == SUCCESS:
            return envelope.data
        raise errors.from_response(
            endpoint.name,
            response.status_code,
            code,
            self._redact("" if envelope is None else envelope.message),
            trace="" if envelope is None else self._redact(envelope.trace),
            retry_after=window,
        )

    def _headers(self, endpoint: Endpoint, text: str | None) -> dict[str, str]:
        if endpoint.auth is Auth.NONE or self.credentials is None:
            return {}
        creds = self.credentials
        headers = {"X-BM-KEY": creds.api_key.get_secret_value()}
        if endpoint.auth is Auth.SIGNED:
            # A fresh timestamp per attempt: a retry after a long wait stays inside the
            # exchange's one-minute window; the body text (what is signed) stays the same.
            stamp = str(int(self.clock() * 1000))
            headers["X-BM-TIMESTAMP"] = stamp
            headers["X-BM-SIGN"] = signature(
                creds.secret.get_secret_value(), stamp, creds.memo.get_secret_value(), text or ""
            )
            headers["Content-Type"] = "application/json"
        return headers

    def _observe_limits(self, endpoint: Endpoint, headers: httpx.Headers) -> float | None:
        """Block the group for the window when the exchange says it is used up; the window."""
        used, limit, window = (
            _number(headers.get(h)) for h in (USED_HEADER, LIMIT_HEADER, WINDOW_HEADER)
        )
        telemetry.ratelimit_headroom(endpoint.group, used, limit)
        if window is None or window <= 0:
            return None
        if used is not None and limit is not None and used >= limit:
            log.debug(
                "%s: exchange reports %d/%d used, pausing %.1f s",
                endpoint.name,
                used,
                limit,
                window,
            )
            self.limiter.block(endpoint.group, self._owner, window)
        return window

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "****")
        return text


def _envelope(content: bytes) -> Envelope | None:
    """The parsed envelope, or None when the body is not one (HTML, truncated, empty)."""
    try:
        raw = json.loads(content, parse_float=Decimal)
        return Envelope.model_validate(raw) if isinstance(raw, dict) else None
    except (ValueError, UnicodeDecodeError, ValidationError):
        return None


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None
