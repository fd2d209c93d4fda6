"""Cycles against Bitmart (the fake server speaking the documented wire format): contract sync,
kline sync cost per cycle, stale data, and what dry-run and the live switch let through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.timeframes import Timeframe
from tests.conftest import KLINES_DIR
from tests.helpers import permissive_trade_entry
from tests.providers.bitmart.adapter import bitmart_client
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart

KLINE = "/contract/public/kline"
START = datetime(2023, 8, 1, 12, 0, 30, tzinfo=UTC)
ALWAYS_LONG = {
    "name": "always_long",
    "context_timeframes": ["5m"],
    "execution_timeframes": ["1m"],
    "history_bars": 60,
    "timeframes": {
        "5m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
        # reading the ATR makes the cycle store the history a plan's ATR needs
        "1m": {"long": [{"gt": 0, "field": "atr"}], "short": [{"lt": 0, "field": "close"}]},
    },
}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeBitmart]:
    folder = KLINES_DIR / "binance-usdm-futures_2023-07"
    if not folder.is_dir():
        pytest.skip(f"real candles not found at {folder}")
    fake = FakeBitmart(f"sqlite:///{tmp_path / 'fake.db'}", start_ms=int(START.timestamp() * 1000))
    fake.load_csv_folder(folder, symbols=["BTCUSDT", "ETHUSDT"], timeframes=["1m", "5m"])
    yield fake
    fake.close()


@pytest.fixture
def bitmart(
    fake: FakeBitmart,
    db_url: str,
    make_services: Any,
    eager_app: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    monkeypatch.setenv("MTF_PROFILES_DIR", str(profiles))
    entries = tmp_path / "trade_entry"
    entries.mkdir()
    (entries / "always_long.yaml").write_text(yaml.safe_dump(permissive_trade_entry("always_long")))
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(entries))
    monkeypatch.setenv("BITMART_API_KEY", TEST_CREDENTIALS.api_key)
    monkeypatch.setenv("BITMART_SECRET_KEY", TEST_CREDENTIALS.secret)
    monkeypatch.setenv("BITMART_API_MEMO", TEST_CREDENTIALS.memo)
    svc = make_services(
        db_url, exchange="bitmart", universe_min_turnover=0, universe_min_age_hours=0
    )
    # Bitmart runs on the fake's market clock (it replays 2023).
    svc._bitmart_exchange = bitmart_client(
        fake.transport(), TEST_CREDENTIALS, fake.now, specs=svc.bitmart_spec
    )
    return svc


def cycle(svc: Any, at: datetime, **request: Any) -> dict[str, Any]:
    from mtf.tasks.cycle import run_cycle

    started = run_cycle.apply(kwargs={"as_of": at.isoformat(), "process_tp_sl": False, **request})
    assert started.successful(), started.result
    return dict(svc.runs.get(started.result["run_id"]).response)


def test_first_cycle_syncs_contracts_then_fetches_only_closed_candles(
    fake: FakeBitmart, bitmart: Any
) -> None:
    at = START.replace(second=0)
    first = cycle(bitmart, at)
    assert set(first["symbols"]) == {"BTCUSDT", "ETHUSDT"}, "universe from synced contracts"
    assert bitmart.contracts.source_of("BTCUSDT")[0] == "bitmart"
    assert {s["status"] for s in first["symbols"].values()} <= {"READY", "INVALID"}
    stored = bitmart.klines.load(
        "BTCUSDT", Timeframe.M1, as_of_ms=int(at.timestamp() * 1000) + 600_000, limit=5
    )
    assert stored.last_open_ms == int(at.timestamp() * 1000) - 60_000, (
        "the forming candle is not stored"
    )

    # one minute later: one request per symbol for the 1m candle that closed, none for 5m,
    # and no contract details (specs come from the daily sync, not a cache that expires)
    details = len(fake.requests("/contract/public/details"))
    before = len(fake.requests(KLINE))
    fake.advance(60_000)
    cycle(bitmart, at + timedelta(minutes=1))
    assert len(fake.requests(KLINE)) - before == 2
    # at 12:05 the 5m candle closes too: one 1m and one 5m request per symbol
    before = len(fake.requests(KLINE))
    fake.set_time(int((at + timedelta(minutes=5, seconds=30)).timestamp() * 1000))
    cycle(bitmart, at + timedelta(minutes=5))
    assert len(fake.requests(KLINE)) - before == 4
    assert len(fake.requests("/contract/public/details")) == details
    assert fake.rate_limited == 0 and fake.errors == []


def test_lagging_exchange_data_is_reported_stale(fake: FakeBitmart, bitmart: Any) -> None:
    at = START.replace(second=0)
    cycle(bitmart, at)
    # the exchange clock is still in 12:00 while the cycle decides 12:03
    response = cycle(bitmart, at + timedelta(minutes=3))
    entry = response["symbols"]["BTCUSDT"]
    assert entry["status"] == "SKIPPED" and entry["reason"] == "stale_candles"
    # its newest closed candle opened at 11:59 (12:00 is still forming on the exchange)
    assert "1m newest candle 2023-08-01T11:59:00Z, expected 2023-08-01T12:02:00Z" in entry["detail"]


def test_orders_are_simulated_blocked_or_sent(
    fake: FakeBitmart, bitmart: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replayed decisions are judged fresh by the exchange's clock (the engine's "now" is the
    # exchange's here), within a stale-after age that covers the replay's steps.
    monkeypatch.setattr("infra.clock.now_ms", fake.now)
    monkeypatch.setattr(bitmart.settings, "stale_after_seconds", 120)
    at = START.replace(second=0)
    dry = cycle(bitmart, at, profile="always_long", symbols=["BTCUSDT"])
    assert dry["orders"]["count"] == 1
    key = dry["orders"]["enqueued"][0]["decision_key"]
    assert bitmart.ledger.get(key).status == "simulated", bitmart.ledger.get(key).detail
    assert fake.requests("/contract/private/submit-order") == []

    fake.advance(60_000)
    later = at + timedelta(minutes=1)
    blocked = cycle(bitmart, later, profile="always_long", symbols=["BTCUSDT"], dry_run=False)
    row = bitmart.ledger.get(blocked["orders"]["enqueued"][0]["decision_key"])
    assert row.status == "blocked" and "MTF_LIVE_TRADING" in row.detail
    assert fake.requests("/contract/private/submit-order") == []

    monkeypatch.setattr(bitmart.settings, "live_trading", True)
    fake.advance(60_000)
    live = cycle(
        bitmart,
        later + timedelta(minutes=1),
        profile="always_long",
        symbols=["BTCUSDT"],
        dry_run=False,
    )
    row = bitmart.ledger.get(live["orders"]["enqueued"][0]["decision_key"])
    assert row.status == "submitted" and row.exchange_order_id
    sent = fake.requests("/contract/private/submit-order")
    assert len(sent) == 1 and sent[0].status == 200
    venue = bitmart._bitmart_exchange
    # the permissive profile enters at market: the order is found by its client id, filled
    order = venue.order("BTCUSDT", client_order_id=row.client_order_id)
    assert order.order_id == row.exchange_order_id and order.filled_size > 0
    (position,) = venue.positions("BTCUSDT")
    assert position.size == order.filled_size


def test_live_entries_are_refused_when_the_position_mode_differs(
    fake: FakeBitmart, bitmart: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bitmart.settings, "live_trading", True)
    monkeypatch.setattr(bitmart.settings, "position_mode", "one_way_mode")  # the fake is hedge
    at = START.replace(second=0)
    run = cycle(bitmart, at, profile="always_long", symbols=["BTCUSDT"], dry_run=False)
    assert run["status"] == "partial_success"
    assert any("MTF_POSITION_MODE=one_way_mode" in e["error"] for e in run["errors"])
    assert run["orders"]["count"] == 0
    assert fake.requests("/contract/private/submit-order") == []
    # an order task sent anyway (e.g. by hand) is refused with the same one-line reason
    from mtf.tasks.orders import place_order
    from tradeentry.ledger import Decision

    decision = Decision(
        "BTCUSDT:1m:1690891140000",
        None,
        "always_long",
        "BTCUSDT",
        "long",
        "1m",
        1690891140000,
        "bitmart",
        False,
        int(at.timestamp() * 1000),
    )
    out = place_order.apply(kwargs={"decision": decision.to_dict()}).result
    assert out["status"] == "error" and "MTF_POSITION_MODE=one_way_mode" in out["detail"]
    assert fake.requests("/contract/private/submit-order") == []
