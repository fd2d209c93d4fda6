"""`BitmartClient` on a scripted transport: envelopes, auth headers, signatures, retries,
rate-limit headers, kline paging, and no secret anywhere it could leak."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from providers.bitmart import BitmartClient, Credentials, InMemoryRateLimiter, RetryPolicy
from providers.bitmart.errors import ServiceUnavailableError
from providers.bitmart.payloads import kline_windows
from providers.bitmart.signing import signature
from providers.port import (
    AuthError,
    InvalidOrderError,
    NotFoundError,
    RateLimitError,
    TransientError,
)

API_KEY = "bmk_test_key_0001"
SECRET = "s3cr3t_for_tests_only_0123456789abcdef"
MEMO = "unit-test-memo"
CREDENTIALS = Credentials(SecretStr(API_KEY), SecretStr(SECRET), SecretStr(MEMO))
BASE = "https://api.test"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok(data: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"code": 1000, "message": "Ok", "trace": "trace-ok", "data": data}
    return httpx.Response(200, json=body, headers=headers)


def fail(status: int, code: int, message: str, **extra: Any) -> httpx.Response:
    body = {"code": code, "message": message, "trace": "trace-err", "data": {}}
    return httpx.Response(status, json=body, **extra)


def html(status: int) -> httpx.Response:
    return httpx.Response(status, text="<html><body>Attention Required! | Cloudflare</body></html>")


@dataclass
class FakeTime:
    """A clock that only moves when something sleeps."""

    now: float = 1_700_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Script:
    """Replies queued per path (the last one repeats); every request is kept."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, path: str, *replies: Reply) -> Script:
        self.replies.setdefault(path, []).extend(replies)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.replies.get(request.url.path)
        if not queue:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def sent(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def make_client(
    script: Script,
    *,
    credentials: Credentials | None = CREDENTIALS,
    attempts: int = 3,
    time: FakeTime | None = None,
    limiter: InMemoryRateLimiter | None = None,
) -> BitmartClient:
    fake = time or FakeTime()
    return BitmartClient(
        BASE,
        credentials,
        transport=script.transport(),
        limiter=limiter or InMemoryRateLimiter(clock=fake.clock, sleep=fake.sleep),
        retry=RetryPolicy(attempts=attempts, base_delay_s=0.01, max_delay_s=0.05),
        clock=fake.clock,
        sleep=fake.sleep,
    )


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


ORDER_ROW = {
    "order_id": "220906179895578",
    "client_order_id": "",
    "price": "1",
    "size": "1000",
    "symbol": "BTCUSDT",
    "state": 2,
    "side": 1,
    "type": "limit",
    "leverage": "5",
    "open_type": "isolated",
    "deal_avg_price": "0",
    "deal_size": "0",
    "create_time": 1662368173000,
    "update_time": 1662368173000,
}

# --- authentication ---------------------------------------------------------------------


def test_public_calls_send_no_credentials() -> None:
    script = Script().on(
        "/contract/public/depth", ok({"symbol": "BTCUSDT", "asks": [], "bids": [], "timestamp": 1})
    )
    make_client(script).depth("BTCUSDT")

    [request] = script.requests
    assert not any(h.lower().startswith("x-bm-") for h in request.headers)
    assert request.headers["user-agent"].startswith("mtf-scalper/")
    assert query(request) == {"symbol": "BTCUSDT"}


def test_private_get_sends_only_the_key() -> None:
    script = Script().on("/contract/private/get-open-orders", ok([ORDER_ROW]))
    [row] = make_client(script).open_orders("BTCUSDT")

    assert row.order_id == "220906179895578" and row.client_order_id is None
    [request] = script.requests
    assert request.method == "GET"
    assert request.headers["X-BM-KEY"] == API_KEY
    assert "X-BM-SIGN" not in request.headers
    assert "X-BM-TIMESTAMP" not in request.headers
    assert request.content == b""


def test_post_is_signed_over_the_bytes_sent() -> None:
    script = Script().on(
        "/contract/private/submit-order", ok({"order_id": 220609666322019, "price": "42000.5"})
    )
    placed = make_client(script).submit_order(
        "BTCUSDT",
        client_order_id="tst0001",
        side=1,
        mode=1,
        order_type="limit",
        leverage=10,
        open_type="isolated",
        size=3,
        price=Decimal("42000.50"),
    )

    assert placed.order_id == "220609666322019"
    [request] = script.requests
    sent = request.content.decode()
    stamp = request.headers["X-BM-TIMESTAMP"]
    assert stamp == "1700000000000"
    assert request.headers["X-BM-SIGN"] == signature(SECRET, stamp, MEMO, sent)
    assert request.headers["Content-Type"] == "application/json"
    # The reference vector: exactly this text, exactly this signature.
    assert sent == (
        '{"symbol":"BTCUSDT","client_order_id":"tst0001","side":1,"mode":1,"type":"limit",'
        '"leverage":"10","open_type":"isolated","size":3,"price":"42000.5"}'
    )
    assert request.headers["X-BM-SIGN"] == (
        "b16e4ea6c26191801d81aa8f155e719324437b035190ddde569e4d2968c66f55"
    )


def test_a_retried_post_is_signed_again_with_a_fresh_timestamp() -> None:
    time = FakeTime()
    script = Script().on("/contract/private/cancel-orders", fail(429, 30013, "too many"), ok({}))
    make_client(script, time=time).cancel_orders("BTCUSDT")

    first, second = script.requests
    assert first.content == second.content
    assert int(second.headers["X-BM-TIMESTAMP"]) > int(first.headers["X-BM-TIMESTAMP"])
    for request in (first, second):
        assert request.headers["X-BM-SIGN"] == signature(
            SECRET, request.headers["X-BM-TIMESTAMP"], MEMO, request.content.decode()
        )


def test_private_call_without_credentials_names_the_variables_and_sends_nothing() -> None:
    script = Script()
    with pytest.raises(AuthError, match=r"BITMART_API_KEY.*BITMART_SECRET_KEY.*BITMART_API_MEMO"):
        make_client(script, credentials=None).assets()
    assert script.requests == []


def test_incomplete_credentials_are_refused() -> None:
    with pytest.raises(AuthError, match="BITMART_API_MEMO"):
        Credentials(SecretStr("k"), SecretStr("s"), SecretStr(""))


# --- envelopes and errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected", "attempts"),
    [
        (fail(400, 40035, "The order is not exist"), NotFoundError, 1),
        (fail(200, 40035, "The order is not exist"), NotFoundError, 1),
        (fail(401, 30005, "Header X-BM-SIGN is wrong"), AuthError, 1),
        (fail(429, 30013, "Request too many requests"), RateLimitError, 3),
        (fail(503, 30014, "Service unavailable"), ServiceUnavailableError, 3),
        (html(403), TransientError, 3),
        (html(502), TransientError, 3),
        (httpx.Response(200, text="{not json"), TransientError, 3),
        (httpx.Response(200, json={"code": 1000}), TransientError, 1),
    ],
    ids=["400", "200-error", "401", "429", "503", "html-403", "html-502", "garbled", "no-data"],
)
def test_failed_reads_raise_never_return_empty(
    reply: httpx.Response, expected: type, attempts: int
) -> None:
    script = Script().on("/contract/private/get-open-orders", reply)
    client = make_client(script, attempts=3)

    with pytest.raises(Exception) as caught:
        client.open_orders("BTCUSDT")

    assert isinstance(caught.value, expected)
    assert len(script.requests) == attempts
    assert "GET /contract/private/get-open-orders" in str(caught.value)


