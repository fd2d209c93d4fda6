"""Bitmart codes and HTTP statuses → the port's typed errors."""

from __future__ import annotations

import random

import pytest

from providers.bitmart.errors import (
    BanError,
    NotSentError,
    ServiceUnavailableError,
    from_response,
)
from providers.bitmart.retry import RetryPolicy
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

ENDPOINT = "POST /contract/private/submit-order"


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (401, 30001, "Header X-BM-KEY is empty", AuthError),
        (401, 30005, "Header X-BM-SIGN is wrong", AuthError),
        (401, 30007, "Header X-BM-TIMESTAMP range. Within a minute", AuthError),
        (403, 30010, "IP is forbidden", AuthError),
        (403, 30012, "Header X-BM-KEY is forbidden to request it", AuthError),
        (429, 30013, "Request too many requests", RateLimitError),
        (418, 30017, "Account request temporarily rejected", BanError),
        (400, 40013, "Access too often", RateLimitError),
        (400, 40027, "You contract account available balance not enough", InsufficientBalanceError),
        (200, 42000, "Insufficient balance", InsufficientBalanceError),
        (400, 40012, "Contract account balance not enough", InsufficientBalanceError),
        (404, 30000, "Not found", NotFoundError),
        (400, 40034, "The Symbol is not exist", NotFoundError),
        (400, 40035, "The order is not exist", NotFoundError),
        (400, 40037, "The order id is not exist", NotFoundError),
        (400, 40007, "Parse parameter error", InvalidOrderError),
        (400, 40011, "Invalid request", InvalidOrderError),
        (400, 40029, "Order leverage too large", InvalidOrderError),
        (400, 40030, "Order leverage too small", InvalidOrderError),
        (400, 40038, "The k-line step is invalid", InvalidOrderError),
        (400, 40043, "The order precision is invalid", InvalidOrderError),
        (400, 40044, "The order range is invalid", InvalidOrderError),
        (400, 40045, "The order open type is invalid", InvalidOrderError),
        (403, 40048, "ClientOrderId only allows letters and digits", InvalidOrderError),
        (403, 40049, "ClientOrderId longer than 32", InvalidOrderError),
        (403, 40050, "Client OrderId duplicated with existing orders", DuplicateOrderError),
        (400, 40021, "The position does not exist", InvalidOrderError),
        (200, 30016, "Service maintenance", MaintenanceError),
        (503, 30014, "Service unavailable", ServiceUnavailableError),
        (503, None, "", ServiceUnavailableError),
        (500, None, "", TransientError),
        (502, 1000, "Ok", TransientError),
        (429, None, "", RateLimitError),
        (418, None, "", BanError),
        (403, None, "", TransientError),  # an HTML page from the CDN, not Bitmart
        (200, None, "", TransientError),  # a 200 whose body is no envelope
        (401, 39999, "unknown", AuthError),
        (404, 39999, "unknown", NotFoundError),
        (400, 40012, "System error", ExchangeError),
    ],
)
def test_mapping(status: int, code: int | None, message: str, expected: type) -> None:
    error = from_response(ENDPOINT, status, code, message, trace="t-1")
    assert type(error) is expected
    assert error.code == code


def test_message_names_endpoint_status_code_text_and_trace() -> None:
    error = from_response(ENDPOINT, 400, 40044, "The order range is invalid", trace="abc-1")
    assert str(error) == (
        "POST /contract/private/submit-order: HTTP 400, code 40044: The order range is invalid "
        "(trace abc-1)"
    )


def test_rate_errors_carry_the_wait() -> None:
    limited = from_response(ENDPOINT, 429, 30013, "too many", retry_after=2.0)
    banned = from_response(ENDPOINT, 418, 30017, "rejected")
    assert isinstance(limited, RateLimitError) and limited.retry_after == 2.0
    assert isinstance(banned, RateLimitError) and banned.retry_after >= 30


@pytest.mark.parametrize(
    ("error", "idempotent", "retried"),
    [
        (RateLimitError("x", retry_after=1.0), False, True),
        (NotSentError("x"), False, True),
        (TransientError("x"), True, True),
        (TransientError("x"), False, False),
        (ServiceUnavailableError("x"), True, True),
        (MaintenanceError("x"), True, False),
        (InvalidOrderError("x", code=40044), True, False),
        (AuthError("x"), True, False),
        (NotFoundError("x"), True, False),
        (InsufficientBalanceError("x"), True, False),
    ],
)
def test_retry_decisions(error: ExchangeError, idempotent: bool, retried: bool) -> None:
    policy = RetryPolicy(attempts=3)
    assert policy.should_retry(error, 1, idempotent=idempotent) is retried
    assert policy.should_retry(error, 3, idempotent=idempotent) is False


def test_backoff_is_exponential_with_full_jitter_and_floored_by_rate_waits() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=4.0, ban_delay_s=30.0)
    rng = random.Random(7)
    delays = [policy.delay(TransientError("x"), attempt, rng) for attempt in (1, 2, 3, 4, 5)]
    for attempt, delay in enumerate(delays, start=1):
        assert 0 <= delay <= min(4.0, 2 ** (attempt - 1))
    assert policy.delay(RateLimitError("x", retry_after=2.0), 1, rng) >= 2.0
    assert policy.delay(BanError("x", retry_after=1.0), 1, rng) >= 30.0
