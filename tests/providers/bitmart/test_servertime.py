"""Signed requests carry the exchange's time, whatever this host's clock says."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from providers.bitmart import BitmartClient, Credentials, InMemoryRateLimiter
from providers.bitmart.servertime import ServerTime
from providers.port import AuthError, ExchangeError, TransientError
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart
from tests.providers.contract.market import btc_spec

SKEW_S = 150.0  # this host's clock runs 150 s ahead: outside the exchange's one-minute window


@pytest.fixture
def fake() -> Iterator[FakeBitmart]:
    with FakeBitmart() as built:
        built.list_contract(btc_spec())
        yield built


def client(fake: FakeBitmart, *, sync_time: bool) -> BitmartClient:
    creds = Credentials(
        SecretStr(TEST_CREDENTIALS.api_key),
        SecretStr(TEST_CREDENTIALS.secret),
        SecretStr(TEST_CREDENTIALS.memo),
    )
    return BitmartClient(
        "https://fake.bitmart.test",
        creds,
        transport=fake.transport(),
        limiter=InMemoryRateLimiter(),
        clock=lambda: time.time() + SKEW_S,
        sync_time=sync_time,
    )


def test_a_skewed_host_is_refused_without_server_time(fake: FakeBitmart) -> None:
    with pytest.raises(AuthError) as refused:
        client(fake, sync_time=False).cancel_all_after("BTCUSDT", 0)
    assert refused.value.code == 30007


def test_signed_requests_follow_the_exchanges_clock(fake: FakeBitmart) -> None:
    c = client(fake, sync_time=True)
    c.cancel_all_after("BTCUSDT", 0)
    c.cancel_all_after("BTCUSDT", 0)
    assert len(fake.requests("/system/time")) == 1, "measured once, then reused"
    assert c.server_time is not None
    assert c.server_time.offset_s == pytest.approx(-SKEW_S, abs=2.0)


def test_a_refused_timestamp_measures_again_and_resends(fake: FakeBitmart) -> None:
    c = client(fake, sync_time=True)
    c.cancel_all_after("BTCUSDT", 0)
    fake.wall.advance(200_000)  # the exchange's clock jumps: the measured offset is stale
    c.cancel_all_after("BTCUSDT", 0)
    refused = [s for s in fake.requests("/contract/private/cancel-all-after") if s.code == 30007]
    assert len(refused) == 1 and len(fake.requests("/system/time")) == 2


def test_server_time_unavailable_keeps_the_last_offset() -> None:
    readings = iter([5_000, ExchangeError("down"), 9_000])
    ticks = {"now": 0.0}

    def fetch() -> int:
        value = next(readings)
        if isinstance(value, Exception):
            raise value
        return value

    st = ServerTime(fetch, base=lambda: 1.0, every_s=10, monotonic=lambda: ticks["now"])
    assert st.now() == pytest.approx(5.0)
    ticks["now"] = 11
    assert st.now() == pytest.approx(5.0), "the failed measurement keeps the offset"
    ticks["now"] = 30
    assert st.now() == pytest.approx(5.0), "and waits before trying again"
    ticks["now"] = 42
    assert st.now() == pytest.approx(9.0)


def test_a_malformed_server_time_is_transient(fake: FakeBitmart) -> None:
    c = client(fake, sync_time=False)
    assert abs(c.server_time_ms() - time.time() * 1000) < 5_000
    c.session.call = lambda *a, **k: {"nothing": 1}  # type: ignore[method-assign]
    with pytest.raises(TransientError, match="server_time"):
        c.server_time_ms()