def test_error_message_carries_code_and_exchange_text() -> None:
    script = Script().on("/contract/private/order", fail(400, 40035, "The order is not exist"))
    with pytest.raises(NotFoundError) as caught:
        make_client(script).order("BTCUSDT", "1")
    assert caught.value.code == 40035
    assert "HTTP 400, code 40035: The order is not exist (trace trace-err)" in str(caught.value)


def test_timeouts_end_in_a_transient_error_after_the_attempts() -> None:
    script = Script().on("/contract/public/depth", httpx.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="timed out"):
        make_client(script, attempts=4).depth("BTCUSDT")
    assert len(script.requests) == 4


def test_retries_then_success() -> None:
    time = FakeTime()
    script = Script().on(
        "/contract/private/assets-detail",
        html(502),
        httpx.ConnectError("refused"),
        ok(
            [
                {
                    "currency": "USDT",
                    "available_balance": "10",
                    "frozen_balance": "0",
                    "position_deposit": "0",
                    "equity": "10",
                    "unrealized": "0",
                }
            ]
        ),
    )
    [usdt] = make_client(script, attempts=3, time=time).assets()

    assert usdt.equity == Decimal(10)
    assert len(script.requests) == 3
    assert len(time.sleeps) == 2


def test_business_errors_are_not_retried() -> None:
    script = Script().on(
        "/contract/private/submit-order", fail(400, 40044, "The order range is invalid")
    )
    with pytest.raises(InvalidOrderError, match="40044"):
        make_client(script).submit_order(
            "BTCUSDT", side=1, size=1, order_type="market", client_order_id="abc"
        )
    assert len(script.requests) == 1


