"""Every signature vector of the reference (§4.4), and the body text that is signed."""

from __future__ import annotations

import json

import pytest

from providers.bitmart.signing import compact_json, signature, ws_login_signature

OFFICIAL_SECRET = "6c6c98544461bbe71db2bca4c6d7fd0021e0ba9efc215f9c6ad41852df9d9df9"
SECRET = "s3cr3t_for_tests_only_0123456789abcdef"
MEMO = "unit-test-memo"
TS = 1_700_000_000_000

ORDER = {
    "symbol": "BTCUSDT",
    "client_order_id": "tst0001",
    "side": 1,
    "mode": 1,
    "type": "limit",
    "leverage": "10",
    "open_type": "isolated",
    "size": 3,
    "price": "42000.5",
}
COMPACT_ORDER = (
    '{"symbol":"BTCUSDT","client_order_id":"tst0001","side":1,"mode":1,"type":"limit",'
    '"leverage":"10","open_type":"isolated","size":3,"price":"42000.5"}'
)


def test_official_documentation_vector() -> None:
    body = '{"symbol":"BTC_USDT","price":"8600","count":"100"}'
    assert (
        signature(OFFICIAL_SECRET, 1589793796145, "test001", body)
        == "c31dc326bf87f38bfb49a3f8494961abfa291bd549d0d98d9578e87516cee46d"
    )


def test_official_websocket_login_vector() -> None:
    assert (
        ws_login_signature(OFFICIAL_SECRET, 1589267764859, "test001")
        == "3ceeb7e1b8cb165a975e28a2e2dfaca4d30b358873c0351c1a071d8c83314556"
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (COMPACT_ORDER, "b16e4ea6c26191801d81aa8f155e719324437b035190ddde569e4d2968c66f55"),
        (
            json.dumps(ORDER),
            "ccfefb56583a9980ed7bed72ceaf25de2c9679c1d5f41984f95fe87333e0ab2c",
        ),
        (
            '{"symbol":"BTCUSDT","timeout":60}',
            "8d7cde9ed44c82af2206936ac48f1076c3bf3031fdf4ad87a95b0f5cc7110df6",
        ),
        ("", "e87d836e49a8c3849ffa6fce6edec626f5c63476cf2f42ca33076fefc08ed7bb"),
        (
            "symbol=BTCUSDT&order_id=220906179895578",
            "76456f7f3afc50c41a855d4345602223ef96c14e689e7f074eb7cb5c2e0e6d09",
        ),
        (
            "bitmart.WebSocket",
            "340f78c37f35ed38132990a5a1f2a711773bdc13be8ff3e595d11848bbbe9748",
        ),
    ],
    ids=[
        "submit-compact",
        "submit-default-separators",
        "cancel-all-after",
        "get-empty",
        "get-query",
        "ws-login",
    ],
)
def test_project_vectors(payload: str, expected: str) -> None:
    assert signature(SECRET, TS, MEMO, payload) == expected
    assert signature(SECRET, str(TS), MEMO, payload) == expected


def test_project_websocket_login_vector() -> None:
    assert (
        ws_login_signature(SECRET, TS, MEMO)
        == "340f78c37f35ed38132990a5a1f2a711773bdc13be8ff3e595d11848bbbe9748"
    )


def test_the_body_text_is_compact_and_keeps_key_order() -> None:
    assert compact_json(ORDER) == COMPACT_ORDER
    assert signature(SECRET, TS, MEMO, compact_json({"symbol": "BTCUSDT", "timeout": 60})) == (
        "8d7cde9ed44c82af2206936ac48f1076c3bf3031fdf4ad87a95b0f5cc7110df6"
    )


def test_encodings_that_differ_sign_differently() -> None:
    """Why the text is serialised once: the same dict in two encodings, two signatures."""
    assert signature(SECRET, TS, MEMO, compact_json(ORDER)) != signature(
        SECRET, TS, MEMO, json.dumps(ORDER)
    )
