"""The fake Bitmart server speaks the documented wire format: auth, limits, data, orders, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.db import get_engine
from providers.candles import Candles
from providers.paper import PaperExchange
from providers.port import Exchange
from providers.timeframes import Timeframe
from tests.providers.bitmart.fake import (
    TEST_CREDENTIALS,
    Credentials,
    FakeBitmart,
    Fault,
    sign,
)
from tests.providers.bitmart.fake.market import BitmartFakeMarket, Endpoint
from tests.providers.bitmart.fake.raw import RawWire, data, error
from tests.providers.contract.market import MINUTE, T0, Market, btc_spec

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
SAMPLES = SHARED / "reference" / "bitmart-samples"
REAL_BITMART = SHARED / "data" / "klines" / "bitmart-futures_2025-09"
BASE = "https://api-cloud-v2.bitmart.com"
PRIVATE = "/contract/private/"
VECTOR_MS = 1_700_000_000_000
SUBMIT_COMPACT = (
    b'{"symbol":"BTCUSDT","client_order_id":"tst0001","side":1,"mode":1,"type":"limit",'
    b'"leverage":"10","open_type":"isolated","size":3,"price":"42000.5"}'
)
SUBMIT_SPACED = (
    b'{"symbol": "BTCUSDT", "client_order_id": "tst0001", "side": 1, "mode": 1, "type": "limit", '
    b'"leverage": "10", "open_type": "isolated", "size": 3, "price": "42000.5"}'
)


@pytest.fixture
def fake() -> Iterator[FakeBitmart]:
    """BTCUSDT listed with 30 flat minutes at 40000 closing at T0, the market clock at T0."""
    with FakeBitmart(start_ms=T0) as built:
        built.list_contract(btc_spec())
        built.put_candles(_minutes(T0 - 30 * MINUTE, *[(40_000.0,) * 4] * 30))
        yield built
        assert built.errors == [], "the fake failed internally"


@pytest.fixture
def wire(fake: FakeBitmart) -> Iterator[RawWire]:
    with httpx.Client(transport=fake.transport(), base_url=BASE) as client:
        yield RawWire(client, TEST_CREDENTIALS, fake.wall.now)


@pytest.fixture
def leveraged(wire: RawWire) -> RawWire:
    data(wire.post(PRIVATE + "submit-leverage", _leverage(10)))
    return wire


def _minutes(start_ms: int, *bars: tuple[float, ...], volume: float = 250.0) -> Candles:
    rows = [(start_ms + i * MINUTE, *bar, volume) for i, bar in enumerate(bars)]
    return Candles.from_rows("BTCUSDT", Timeframe.M1, rows)


def _play(fake: FakeBitmart, *bars: tuple[float, float, float, float]) -> None:
    """One-minute candles from the clock on; the clock ends when the last one closes."""
    start = Timeframe.M1.floor_ms(fake.now())
    fake.put_candles(_minutes(start, *bars))
    fake.set_time(start + len(bars) * MINUTE)


def _leverage(value: int, open_type: str = "isolated") -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "leverage": str(value), "open_type": open_type}


def _order(side: int, size: int, price: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": "BTCUSDT", "side": side, "size": size}
    body |= {"type": "limit", "price": price} if price else {"type": "market"}
    return body | extra


def _sample(name: str) -> Any:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"sample bodies not found at {path} (the shared reference folder is absent)")
    return json.loads(path.read_text())["data"]


def _same_shape(ours: dict[str, Any], sample: dict[str, Any]) -> None:
    """Every field of the sample is there with the same JSON type."""
    for key, value in sample.items():
        assert key in ours, f"missing {key}"
        assert type(ours[key]) is type(value), f"{key}: {ours[key]!r} vs sample {value!r}"


def _assert_envelope(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"code", "message", "trace", "data"}
    assert isinstance(body["code"], int) and isinstance(body["message"], str)
    assert isinstance(body["trace"], str) and body["trace"]
    return body


# --- authentication -------------------------------------------------------------------------


def test_signature_vectors_of_the_reference() -> None:
    secret, memo, stamp = TEST_CREDENTIALS.secret, TEST_CREDENTIALS.memo, str(VECTOR_MS)
    vectors = {
        SUBMIT_COMPACT: "b16e4ea6c26191801d81aa8f155e719324437b035190ddde569e4d2968c66f55",
        SUBMIT_SPACED: "ccfefb56583a9980ed7bed72ceaf25de2c9679c1d5f41984f95fe87333e0ab2c",
        b'{"symbol":"BTCUSDT","timeout":60}': (
            "8d7cde9ed44c82af2206936ac48f1076c3bf3031fdf4ad87a95b0f5cc7110df6"
        ),
        b"": "e87d836e49a8c3849ffa6fce6edec626f5c63476cf2f42ca33076fefc08ed7bb",
        b"symbol=BTCUSDT&order_id=220906179895578": (
            "76456f7f3afc50c41a855d4345602223ef96c14e689e7f074eb7cb5c2e0e6d09"
        ),
        b"bitmart.WebSocket": "340f78c37f35ed38132990a5a1f2a711773bdc13be8ff3e595d11848bbbe9748",
    }
    for payload, expected in vectors.items():
        assert sign(secret, memo, stamp, payload) == expected


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (SUBMIT_COMPACT, "b16e4ea6c26191801d81aa8f155e719324437b035190ddde569e4d2968c66f55"),
        (SUBMIT_SPACED, "ccfefb56583a9980ed7bed72ceaf25de2c9679c1d5f41984f95fe87333e0ab2c"),
    ],
    ids=["compact", "spaced"],
)
def test_submit_order_signed_with_the_vector_is_accepted(
    fake: FakeBitmart, wire: RawWire, body: bytes, signature: str
) -> None:
    fake.wall.set(VECTOR_MS)
    headers = _vector_headers(signature)

    answer = data(wire.post_raw(PRIVATE + "submit-order", body, headers))

    assert isinstance(answer["order_id"], int) and len(str(answer["order_id"])) in (15, 16)
    assert answer["price"] == "42000.5"


def test_cancel_all_after_signed_with_the_vector_is_accepted(
    fake: FakeBitmart, wire: RawWire
) -> None:
    fake.wall.set(VECTOR_MS + 59_000)
    headers = _vector_headers("8d7cde9ed44c82af2206936ac48f1076c3bf3031fdf4ad87a95b0f5cc7110df6")
    body = b'{"symbol":"BTCUSDT","timeout":60}'
    assert data(wire.post_raw(PRIVATE + "cancel-all-after", body, headers))["result"] is True


def test_official_documentation_vector_passes_auth() -> None:
    doc = Credentials(
        "doc_key", "6c6c98544461bbe71db2bca4c6d7fd0021e0ba9efc215f9c6ad41852df9d9df9", "test001"
    )
    with FakeBitmart(start_ms=T0, credentials=[doc]) as fake:
        fake.wall.set(1_589_793_796_145)
        headers = {
            "X-BM-KEY": "doc_key",
            "X-BM-TIMESTAMP": "1589793796145",
            "X-BM-SIGN": "c31dc326bf87f38bfb49a3f8494961abfa291bd549d0d98d9578e87516cee46d",
        }
        body = b'{"symbol":"BTC_USDT","price":"8600","count":"100"}'
        status, _, answer = fake.handle("POST", PRIVATE + "submit-order", {}, headers, body)
    # Past auth, the symbol is what is wrong.
    assert (status, json.loads(answer)["code"]) == (400, 40034)


def _vector_headers(signature: str) -> dict[str, str]:
    return {
        "X-BM-KEY": TEST_CREDENTIALS.api_key,
        "X-BM-TIMESTAMP": str(VECTOR_MS),
        "X-BM-SIGN": signature,
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"X-BM-KEY": None}, 30001),
        ({"X-BM-KEY": "bmk_unknown"}, 30002),
        ({"X-BM-TIMESTAMP": None}, 30006),
        ({"X-BM-TIMESTAMP": "17e11"}, 30008),
        ({"X-BM-TIMESTAMP": str(VECTOR_MS - 61_000)}, 30007),
        ({"X-BM-TIMESTAMP": str(VECTOR_MS + 61_000)}, 30007),
        ({"X-BM-SIGN": None}, 30004),
        ({"X-BM-SIGN": "0" * 64}, 30005),
        ({"body": b'{"symbol":"BTCUSDT","timeout":61}'}, 30005),
    ],
    ids=[
        "no-key",
        "unknown-key",
        "no-timestamp",
        "bad-timestamp",
        "stale",
        "future",
        "no-sign",
        "wrong-sign",
        "body-changed",
    ],
)
def test_signed_request_auth_errors(
    fake: FakeBitmart, wire: RawWire, change: dict[str, Any], code: int
) -> None:
    fake.wall.set(VECTOR_MS)
    body = b'{"symbol":"BTCUSDT","timeout":60}'
    headers = _vector_headers("8d7cde9ed44c82af2206936ac48f1076c3bf3031fdf4ad87a95b0f5cc7110df6")
    body = change.pop("body", body)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value

    response = wire.post_raw(PRIVATE + "cancel-all-after", body, headers)

    assert error(response) == (401, code)
    assert _assert_envelope(response)["data"] == {}
    assert fake.venue.deadlines == {}


def test_keyed_get_needs_a_known_key_and_no_signature(wire: RawWire) -> None:
    path = PRIVATE + "assets-detail"
    assert error(wire.client.get(path)) == (401, 30001)
    assert error(wire.client.get(path, headers={"X-BM-KEY": "bmk_unknown"})) == (401, 30002)
    garbage = {"X-BM-KEY": TEST_CREDENTIALS.api_key, "X-BM-SIGN": "nope", "X-BM-TIMESTAMP": "x"}
    assert wire.client.get(path, headers=garbage).status_code == 200
    assert wire.public("/contract/public/details").status_code == 200


def test_unknown_and_unsimulated_paths(wire: RawWire) -> None:
    assert error(wire.public("/contract/public/nothing")) == (404, 30000)
    assert error(wire.get(PRIVATE + "position-risk")) == (400, 40010)


# --- rate limits ----------------------------------------------------------------------------


def test_rate_limit_rejects_the_request_over_the_window(fake: FakeBitmart, wire: RawWire) -> None:
    fake.wall.set(VECTOR_MS)
    path = PRIVATE + "position-v2"
    for used in range(1, 7):
        response = wire.get(path, symbol="BTCUSDT")
        assert response.status_code == 200
        assert response.headers["X-BM-RateLimit-Remaining"] == str(used)
        assert response.headers["X-BM-RateLimit-Limit"] == "6"
        assert response.headers["X-BM-RateLimit-Reset"] == "2"

    over = wire.get(path, symbol="BTCUSDT")
    assert error(over) == (429, 30013)
    assert over.headers["X-BM-RateLimit-Remaining"] == "6"
    assert fake.rate_limited == 1

    fake.wall.advance(1_999)
    assert wire.get(path).status_code == 429
    fake.wall.advance(1)
    again = wire.get(path)
    assert again.status_code == 200
    assert again.headers["X-BM-RateLimit-Remaining"] == "1"
    # Other endpoints have their own budget.
    assert wire.get(PRIVATE + "assets-detail").headers["X-BM-RateLimit-Limit"] == "12"


def test_rate_limit_window_slides(fake: FakeBitmart, wire: RawWire) -> None:
    fake.wall.set(VECTOR_MS)
    path = PRIVATE + "order-history"
    statuses = []
    for at, count in ((0, 3), (1_000, 3), (1_500, 1), (2_000, 4)):
        fake.wall.set(VECTOR_MS + at)
        statuses += [wire.get(path, symbol="BTCUSDT").status_code for _ in range(count)]
    assert statuses == [200] * 6 + [429] + [200] * 3 + [429]
    assert fake.rate_limited == 2


def test_public_limits_are_per_ip(fake: FakeBitmart) -> None:
    fake.wall.set(VECTOR_MS)
    path = "/contract/public/details"
    assert [fake.handle("GET", path, client="10.0.0.1").status for _ in range(13)][-1] == 429
    assert fake.handle("GET", path, client="10.0.0.2").status == 200


# --- market data ----------------------------------------------------------------------------


def test_contract_details_shape(wire: RawWire) -> None:
    [row] = data(wire.public("/contract/public/details", symbol="BTCUSDT"))["symbols"]
    _same_shape(row, _sample("contract-details-trading.json")["symbols"][0])
    assert (row["price_precision"], row["vol_precision"], row["status"]) == ("0.1", "1", "Trading")
    assert row["last_price"] == "40000"
    assert error(wire.public("/contract/public/details", symbol="NOPEUSDT")) == (400, 40034)


def test_klines_from_real_candles_include_the_forming_one(fake: FakeBitmart, wire: RawWire) -> None:
    if not REAL_BITMART.is_dir():
        pytest.skip(f"real candles not found at {REAL_BITMART} (the shared data folder is absent)")
    [loaded] = fake.load_csv_folder(REAL_BITMART, symbols=["PLUMEUSDT"], timeframes=["1m"])
    # Two and a half minutes into a five-minute bucket an hour before the data ends.
    now = Timeframe.M5.floor_ms(loaded.last_open_ms - 60 * MINUTE) + 150_000
    fake.set_time(now)
    source = {
        int(t): row
        for t, *row in fake.venue.klines.load_range(
            "PLUMEUSDT", Timeframe.M1, 0, now + 10 * MINUTE
        ).rows()
    }

    params = {"symbol": "PLUMEUSDT", "start_time": now // 1000 - 3600, "end_time": now // 1000}
    ones = data(wire.public("/contract/public/kline", step=1, **params))
    fives = data(wire.public("/contract/public/kline", step=5, **params))

    _same_shape(ones[0], _sample("kline.json")[0])
    times = [r["timestamp"] for r in ones]
    assert times == sorted(times) and all(t % 60 == 0 for t in times)
    assert times[-1] == now // 1000 - now // 1000 % 60  # the minute holding the clock
    closed = ones[-2]
    assert float(closed["close_price"]) == source[closed["timestamp"] * 1000][3]
    forming = fives[-1]
    bucket = forming["timestamp"] * 1000
    assert bucket <= now < bucket + 5 * MINUTE
    inside = [source[bucket + i * MINUTE] for i in range(2)]  # the two closed minutes
    assert float(forming["open_price"]) == inside[0][0]
    assert float(forming["high_price"]) == max(r[1] for r in inside)
    assert float(forming["close_price"]) == inside[-1][3]
    assert error(wire.public("/contract/public/kline", step=2, **params)) == (400, 40038)


def test_klines_are_capped_at_500_newest_rows(fake: FakeBitmart, wire: RawWire) -> None:
    start = T0 - 700 * MINUTE
    fake.put_candles(_minutes(start, *[(40_000.0,) * 4] * 670))
    rows = data(
        wire.public(
            "/contract/public/kline",
            symbol="BTCUSDT",
            step=1,
            start_time=start // 1000,
            end_time=T0 // 1000,
        )
    )
    assert len(rows) == 500
    assert rows[-1]["timestamp"] == T0 // 1000


def test_depth_is_tick_aligned_around_the_last_price(wire: RawWire) -> None:
    book = data(wire.public("/contract/public/depth", symbol="BTCUSDT"))
    asks, bids = book["asks"], book["bids"]
    assert [float(a[0]) for a in asks] == sorted(float(a[0]) for a in asks)
    assert [float(b[0]) for b in bids] == sorted((float(b[0]) for b in bids), reverse=True)
    assert Decimal(bids[0][0]) <= 40_000 <= Decimal(asks[0][0])
    assert all(Decimal(level[0]) % Decimal("0.1") == 0 for level in asks + bids)
    assert isinstance(book["timestamp"], int) and all(isinstance(v, str) for v in asks[0])


# --- orders ---------------------------------------------------------------------------------


def test_limit_order_lifecycle(fake: FakeBitmart, leveraged: RawWire) -> None:
    wire = leveraged
    placed = data(
        wire.post(PRIVATE + "submit-order", _order(1, 5, "39900.0", client_order_id="life1"))
    )
    _same_shape(placed, _sample("submit-order.json"))
    order_id = str(placed["order_id"])

    [open_row] = data(wire.get(PRIVATE + "get-open-orders", symbol="BTCUSDT"))
    _same_shape(open_row, _sample("open-orders.json")[0])
    assert (open_row["order_id"], open_row["state"], open_row["deal_size"]) == (order_id, 2, "0")

    _play(fake, (40_000.0, 40_050.0, 39_950.0, 40_000.0))
    assert data(wire.get(PRIVATE + "order", symbol="BTCUSDT", order_id=order_id))["state"] == 2
    _play(fake, (40_000.0, 40_000.0, 39_850.0, 39_900.0))

    done = data(wire.get(PRIVATE + "order", symbol="BTCUSDT", order_id=order_id))
    _same_shape(done, _sample("order-detail.json"))
    assert (done["state"], done["deal_size"], done["size"]) == (4, "5", "5")
    assert done["deal_avg_price"] == "39900"
    assert data(wire.get(PRIVATE + "get-open-orders", symbol="BTCUSDT")) == []
    [history] = data(wire.get(PRIVATE + "order-history", symbol="BTCUSDT", client_order_id="life1"))
    _same_shape(history, _sample("order-history.json")[0])
    assert history["order_id"] == order_id
    [trade] = data(wire.get(PRIVATE + "trades", symbol="BTCUSDT"))
    _same_shape(trade, _sample("trades.json")[0])
    assert (trade["order_id"], trade["vol"], trade["exec_type"]) == (order_id, "5", "Maker")
    long, short = data(wire.get(PRIVATE + "position-v2", symbol="BTCUSDT"))
    _same_shape(long, _sample("position-v2-hedge.json")[0])
    assert (long["position_side"], long["current_amount"], long["entry_price"]) == (
        "long",
        "5",
        "39900",
    )
    assert short["current_amount"] == "0"
    [usdt, *_] = data(wire.get(PRIVATE + "assets-detail"))
    _same_shape(usdt, _sample("assets-detail.json")[0])
    assert Decimal(usdt["position_deposit"]) == Decimal("19.95")


def test_market_order_fills_at_once(leveraged: RawWire) -> None:
    placed = data(leveraged.post(PRIVATE + "submit-order", _order(1, 3)))
    _same_shape(placed, _sample("submit-order-market.json"))
    assert placed["price"] == "market price"
    done = data(leveraged.get(PRIVATE + "order", symbol="BTCUSDT", order_id=placed["order_id"]))
    assert (done["state"], done["deal_size"], done["type"]) == (4, "3", "market")


def test_cancel_orders(leveraged: RawWire) -> None:
    wire = leveraged
    first = data(wire.post(PRIVATE + "submit-order", _order(1, 5, "39900.0")))["order_id"]
    wire.post(PRIVATE + "submit-order", _order(1, 5, "39800.0", client_order_id="c2"))
    wire.post(PRIVATE + "submit-order", _order(1, 5, "39700.0"))

    assert (
        data(wire.post(PRIVATE + "cancel-order", {"symbol": "BTCUSDT", "order_id": str(first)}))
        == {}
    )
    cancelled = data(wire.get(PRIVATE + "order", symbol="BTCUSDT", order_id=first))
    assert (cancelled["state"], cancelled["deal_size"]) == (4, "0")
    again = wire.post(PRIVATE + "cancel-order", {"symbol": "BTCUSDT", "order_id": str(first)})
    assert error(again) == (400, 40035)
    data(wire.post(PRIVATE + "cancel-order", {"symbol": "BTCUSDT", "client_order_id": "c2"}))
    assert len(data(wire.get(PRIVATE + "get-open-orders", symbol="BTCUSDT"))) == 1
    data(wire.post(PRIVATE + "cancel-orders", {"symbol": "BTCUSDT"}))
    assert data(wire.get(PRIVATE + "get-open-orders")) == []
    unknown = {"symbol": "BTCUSDT", "order_id": "220000000987654"}
    assert error(wire.post(PRIVATE + "cancel-order", unknown)) == (400, 40035)
    assert error(wire.get(PRIVATE + "order", **unknown)) == (400, 40035)
    assert error(wire.get(PRIVATE + "order", symbol="BTCUSDT", order_id="abc")) == (400, 40037)


def test_duplicate_client_order_id_is_403(leveraged: RawWire) -> None:
    body = _order(1, 5, "39900.0", client_order_id="dup1")
    data(leveraged.post(PRIVATE + "submit-order", body))
    assert error(leveraged.post(PRIVATE + "submit-order", body)) == (403, 40050)
    assert len(data(leveraged.get(PRIVATE + "get-open-orders"))) == 1


def test_insufficient_balance(fake: FakeBitmart, wire: RawWire) -> None:
    data(wire.post(PRIVATE + "submit-leverage", _leverage(1)))
    response = wire.post(PRIVATE + "submit-order", _order(1, 100))  # 4000 USDT of margin
    assert error(response) == (400, 40027)
    assert "balance not enough" in response.json()["message"]
    assert fake.venue.paper.positions() == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_order(5, 5, "39900.0"), (400, 40041)),
        (_order(1, 5, "39900.0", type="stop"), (400, 40042)),
        (_order(1, 5, "39900.05"), (400, 40043)),
        (_order(1, 1001, "39900.0"), (400, 40044)),
        (_order(1, 501), (400, 40044)),
        (_order(1, 5, "39900.0", open_type="portfolio"), (400, 40045)),
        (_order(1, 5, "39900.0", leverage="101"), (400, 40029)),
        (_order(1, 5, "39900.0", leverage="0"), (400, 40030)),
        (_order(1, 5, "39900.0", client_order_id="bad_id"), (403, 40048)),
        (_order(1, 5, "39900.0", client_order_id="a" * 33), (403, 40049)),
        (_order(3, 1), (400, 40021)),
        (_order(1, 5, "39900.0", symbol="NOPEUSDT"), (400, 40034)),
    ],
    ids=[
        "side",
        "type",
        "off-tick",
        "above-max",
        "market-above-max",
        "open-type",
        "leverage-high",
        "leverage-low",
        "client-id-chars",
        "client-id-long",
        "close-without-position",
        "unknown-symbol",
    ],
)
def test_submit_order_validation(
    leveraged: RawWire, body: dict[str, Any], expected: tuple[int, int]
) -> None:
    assert error(leveraged.post(PRIVATE + "submit-order", body)) == expected
    assert data(leveraged.get(PRIVATE + "get-open-orders")) == []


def test_malformed_json_body(fake: FakeBitmart, wire: RawWire) -> None:
    body = b'{"symbol": "BTCUSDT", '
    headers = {
        **_vector_headers(
            sign(TEST_CREDENTIALS.secret, TEST_CREDENTIALS.memo, str(VECTOR_MS), body)
        )
    }
    fake.wall.set(VECTOR_MS)
    assert error(wire.post_raw(PRIVATE + "submit-order", body, headers)) == (400, 40007)


# --- take-profit and stop-loss --------------------------------------------------------------


def _stop(side: int, trigger: str, **extra: Any) -> dict[str, Any]:
    body = {"symbol": "BTCUSDT", "type": "stop_loss", "side": side, "trigger_price": trigger}
    return body | {"executive_price": "0", "price_type": 1} | extra


def test_tp_sl_submit_trigger_and_close(fake: FakeBitmart, leveraged: RawWire) -> None:
    wire = leveraged
    assert error(wire.post(PRIVATE + "submit-tp-sl-order", _stop(3, "39500"))) == (400, 40021)
    data(wire.post(PRIVATE + "submit-order", _order(1, 10)))

    placed = data(
        wire.post(PRIVATE + "submit-tp-sl-order", _stop(3, "39500", client_order_id="sl1"))
    )
    _same_shape(placed, _sample("submit-tp-sl-order.json"))
    [plan] = data(wire.get(PRIVATE + "current-plan-order", symbol="BTCUSDT"))
    _same_shape(plan, _sample("current-plan-orders.json")[0])
    assert (plan["order_id"], plan["type"], plan["side"], plan["state"]) == (
        placed["order_id"],
        "stop_loss",
        3,
        2,
    )
    assert (plan["trigger_price"], plan["plan_category"], plan["size"]) == ("39500", 2, "10")
    assert error(wire.post(PRIVATE + "submit-tp-sl-order", _stop(2, "40500"))) == (400, 40021)
    assert error(wire.post(PRIVATE + "submit-tp-sl-order", _stop(1, "39500"))) == (400, 40041)

    _play(fake, (40_000.0, 40_100.0, 39_400.0, 39_450.0))

    assert data(wire.get(PRIVATE + "current-plan-order", symbol="BTCUSDT")) == []
    long, _ = data(wire.get(PRIVATE + "position-v2", symbol="BTCUSDT"))
    assert long["current_amount"] == "0"
    closes = [
        r for r in data(wire.get(PRIVATE + "order-history", symbol="BTCUSDT")) if r["side"] == 3
    ]
    assert [(c["state"], c["deal_size"], c["deal_avg_price"]) for c in closes] == [
        (4, "10", "39500")
    ]


def test_modify_and_cancel_tp_sl(leveraged: RawWire) -> None:
    wire = leveraged
    data(wire.post(PRIVATE + "submit-order", _order(1, 10)))
    placed = data(wire.post(PRIVATE + "submit-tp-sl-order", _stop(3, "39500")))
    move = {"symbol": "BTCUSDT", "order_id": placed["order_id"], "trigger_price": "39600"}
    moved = data(wire.post(PRIVATE + "modify-tp-sl-order", move | {"price_type": 1}))
    assert moved == {"order_id": placed["order_id"]}
    [plan] = data(wire.get(PRIVATE + "current-plan-order", symbol="BTCUSDT"))
    assert plan["trigger_price"] == "39600"

    take = {"symbol": "BTCUSDT", "type": "take_profit", "side": 3, "trigger_price": "40500"}
    planned = data(wire.post(PRIVATE + "submit-plan-order", take | {"price_type": 1}))
    _same_shape(planned, _sample("submit-plan-order.json"))
    entry = {"symbol": "BTCUSDT", "type": "limit", "side": 1, "trigger_price": "40500"}
    assert error(wire.post(PRIVATE + "submit-plan-order", entry)) == (400, 40011)

    cancel = {"symbol": "BTCUSDT", "order_id": placed["order_id"]}
    data(wire.post(PRIVATE + "cancel-plan-order", cancel))
    assert error(wire.post(PRIVATE + "cancel-plan-order", cancel)) == (400, 40035)
    data(wire.post(PRIVATE + "cancel-plan-order", {"symbol": "BTCUSDT"}))
    assert data(wire.get(PRIVATE + "current-plan-order")) == []


# --- cancel-all-after -----------------------------------------------------------------------


def test_cancel_all_after_expiry_cancels_open_orders(fake: FakeBitmart, leveraged: RawWire) -> None:
    wire = leveraged
    order_id = data(wire.post(PRIVATE + "submit-order", _order(1, 5, "39900.0")))["order_id"]
    armed = data(wire.post(PRIVATE + "cancel-all-after", {"symbol": "BTCUSDT", "timeout": 60}))
    _same_shape(armed, _sample("cancel-all-after.json"))
    assert armed["cancel_time"] - armed["set_time"] == 60 and armed["set_time"] == T0 // 1000
    short = wire.post(PRIVATE + "cancel-all-after", {"symbol": "BTCUSDT", "timeout": 3})
    assert error(short) == (400, 40011)

    fake.advance(59_000)
    assert len(data(wire.get(PRIVATE + "get-open-orders"))) == 1
    fake.advance(2_000)

    assert data(wire.get(PRIVATE + "get-open-orders")) == []
    assert data(wire.get(PRIVATE + "order", symbol="BTCUSDT", order_id=order_id))["state"] == 4
    [expiry] = fake.expired
    assert (expiry.symbol, expiry.at_ms) == ("BTCUSDT", T0 + 60_000)


def test_cancel_all_after_zero_disarms(fake: FakeBitmart, leveraged: RawWire) -> None:
    wire = leveraged
    data(wire.post(PRIVATE + "submit-order", _order(1, 5, "39900.0")))
    data(wire.post(PRIVATE + "cancel-all-after", {"symbol": "BTCUSDT", "timeout": 10}))
    disarmed = data(wire.post(PRIVATE + "cancel-all-after", {"symbol": "BTCUSDT", "timeout": 0}))
    assert disarmed["result"] is True
    fake.advance(60_000)
    assert len(data(wire.get(PRIVATE + "get-open-orders"))) == 1
    assert fake.expired == []


# --- faults ---------------------------------------------------------------------------------


def test_each_fault_kind_is_observable(fake: FakeBitmart, wire: RawWire) -> None:
    path = "/contract/public/details"
    fake.faults.add(Fault.server_error(502), path=path)
    fake.faults.add(Fault.cloudflare(), path=path)
    fake.faults.add(Fault.malformed(), path=path)
    fake.faults.add(Fault.rate_limit(), path=path)
    fake.faults.add(Fault.maintenance(), path=path)
    fake.faults.add(Fault.ban(), path=path)
    fake.faults.add(Fault.timeout(), path=path)
    fake.faults.add(Fault.disconnect(), path=path)

    assert error(wire.public(path)) == (502, 30014)
    cloudflare = wire.public(path)
    assert cloudflare.status_code == 503 and cloudflare.headers["content-type"].startswith(
        "text/html"
    )
    with pytest.raises(json.JSONDecodeError):
        wire.public(path).json()
    limited = wire.public(path)
    assert error(limited) == (429, 30013) and limited.headers["X-BM-RateLimit-Limit"] == "12"
    assert error(wire.public(path)) == (200, 30016)
    assert error(wire.public(path)) == (418, 30017)
    with pytest.raises(httpx.ReadTimeout):
        wire.public(path)
    with pytest.raises(httpx.RemoteProtocolError):
        wire.public(path)
    assert wire.public(path).status_code == 200
    assert fake.faults.pending == 0 and fake.rate_limited == 0
    assert [s.fault for s in fake.requests(path)][:3] == ["server_error", "cloudflare", "malformed"]


def test_faults_match_path_method_and_count(fake: FakeBitmart, leveraged: RawWire) -> None:
    wire = leveraged
    fake.faults.add(Fault.server_error(503), times=2, method="POST")
    assert wire.public("/contract/public/details").status_code == 200
    assert [wire.post(PRIVATE + "submit-order", _order(1, 1)).status_code for _ in range(3)] == [
        503,
        503,
        200,
    ]
    assert len(fake.venue.paper.positions()) == 1


def test_a_timeout_after_execution_still_places_the_order(
    fake: FakeBitmart, leveraged: RawWire
) -> None:
    fake.faults.add(Fault.timeout(executed=True), path=PRIVATE + "submit-order")
    with pytest.raises(httpx.ReadTimeout):
        leveraged.post(PRIVATE + "submit-order", _order(1, 5, "39900.0", client_order_id="lost1"))
    [row] = data(leveraged.get(PRIVATE + "get-open-orders"))
    assert row["client_order_id"] == "lost1"


# --- served over HTTP -----------------------------------------------------------------------


def test_served_over_http(fake: FakeBitmart) -> None:
    with fake.serve() as url, httpx.Client(base_url=url, timeout=0.3) as client:
        wire = RawWire(client, TEST_CREDENTIALS, fake.wall.now)
        assert data(wire.public("/contract/public/details"))["symbols"][0]["symbol"] == "BTCUSDT"
        data(wire.post(PRIVATE + "submit-leverage", _leverage(10)))
        assert isinstance(data(wire.post(PRIVATE + "submit-order", _order(1, 2)))["order_id"], int)
        fake.faults.add(Fault.timeout(delay_s=2.0))
        with pytest.raises(httpx.ReadTimeout):
            wire.public("/contract/public/details")
        fake.faults.add(Fault.disconnect())
        with pytest.raises(httpx.RemoteProtocolError):
            wire.public("/contract/public/details")
        assert error(wire.public("/contract/public/kline", symbol="BTCUSDT")) == (400, 40011)
    assert fake.errors == []


# --- the Market adapter ---------------------------------------------------------------------


@pytest.mark.parametrize("served", [False, True], ids=["transport", "served"])
def test_market_adapter_seeds_the_fake_and_builds_clients(tmp_path: Path, served: bool) -> None:
    url = f"sqlite:///{tmp_path / 'market.db'}"
    built: list[tuple[Endpoint, Credentials]] = []

    def factory(endpoint: Endpoint, credentials: Credentials, clock: Any) -> Exchange:
        built.append((endpoint, credentials))
        return PaperExchange(get_engine(url), clock=clock)

    market = BitmartFakeMarket(url, factory, served=served)
    conforming: Market = market
    try:
        conforming.list(btc_spec())
        conforming.history("BTCUSDT", 40_000.0)
        conforming.play("BTCUSDT", (40_000.0, 40_100.0, 39_900.0, 40_050.0))
        assert conforming.now() == T0 + MINUTE
        endpoint, credentials = built[0]
        assert credentials == TEST_CREDENTIALS
        if served:
            assert isinstance(endpoint, str) and endpoint.startswith("http://127.0.0.1:")
            client = httpx.Client(base_url=endpoint)
        else:
            assert isinstance(endpoint, httpx.MockTransport)
            client = httpx.Client(transport=endpoint, base_url=BASE)
        with client:
            [row] = data(client.get("/contract/public/details"))["symbols"]
        assert row["last_price"] == "40050"
        conforming.restart()
        assert len(built) == 2 and isinstance(conforming.exchange, Exchange)
    finally:
        conforming.close()
        get_engine(url).dispose()
