"""The real Bitmart adapter wired to the fake Bitmart, for every suite that trades through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from providers.bitmart import BitmartClient, BitmartExchange, Credentials, InMemoryRateLimiter
from tests.providers.bitmart.fake.credentials import Credentials as FakeCredentials
from tests.providers.bitmart.fake.market import Endpoint


def bitmart_client(
    endpoint: Endpoint, creds: FakeCredentials, clock: Callable[[], int], **options: Any
) -> BitmartExchange:
    """The real Bitmart adapter, talking the wire format to the fake server: over HTTP when
    `endpoint` is its URL, in-process when it is its transport."""
    credentials = Credentials(
        SecretStr(creds.api_key), SecretStr(creds.secret), SecretStr(creds.memo)
    )
    if isinstance(endpoint, str):
        client = BitmartClient(endpoint, credentials, limiter=InMemoryRateLimiter())
    else:
        client = BitmartClient(
            "https://fake.bitmart.test",
            credentials,
            transport=endpoint,
            limiter=InMemoryRateLimiter(),
        )
    return BitmartExchange(client, clock=clock, **options)