def test_submit_without_client_id_is_not_resent_after_an_ambiguous_failure() -> None:
    script = Script().on("/contract/private/submit-order", httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError):
        make_client(script).submit_order("BTCUSDT", side=1, size=1, order_type="market")
    assert len(script.requests) == 1


def test_submit_with_client_id_is_resent_after_an_ambiguous_failure() -> None:
    script = Script().on(
        "/contract/private/submit-order", html(502), ok({"order_id": 7, "price": "market price"})
    )
    placed = make_client(script).submit_order(
        "BTCUSDT", side=1, size=1, order_type="market", client_order_id="abc"
    )
    assert placed.order_id == "7"
    assert len(script.requests) == 2


def test_a_request_that_never_left_is_resent_even_for_a_submit() -> None:
    script = Script().on(
        "/contract/private/submit-order",
        httpx.ConnectError("refused"),
        ok({"order_id": 8, "price": "market price"}),
    )
    make_client(script).submit_order("BTCUSDT", side=4, size=2, order_type="market")
    assert len(script.requests) == 2


def test_calls_that_would_cancel_everything_need_an_id() -> None:
    script = Script()
    client = make_client(script)
    with pytest.raises(ValueError, match="order_id or a client_order_id"):
        client.cancel_order("BTCUSDT")
    with pytest.raises(ValueError, match="order_id or a client_order_id"):
        client.cancel_plan_order("BTCUSDT")
    with pytest.raises(ValueError, match="at least 5"):
        client.cancel_all_after("BTCUSDT", 3)
    assert script.requests == []


def test_cancel_all_after_body() -> None:
    script = Script().on(
        "/contract/private/cancel-all-after",
        ok({"result": True, "set_time": 1743064715, "cancel_time": 1743064725}),
    )
    switch = make_client(script).cancel_all_after("BTCUSDT", 60)
    assert switch.cancel_time == 1743064725000
    assert script.requests[0].content == b'{"symbol":"BTCUSDT","timeout":60}'


def test_tp_sl_body() -> None:
    script = Script().on(
        "/contract/private/submit-tp-sl-order", ok({"order_id": "5", "client_order_id": "c1"})
    )
    make_client(script).submit_tp_sl_order(
        "BTCUSDT",
        kind="stop_loss",
        side=3,
        trigger_price=Decimal("39000.0"),
        price_type=2,
        executive_price=Decimal("39000.0"),
        plan_category=2,
        category="market",
        client_order_id="c1",
    )
    assert json.loads(script.requests[0].content) == {
        "symbol": "BTCUSDT",
        "type": "stop_loss",
        "side": 3,
        "trigger_price": "39000",
        "executive_price": "39000",
        "price_type": 2,
        "plan_category": 2,
        "category": "market",
        "client_order_id": "c1",
    }


# --- rate limits ------------------------------------------------------------------------


def test_rate_limit_headers_saying_the_window_is_used_make_the_next_call_wait() -> None:
    time = FakeTime()
    limiter = InMemoryRateLimiter(clock=time.clock, sleep=time.sleep)
    used_up = {
        "X-BM-RateLimit-Remaining": "12",
        "X-BM-RateLimit-Limit": "12",
        "X-BM-RateLimit-Reset": "2",
    }
    script = Script().on(
        "/contract/public/depth",
        ok({"symbol": "BTCUSDT", "asks": [], "bids": [], "timestamp": 1}, headers=used_up),
        ok({"symbol": "BTCUSDT", "asks": [], "bids": [], "timestamp": 2}),
    )
    client = make_client(script, time=time, limiter=limiter)

    client.depth("BTCUSDT")
    assert time.sleeps == []
    client.depth("BTCUSDT")
    assert time.sleeps == [pytest.approx(2.0)]


def test_headers_with_room_left_do_not_wait() -> None:
    time = FakeTime()
    room = {
        "X-BM-RateLimit-Remaining": "3",
        "X-BM-RateLimit-Limit": "12",
        "X-BM-RateLimit-Reset": "2",
    }
    script = Script().on(
        "/contract/public/depth",
        ok({"symbol": "BTCUSDT", "asks": [], "bids": [], "timestamp": 1}, headers=room),
    )
    client = make_client(script, time=time)
    client.depth("BTCUSDT")
    client.depth("BTCUSDT")
    assert time.sleeps == []


def test_a_429_pauses_the_group_for_the_window_before_the_retry() -> None:
    time = FakeTime()
    script = Script().on(
        "/contract/private/position-v2",
        fail(429, 30013, "too many", headers={"X-BM-RateLimit-Reset": "2"}),
        ok([]),
    )
    assert make_client(script, time=time).positions() == []
    assert sum(time.sleeps) >= 2.0
    assert len(script.requests) == 2


