"""Bitmart error codes and HTTP statuses → the typed errors of `providers.port`.

Codes decide first (reference §3.3), the HTTP status only when the code says nothing we
know; an insufficient-balance message wins over its code (seen with 40012). Every message
names the endpoint, the HTTP status, the code, the exchange's words and the trace id.
"""

from __future__ import annotations

from providers.port import (
    AuthError,
    DuplicateOrderError,
    ExchangeError,
    InsufficientBalanceError,
    InvalidOrderError,
    MaintenanceError,
    NotFoundError,
    RateLimitError,
    TransientError,
)


class BanError(RateLimitError):
    """HTTP 418 / code 30017: the account or address is banned for a while (after 429s)."""


class ServiceUnavailableError(MaintenanceError):
    """HTTP 503 / code 30014: the service is briefly unavailable (retried, unlike 30016)."""


class NotSentError(TransientError):
    """The connection failed before the request went out: resending is always safe."""


_AUTH = {30001, 30002, 30003, 30004, 30005, 30006, 30007, 30008, 30010, 30011, 30012, 30019}
_AUTH |= {40006, 40008, 40046, 40047}
_RATE = {30013, 40013}
_BALANCE = {40027, 42000}
_NOT_FOUND = {30000, 40034, 40035, 40037}
_INVALID = {40007, 40011, 40029, 40030, 40048, 40049, 40059}
_INVALID |= set(range(40038, 40046))
# Symbol state, position and plan-order rules: the order cannot be accepted as asked.
_INVALID |= {40014, 40015, 40028, 40031, 40032, 40033, 40036}
_INVALID |= set(range(40016, 40027))
_MAINTENANCE = {30016, 25601}
_BALANCE_WORDS = ("balance not enough", "insufficient balance")

#: Seconds to wait after a 429 when the response carries no rate-limit headers.
DEFAULT_RATE_WAIT_S = 2.0
#: Seconds to stay away after a ban (418 / 30017).
DEFAULT_BAN_WAIT_S = 30.0


def describe(endpoint: str, status: int, code: int | None, message: str, trace: str = "") -> str:
    """`POST /contract/private/submit-order: HTTP 400, code 40044: The order range is invalid`."""
    text = f"{endpoint}: HTTP {status}"
    if code is not None:
        text += f", code {code}"
    if message:
        text += f": {message}"
    if trace:
        text += f" (trace {trace})"
    return text


def from_response(
    endpoint: str,
    status: int,
    code: int | None,
    message: str,
    *,
    trace: str = "",
    retry_after: float | None = None,
) -> ExchangeError:
    """The port error for a failed call (`code` None when the body had no envelope)."""
    text = describe(endpoint, status, code, message, trace)
    lowered = message.lower()
    if any(words in lowered for words in _BALANCE_WORDS) or code in _BALANCE:
        return InsufficientBalanceError(text, code=code)
    if code is not None:
        mapped = _by_code(text, code, retry_after)
        if mapped is not None:
            return mapped
    return _by_status(text, status, code, retry_after)


def _by_code(text: str, code: int, retry_after: float | None) -> ExchangeError | None:
    if code == 30017:
        return BanError(text, code=code, retry_after=retry_after or DEFAULT_BAN_WAIT_S)
    if code in _RATE:
        return RateLimitError(text, code=code, retry_after=retry_after or DEFAULT_RATE_WAIT_S)
    if code in _AUTH:
        return AuthError(text, code=code)
    if code == 40050:
        return DuplicateOrderError(text, code=code)
    if code in _NOT_FOUND:
        return NotFoundError(text, code=code)
    if code in _INVALID:
        return InvalidOrderError(text, code=code)
    if code == 30014:
        return ServiceUnavailableError(text, code=code)
    if code in _MAINTENANCE:
        return MaintenanceError(text, code=code)
    return None


def _by_status(
    text: str, status: int, code: int | None, retry_after: float | None
) -> ExchangeError:
    if status == 418:
        return BanError(text, code=code, retry_after=retry_after or DEFAULT_BAN_WAIT_S)
    if status == 429:
        return RateLimitError(text, code=code, retry_after=retry_after or DEFAULT_RATE_WAIT_S)
    if status == 503:
        return ServiceUnavailableError(text, code=code)
    if status >= 500:
        return TransientError(text, code=code)
    if code is None:
        # No envelope at all (a CDN page, a truncated body): nothing says the request failed
        # for a reason that would stay true, so it is worth another try.
        return TransientError(f"{text}; the body is not a Bitmart JSON envelope", code=code)
    if status in (401, 403):
        return AuthError(text, code=code)
    if status == 404:
        return NotFoundError(text, code=code)
    return ExchangeError(text, code=code)
