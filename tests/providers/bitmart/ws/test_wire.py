"""The WebSocket wire (pure): login signatures against the reference's vectors, subscription
batches within the documented limits, every documented and observed frame form."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

import pytest

from providers.bitmart.signing import ws_login_signature
from providers.bitmart.ws import (
    Ack,
    BookTicker,
    KlineUpdate,
    LoginAck,
    OrderUpdate,
    Pong,
    PositionUpdate,
    Unknown,
    kline_topic,
    login_message,
    parse_frame,
    subscribe_messages,
)
from tests.conftest import REPO

SAMPLES = (REPO / ".." / "shared" / "reference" / "bitmart-samples").resolve()


def sample(name: str) -> str:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"reference sample {path} absent")
    return path.read_text()


def test_login_signature_vectors() -> None:
    secret = "6c6c98544461bbe71db2bca4c6d7fd0021e0ba9efc215f9c6ad41852df9d9df9"
    official = ws_login_signature(secret, 1589267764859, "test001")
    assert official == "3ceeb7e1b8cb165a975e28a2e2dfaca4d30b358873c0351c1a071d8c83314556"
    project = ws_login_signature(
        "s3cr3t_for_tests_only_0123456789abcdef", 1700000000000, "unit-test-memo"
    )
    assert project == "340f78c37f35ed38132990a5a1f2a711773bdc13be8ff3e595d11848bbbe9748"
    message = json.loads(
        login_message(
            "bmk_test_key_0001",
            "s3cr3t_for_tests_only_0123456789abcdef",
            "unit-test-memo",
            1700000000000,
        )
    )
    assert message == {
        "action": "access",
        "args": ["bmk_test_key_0001", "1700000000000", project, "web"],
    }


def test_subscriptions_stay_within_topics_and_bytes_limits() -> None:
    topics = [kline_topic(f"SYM{i:05d}USDT") for i in range(1000)]
    messages = subscribe_messages(topics, max_topics=20, max_args_bytes=4096)
    sent = [t for m in messages for t in json.loads(m)["args"]]
    assert sent == topics, "every topic once, in order"
    assert all(len(json.loads(m)["args"]) <= 20 for m in messages)
    # a tighter byte budget splits on bytes, not on count
    small = subscribe_messages(topics[:50], max_topics=50, max_args_bytes=200)
    assert all(len(json.dumps(json.loads(m)["args"], separators=(",", ":"))) <= 200 for m in small)
    assert len(small) > 1
    with pytest.raises(ValueError, match="kline channel for 3 min"):
        kline_topic("BTCUSDT", 3)


def test_live_kline_frame_with_items() -> None:
    (update,) = parse_frame(sample("ws-kline.json"))
    assert isinstance(update, KlineUpdate) and update.symbol == "BTCUSDT"
    (bar,) = update.bars
    assert bar.open_ms == 1785727320 * 1000 and bar.open == 63090.9 and bar.volume == 19672


def test_flat_kline_frame_and_unaligned_ts_give_the_bucket_open() -> None:
    frame = {
        "group": "futures/klineBin5m:ETHUSDT@100ms",
        "data": {
            "symbol": "ETHUSDT",
            "o": "1",
            "h": "2",
            "l": "0.5",
            "c": "1.5",
            "v": "7",
            "ts": 1700000123,
        },
    }
    (update,) = parse_frame(json.dumps(frame))
    assert isinstance(update, KlineUpdate) and update.step_minutes == 5
    assert update.bars[0].open_ms == (1700000123 - 1700000123 % 300) * 1000


def test_two_items_come_out_oldest_first() -> None:
    items = [
        {"o": "2", "h": "2", "l": "2", "c": "2", "v": "1", "ts": 1700000160},
        {"o": "1", "h": "1", "l": "1", "c": "1", "v": "1", "ts": 1700000100},
    ]
    frame = {"group": "futures/klineBin1m:X", "data": {"symbol": "X", "items": items}}
    (update,) = parse_frame(json.dumps(frame))
    assert isinstance(update, KlineUpdate)
    assert [b.open for b in update.bars] == [1.0, 2.0]


def test_book_ticker_acks_login_and_pongs() -> None:
    book = {
        "group": "futures/bookticker:BTCUSDT",
        "data": {
            "symbol": "BTCUSDT",
            "best_bid_price": "100.1",
            "best_bid_vol": "5",
            "best_ask_price": "100.2",
            "best_ask_vol": "7",
            "ms_t": 1700000000123,
        },
    }
    (quote,) = parse_frame(json.dumps(book))
    assert quote == BookTicker(
        "BTCUSDT", Decimal("100.1"), Decimal(5), Decimal("100.2"), Decimal(7), 1700000000123
    )
    ack = '{"action":"subscribe","group":"futures/klineBin1m:BTCUSDT","success":true,"request":{}}'
    assert parse_frame(ack) == [Ack("subscribe", "futures/klineBin1m:BTCUSDT", True)]
    refused = '{"action":"subscribe","group":"x","success":false,"error":"group [x] not exist"}'
    assert parse_frame(refused) == [Ack("subscribe", "x", False, "group [x] not exist")]
    assert parse_frame('{"action":"access","success":false,"error":"access failed: sign"}') == [
        LoginAck(False, "access failed: sign")
    ]
    for pong in ("pong", '{"group":"System","data":"pong+1234"}', '{"action":"pong"}'):
        assert parse_frame(pong) == [Pong()]


def test_binary_frames_are_raw_deflate() -> None:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = compressor.compress(sample("ws-kline.json").encode()) + compressor.flush()
    (update,) = parse_frame(raw)
    assert isinstance(update, KlineUpdate)


def test_order_and_position_pushes() -> None:
    (order,) = parse_frame(sample("ws-order.json"))
    assert isinstance(order, OrderUpdate) and order.action == 3
    assert order.order.client_order_id == "BM1234" and order.order.state == 2
    (positions,) = parse_frame(sample("ws-position.json"))
    assert isinstance(positions, PositionUpdate)
    assert positions.positions[0].hold_volume == Decimal(2000)
    assert positions.positions[0].open_type == 1  # an int on this channel


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        "[1, 2]",
        '{"group":"futures/klineBin1m:X","data":{"symbol":"X","items":[{"o":"x","ts":1}]}}',
        '{"group":"futures/bookticker:X","data":{"symbol":"X","best_bid_price":"NaN",'
        '"best_bid_vol":"1","best_ask_price":"1","best_ask_vol":"1"}}',
        '{"group":"futures/klineBin3m:X","data":{"symbol":"X","items":[]}}',
    ],
)
def test_a_bad_frame_is_reported_not_raised(frame: str) -> None:
    (message,) = parse_frame(frame)
    assert isinstance(message, Unknown) and message.reason
