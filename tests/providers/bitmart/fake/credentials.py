"""API credentials and Bitmart's request signature (reference §4.3)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    """An API key, its secret and the memo chosen when the key was created."""

    api_key: str
    secret: str
    memo: str


#: The project's test key (reference §4.4).
TEST_API_KEY = "bmk_test_key_0001"
TEST_SECRET = "s3cr3t_for_tests_only_0123456789abcdef"
TEST_MEMO = "unit-test-memo"
TEST_CREDENTIALS = Credentials(TEST_API_KEY, TEST_SECRET, TEST_MEMO)


def sign(secret: str, memo: str, timestamp: str, payload: bytes | str) -> str:
    """Lowercase hex HMAC-SHA256 of `timestamp#memo#payload`, the payload taken byte for byte."""
    raw = payload.encode() if isinstance(payload, str) else payload
    message = f"{timestamp}#{memo}#".encode() + raw
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(credentials: Credentials, timestamp_ms: int, body: bytes) -> dict[str, str]:
    """The headers of a SIGNED request carrying `body`."""
    stamp = str(timestamp_ms)
    return {
        "X-BM-KEY": credentials.api_key,
        "X-BM-TIMESTAMP": stamp,
        "X-BM-SIGN": sign(credentials.secret, credentials.memo, stamp, body),
        "Content-Type": "application/json",
    }
