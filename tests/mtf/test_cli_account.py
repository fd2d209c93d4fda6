"""`mtf account` and `mtf account history` on the paper exchange and on Bitmart (the real
adapter over HTTP to the fake Bitmart): balances, positions with their stop or UNPROTECTED,
open orders, today's realised P&L and fees, closed positions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mtf.cli import main
from providers.port import Exchange
from providers.synthetic import SyntheticMarket
from providers.timeframes import Timeframe
from providers.types import (
    OrderRequest,
    OrderSide,
    OrderType,
    PositionSide,
    TriggerKind,
)
from tests.providers.bitmart.adapter import bitmart_client
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart


@dataclass
class Account:
    name: str
    runner: CliRunner
    exchange: Exchange

    def cli(self, *args: str) -> Any:
        result = self.runner.invoke(main, [*args, "--exchange", self.name, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'mtf.db'}")
    monkeypatch.setenv("MTF_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("MTF_SYNTHETIC_SYMBOLS", "3")


def _reset() -> None:
    from infra.settings import reset_settings
    from mtf import services

    reset_settings()
    services.reset()


@pytest.fixture(params=["paper", "bitmart"])
def account(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Account]:
    _env(monkeypatch, tmp_path)
    if request.param == "paper":
        _reset()
        from mtf.services import services

        runner = CliRunner()
        assert runner.invoke(main, ["run", "--no-tpsl"]).exit_code == 0  # the market up to now
        yield Account("paper", runner, services().exchange("paper"))
        _reset()
        return
    fake = FakeBitmart(f"sqlite:///{tmp_path / 'exchange.db'}")  # market clock: now
    market = SyntheticMarket(7)
    now = int(time.time() * 1000)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        fake.list_contract(market.spec(symbol))
        fake.put_candles(market.candles(symbol, Timeframe.M1, now - 300 * 60_000, now + 60_000))
    with fake.serve() as url:
        monkeypatch.setenv("MTF_BITMART_BASE_URL", url)
        monkeypatch.setenv("BITMART_API_KEY", TEST_CREDENTIALS.api_key)
        monkeypatch.setenv("BITMART_SECRET_KEY", TEST_CREDENTIALS.secret)
        monkeypatch.setenv("BITMART_API_MEMO", TEST_CREDENTIALS.memo)
        _reset()
        yield Account("bitmart", CliRunner(), bitmart_client(url, TEST_CREDENTIALS, fake.now))
        _reset()
    fake.close()


def market(exchange: Exchange, symbol: str, side: OrderSide, size: int) -> None:
    exchange.submit_order(
        OrderRequest(
            symbol=symbol, side=side, type=OrderType.MARKET, size=Decimal(size), leverage=5
        )
    )


def test_account_shows_positions_their_stop_and_today(account: Account) -> None:
    ex = account.exchange
    empty = account.cli("account")
    assert empty["positions"] == [] and empty["open_orders"] == []
    assert Decimal(empty["equity"]) == Decimal(empty["wallet"]) > 0

    market(ex, "BTCUSDT", OrderSide.BUY_OPEN_LONG, 10)
    market(ex, "ETHUSDT", OrderSide.SELL_OPEN_SHORT, 4)
    [btc] = ex.positions("BTCUSDT")
    stop = (btc.entry_price * Decimal("0.98")).quantize(Decimal("0.1"))
    target = (btc.entry_price * Decimal("1.02")).quantize(Decimal("0.1"))
    for kind, price in ((TriggerKind.STOP_LOSS, stop), (TriggerKind.TAKE_PROFIT, target)):
        ex.submit_trigger_order(
            "BTCUSDT", kind=kind, position_side=PositionSide.LONG, trigger_price=price
        )
    limit = (btc.entry_price * Decimal("0.9")).quantize(Decimal("0.1"))
    ex.submit_order(
        OrderRequest(
            symbol="BTCUSDT",
            side=OrderSide.BUY_OPEN_LONG,
            type=OrderType.LIMIT,
            size=Decimal(2),
            price=limit,
            leverage=5,
        )
    )

    data = account.cli("account")
    by_symbol = {p["symbol"]: p for p in data["positions"]}
    assert set(by_symbol) == {"BTCUSDT", "ETHUSDT"}
    assert by_symbol["BTCUSDT"]["protected"] and Decimal(by_symbol["BTCUSDT"]["stop"]) == stop
    assert [Decimal(t["price"]) for t in by_symbol["BTCUSDT"]["targets"]] == [target]
    assert not by_symbol["ETHUSDT"]["protected"] and by_symbol["ETHUSDT"]["stop"] is None
    assert Decimal(by_symbol["BTCUSDT"]["entry_price"]) == btc.entry_price
    [order] = data["open_orders"]
    assert Decimal(order["price"]) == limit and order["side"] == "buy_open_long"
    assert data["today"]["fills"] == 2 and Decimal(data["today"]["fees"]) > 0
    assert Decimal(data["today"]["realized_pnl"]) == 0

    text = account.runner.invoke(main, ["account", "--exchange", account.name])
    assert text.exit_code == 0, text.output
    assert "UNPROTECTED" in text.output and "ETHUSDT" in text.output

    # Closing the short realises its P&L; history shows it.
    market(ex, "ETHUSDT", OrderSide.BUY_CLOSE_SHORT, 4)
    after = account.cli("account")
    assert after["today"]["fills"] == 3
    [closed] = account.cli("account", "history")
    assert closed["symbol"] == "ETHUSDT" and closed["side"] == "short"
    assert Decimal(closed["size"]) == 4 and closed["opened"] and closed["closed"]
    fills = ex.fills("ETHUSDT")
    expected = (fills[0].price - fills[1].price) * 4 * ex.contract("ETHUSDT").contract_size
    assert Decimal(closed["pnl"]) == expected
    assert Decimal(closed["fees"]) == fills[0].fee + fills[1].fee
    assert Decimal(after["today"]["realized_pnl"]) == expected


def test_an_unreadable_account_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path)
    monkeypatch.setenv("MTF_BITMART_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("BITMART_API_KEY", "k")
    monkeypatch.setenv("BITMART_SECRET_KEY", "s")
    monkeypatch.setenv("BITMART_API_MEMO", "m")
    _reset()
    result = CliRunner().invoke(main, ["account", "--exchange", "bitmart"])
    _reset()
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot read the bitmart account (balance)")
    assert result.output.count("\n") == 1
