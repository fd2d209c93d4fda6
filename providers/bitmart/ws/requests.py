"""What the client sends (pure): topic names, subscription batches within the documented
limits, the `access` login with its signature, keepalive pings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from providers.bitmart.signing import ws_login_signature

KLINE_1M = "futures/klineBin1m"
BOOKTICKER = "futures/bookticker"
ORDER = "futures/order"
POSITION = "futures/position"
#: The args of one message may total at most 4096 bytes (reference §10.4).
MAX_ARGS_BYTES = 4096
#: Topics per message: undocumented; well-kept clients stay at 20.
MAX_TOPICS_PER_MESSAGE = 20
#: Kline channel suffix per step in minutes (only these exist on the WebSocket).
KLINE_STEPS = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1H", 120: "2H", 240: "4H", 1440: "1D"}


def topic_of(channel: str, symbol: str) -> str:
    return f"{channel}:{symbol}"


def kline_topic(symbol: str, step_minutes: int = 1) -> str:
    try:
        suffix = KLINE_STEPS[step_minutes]
    except KeyError:
        allowed = ", ".join(str(s) for s in KLINE_STEPS)
        raise ValueError(
            f"no WebSocket kline channel for {step_minutes} min; allowed: {allowed}"
        ) from None
    return topic_of(f"futures/klineBin{suffix}", symbol)


def _message(action: str, args: Sequence[str]) -> str:
    return json.dumps({"action": action, "args": list(args)}, separators=(",", ":"))


def subscribe_messages(
    topics: Iterable[str],
    *,
    action: str = "subscribe",
    max_topics: int = MAX_TOPICS_PER_MESSAGE,
    max_args_bytes: int = MAX_ARGS_BYTES,
) -> list[str]:
    """`subscribe` (or `unsubscribe`) messages covering `topics`, each within the limits:
    at most `max_topics` topics and `max_args_bytes` bytes of args (the JSON array)."""
    out: list[str] = []
    batch: list[str] = []
    for topic in topics:
        if len(json.dumps([topic]).encode()) > max_args_bytes:
            raise ValueError(f"topic {topic[:60]!r} alone exceeds {max_args_bytes} bytes")
        candidate = [*batch, topic]
        size = len(json.dumps(candidate, separators=(",", ":")).encode())
        if batch and (len(candidate) > max_topics or size > max_args_bytes):
            out.append(_message(action, batch))
            candidate = [topic]
        batch = candidate
    if batch:
        out.append(_message(action, batch))
    return out


def login_message(api_key: str, secret: str, memo: str, timestamp_ms: int) -> str:
    """`{"action":"access","args":[key, ts, sign, "web"]}`; all four args are strings."""
    sign = ws_login_signature(secret, timestamp_ms, memo)
    return _message("access", [api_key, str(timestamp_ms), sign, "web"])


def ping_message() -> str:
    return '{"action":"ping"}'


#: Step in minutes of each kline channel suffix.
STEP_OF_SUFFIX = {suffix: step for step, suffix in KLINE_STEPS.items()}
