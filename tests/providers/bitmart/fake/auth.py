"""Authentication of one request (reference §4, §12.2); pure.

Public paths need nothing. KEYED GETs need a known `X-BM-KEY` and nothing else: their
signature is never checked, whatever the client sends. SIGNED POSTs also need a millisecond
`X-BM-TIMESTAMP` within a minute of the server's wall clock and an `X-BM-SIGN` computed over the
raw body bytes.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from enum import Enum

from .credentials import Credentials, sign
from .wire import WireError

#: How far a request timestamp may be from the server's wall clock.
TIMESTAMP_WINDOW_MS = 60_000


class Level(Enum):
    NONE = "none"
    KEYED = "keyed"
    SIGNED = "signed"


def authenticate(
    level: Level,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, Credentials],
    wall_ms: int,
) -> Credentials | None:
    """The caller's credentials (None on public paths); `WireError` with the auth code otherwise.

    `headers` must have lower-case names.
    """
    if level is Level.NONE:
        return None
    key = headers.get("x-bm-key", "")
    if not key:
        raise WireError(30001)
    credentials = keys.get(key)
    if credentials is None:
        raise WireError(30002)
    if level is Level.KEYED:
        return credentials
    stamp = headers.get("x-bm-timestamp", "")
    if not stamp:
        raise WireError(30006)
    if not stamp.isascii() or not stamp.isdigit():
        raise WireError(30008, f"{stamp!r} is not a number of milliseconds")
    if abs(int(stamp) - wall_ms) > TIMESTAMP_WINDOW_MS:
        raise WireError(30007, f"timestamp {stamp} is more than 60 s from server time {wall_ms}")
    given = headers.get("x-bm-sign", "")
    if not given:
        raise WireError(30004)
    expected = sign(credentials.secret, credentials.memo, stamp, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise WireError(30005)
    return credentials
