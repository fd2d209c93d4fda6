"""Bitmart futures WebSocket: the wire (pure: frames to typed messages, requests to frames) and
the connection shell (`websockets`: connect, log in, subscribe, keep alive, reconnect).

Public data on `/api?protocol=1.1`, private channels on `/user?protocol=1.1` after an `access`
login; see the reference's section 10 for the protocol.
"""

from providers.bitmart.ws.messages import (
    Ack,
    Bar,
    BookTicker,
    KlineUpdate,
    LoginAck,
    Message,
    OrderUpdate,
    Pong,
    PositionUpdate,
    Unknown,
    parse_frame,
)
from providers.bitmart.ws.requests import (
    BOOKTICKER,
    KLINE_1M,
    MAX_ARGS_BYTES,
    MAX_TOPICS_PER_MESSAGE,
    kline_topic,
    login_message,
    ping_message,
    subscribe_messages,
    topic_of,
)

__all__ = [
    "BOOKTICKER",
    "KLINE_1M",
    "MAX_ARGS_BYTES",
    "MAX_TOPICS_PER_MESSAGE",
    "Ack",
    "Bar",
    "BookTicker",
    "KlineUpdate",
    "LoginAck",
    "Message",
    "OrderUpdate",
    "Pong",
    "PositionUpdate",
    "Unknown",
    "kline_topic",
    "login_message",
    "parse_frame",
    "ping_message",
    "subscribe_messages",
    "topic_of",
]