def test_the_client_paces_itself_to_the_documented_limit() -> None:
    time = FakeTime()
    script = Script().on(
        "/contract/private/trade-fee-rate",
        ok({"symbol": "BTCUSDT", "taker_fee_rate": "0.0006", "maker_fee_rate": "0.0002"}),
    )
    client = make_client(script, time=time)
    for _ in range(3):  # trade-fee-rate: 2 per 2 s
        client.trade_fee_rate("BTCUSDT")
    assert len(time.sleeps) == 1 and time.sleeps[0] >= 2.0


# --- klines -----------------------------------------------------------------------------


def kline_server(step_s: int) -> Callable[[httpx.Request], httpx.Response]:
    """Aligned candles for every open inside [start_time, end_time]."""

    def reply(request: httpx.Request) -> httpx.Response:
        q = query(request)
        start, end = int(q["start_time"]), int(q["end_time"])
        first = -(-start // step_s) * step_s
        rows = [
            {
                "timestamp": t,
                "open_price": "100",
                "high_price": "101",
                "low_price": "99",
                "close_price": "100.5",
                "volume": "7",
            }
            for t in range(first, end + 1, step_s)
        ]
        return ok(rows)

    return reply


def test_kline_ranges_are_split_into_calls_of_at_most_500_rows() -> None:
    start = 1_700_000_040  # a minute boundary, in seconds
    script = Script().on("/contract/public/kline", kline_server(60))
    rows = make_client(script).klines_range("BTCUSDT", 1, start, start + 1200 * 60)

    assert [r.timestamp for r in rows] == [(start + 60 * i) * 1000 for i in range(1200)]
    assert len(script.requests) == 3
    for request in script.requests:
        q = query(request)
        lo, hi = int(q["start_time"]), int(q["end_time"])
        assert lo < 10**11 and hi < 10**11  # seconds
        assert (hi - lo) / 60 <= 500
        assert q["step"] == "1"


@pytest.mark.parametrize(
    ("start", "end", "step"),
    [(60, 120, 1), (30, 61 * 60, 1), (3600, 3600 + 500 * 300, 5), (7, 10_000_000, 15)],
)
def test_kline_windows_cover_every_open_once(start: int, end: int, step: int) -> None:
    step_s = step * 60
    expected = [t for t in range(0, end, step_s) if t >= start]
    covered: list[int] = []
    for lo, hi in kline_windows(start, end, step):
        assert (hi - lo) // step_s <= 500
        # Whether the bounds are inclusive or not, the same opens fall inside.
        inclusive = [t for t in range(0, end + step_s, step_s) if lo <= t <= hi]
        exclusive = [t for t in range(0, end + step_s, step_s) if lo < t < hi]
        assert inclusive == exclusive
        covered += inclusive
    assert covered == expected


def test_kline_call_refuses_more_than_500_rows() -> None:
    script = Script()
    with pytest.raises(ValueError, match="klines_range"):
        make_client(script).kline("BTCUSDT", 5, 0, 501 * 300)
    with pytest.raises(ValueError, match="step 2"):
        make_client(script).kline("BTCUSDT", 2, 0, 60)
    assert script.requests == []


def test_mark_price_klines_use_their_endpoint() -> None:
    script = Script().on("/contract/public/markprice-kline", kline_server(300))
    rows = make_client(script).klines_range(
        "BTCUSDT", 5, 1_700_000_100, 1_700_000_100 + 900, mark=True
    )
    assert len(rows) == 3


# --- secrets ----------------------------------------------------------------------------


def test_secrets_never_reach_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    key, secret, memo = "KEYsentinel4242", "SECRETsentinel4242", "MEMOsentinel4242"
    creds = Credentials(SecretStr(key), SecretStr(secret), SecretStr(memo))
    echo = fail(401, 30002, f"Header X-BM-KEY not found: {key} memo {memo} {secret}")
    script = (
        Script()
        .on("/contract/private/assets-detail", echo)
        .on("/contract/private/cancel-orders", httpx.ReadTimeout(f"timeout {key}"))
    )
    client = make_client(script, credentials=creds)
    caplog.set_level(logging.DEBUG)

    texts = [repr(creds), str(creds), repr(client), repr(client.session.credentials)]
    for call in (client.assets, lambda: client.cancel_orders("BTCUSDT")):
        with pytest.raises(Exception) as caught:
            call()
        texts += [str(caught.value), repr(caught.value)]
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]

    assert any("assets-detail" in r.getMessage() for r in caplog.records)  # logging happened
    for text in texts:
        for value in (key, secret, memo):
            assert value not in text
