"""Bitmart request signatures: HMAC-SHA256 over `timestamp#memo#payload`, lowercase hex.

The payload of a POST is the exact JSON text sent as the body, so a body is serialised once
(`compact_json`), signed, and sent as those same bytes; re-encoding it after signing is how a
signature silently stops matching.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

#: The literal payload of a WebSocket login signature.
WS_LOGIN_PAYLOAD = "bitmart.WebSocket"


def compact_json(body: Mapping[str, object]) -> str:
    """The body text to sign and send: compact separators, key order kept, UTF-8 as is."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signature(secret: str, timestamp_ms: int | str, memo: str, payload: str) -> str:
    """`X-BM-SIGN`: hex HMAC-SHA256 of `timestamp#memo#payload` keyed by the API secret."""
    message = f"{timestamp_ms}#{memo}#{payload}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def ws_login_signature(secret: str, timestamp_ms: int | str, memo: str) -> str:
    """The `sign` argument of a WebSocket `access` (login) message."""
    return signature(secret, timestamp_ms, memo, WS_LOGIN_PAYLOAD)
