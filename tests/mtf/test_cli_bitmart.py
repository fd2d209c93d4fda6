"""The CLI against Bitmart, as a user with keys would run it (`MTF_EXCHANGE=bitmart`), here
against the fake server over HTTP: contracts, klines, a dry-run cycle, and no secret in sight."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtf.cli import main
from providers.synthetic import SyntheticMarket
from providers.timeframes import Timeframe
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart

SECRETS = (TEST_CREDENTIALS.secret, TEST_CREDENTIALS.memo)


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from infra.settings import reset_settings
    from mtf import services

    fake = FakeBitmart(f"sqlite:///{tmp_path / 'exchange.db'}")  # market clock: now
    market = SyntheticMarket(7)
    now = int(time.time() * 1000)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        fake.list_contract(market.spec(symbol))
        for tf in (Timeframe.M1, Timeframe.M5, Timeframe.H1):
            fake.put_candles(market.candles(symbol, tf, now - 900 * tf.ms, now + tf.ms))
    with fake.serve() as url:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'mtf.db'}")
        monkeypatch.setenv("MTF_EXCHANGE", "bitmart")
        monkeypatch.setenv("MTF_BITMART_BASE_URL", url)
        monkeypatch.setenv("MTF_REDIS_URL", "redis://127.0.0.1:1/0")  # no shared limiter here
        monkeypatch.setenv("MTF_UNIVERSE_MIN_TURNOVER", "0")
        monkeypatch.setenv("MTF_UNIVERSE_MIN_AGE_HOURS", "0")
        monkeypatch.setenv("BITMART_API_KEY", TEST_CREDENTIALS.api_key)
        monkeypatch.setenv("BITMART_SECRET_KEY", TEST_CREDENTIALS.secret)
        monkeypatch.setenv("BITMART_API_MEMO", TEST_CREDENTIALS.memo)
        reset_settings()
        services.reset()
        yield CliRunner()
        services.reset()
        reset_settings()
    fake.close()


def test_user_session_against_bitmart(user: CliRunner, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    synced = user.invoke(main, ["contracts", "sync"])
    assert synced.exit_code == 0, synced.output
    assert "2 contract(s) from bitmart: 2 trading, 2 in the tradable universe" in synced.output
    fetched = user.invoke(main, ["klines", "fetch", "BTCUSDT", "--tf", "1h", "--limit", "200"])
    assert fetched.exit_code == 0, fetched.output
    assert "BTCUSDT 1h: 200 closed candles stored" in fetched.output
    run = user.invoke(main, ["run", "--json", "--no-tpsl"])
    assert run.exit_code == 0, run.output
    response = json.loads(run.output)
    assert response["run"]["exchange"] == "bitmart" and response["run"]["dry_run"] is True
    assert set(response["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    assert {s["status"] for s in response["symbols"].values()} <= {"READY", "INVALID"}
    everything = synced.output + fetched.output + run.output + caplog.text
    for secret in SECRETS:
        assert secret not in everything


def test_missing_keys_are_named(user: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.settings import reset_settings
    from mtf import services

    monkeypatch.delenv("BITMART_SECRET_KEY")
    reset_settings()
    services.reset()
    result = user.invoke(main, ["run", "--no-tpsl"])
    assert result.exit_code == 2
    assert "incomplete Bitmart credentials: set BITMART_SECRET_KEY" in result.output
