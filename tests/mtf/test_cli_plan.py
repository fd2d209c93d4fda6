"""`mtf plan`: the planner's answer for a hypothetical signal, on the synthetic paper market."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mtf.cli import main
from tests.helpers import permissive_trade_entry

AT = "2026-01-05T12:00Z"
ALWAYS_LONG = {
    "name": "always_long",
    "mode": "pragmatic",
    "context_timeframes": ["5m"],
    "execution_timeframes": ["1m"],
    "history_bars": 60,
    "timeframes": {
        "5m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
        "1m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
    },
}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from infra.settings import reset_settings
    from mtf import services

    profiles, entries = tmp_path / "profiles", tmp_path / "trade_entry"
    profiles.mkdir()
    entries.mkdir()
    (profiles / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    (entries / "always_long.yaml").write_text(yaml.safe_dump(permissive_trade_entry("always_long")))
    monkeypatch.setenv("MTF_PROFILES_DIR", str(profiles))
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(entries))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MTF_SYNTHETIC_SYMBOLS", "3")
    monkeypatch.chdir(tmp_path)
    reset_settings()
    services.reset()
    yield CliRunner()
    services.reset()
    reset_settings()


def plan_json(cli: CliRunner, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli.invoke(main, ["plan", *args, "--at", AT, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


@pytest.mark.parametrize("side", ["long", "short"])
def test_json_plan_is_on_the_grid_and_on_the_right_sides(cli: CliRunner, side: str) -> None:
    from mtf.services import services

    code, plan = plan_json(cli, "BTCUSDT", "--side", side, "--profile", "always_long")
    assert code == 0, plan
    spec = services().contracts.get("BTCUSDT")
    entry, stop = Decimal(plan["entry_price"]), Decimal(plan["stop_loss"])
    tp = Decimal(plan["take_profit"])
    if side == "long":
        assert stop < entry < tp
    else:
        assert tp < entry < stop
    for price in (entry, stop, *(Decimal(t["price"]) for t in plan["targets"])):
        assert price % spec.tick_size == 0, price
    size = Decimal(plan["size"])
    assert size % spec.volume_step == 0 and spec.min_volume <= size <= spec.max_volume
    assert sum(Decimal(t["size"]) for t in plan["targets"]) == size
    assert isinstance(plan["leverage"], int) and plan["leverage"] >= 1
    assert Decimal(plan["loss_at_stop_usdt"]) <= Decimal(plan["risk_usdt"])
    assert plan["as_of"] == "2026-01-05T12:00:00Z" and plan["profile"] == "always_long"
    assert {"spread_bps", "atr", "zone", "entry", "size", "leverage"} <= set(plan["steps"])


def test_the_plan_is_the_one_a_dry_run_records(cli: CliRunner) -> None:
    from mtf.services import services

    code, planned = plan_json(cli, "ETHUSDT", "--side", "long", "--profile", "always_long")
    assert code == 0, planned
    ran = cli.invoke(
        main, ["run", "--profile", "always_long", "--symbols", "ETHUSDT", "--at", AT, "--json"]
    )
    assert ran.exit_code == 0, ran.output
    (order,) = json.loads(ran.output)["orders"]["enqueued"]
    row = services().ledger.get(order["decision_key"])
    assert row is not None and row.status == "simulated"
    for key in ("entry_price", "stop_loss", "take_profit", "size", "leverage", "targets"):
        assert row.plan[key] == planned[key], key


def test_the_table_shows_every_intermediate_number(cli: CliRunner) -> None:
    _, planned = plan_json(cli, "BTCUSDT", "--side", "long", "--profile", "always_long")
    result = cli.invoke(
        main, ["plan", "BTCUSDT", "--side", "long", "--profile", "always_long", "--at", AT]
    )
    assert result.exit_code == 0, result.output
    for name, value in planned["steps"].items():
        assert name in result.output
        assert value[:20] in result.output, (name, value)
    assert "take_profit 1" in result.output and planned["entry_price"] in result.output


def test_a_refusal_exits_1_with_its_reason_and_numbers(cli: CliRunner) -> None:
    # scalper_micro does not trade the 5m timeframe
    code, out = plan_json(cli, "BTCUSDT", "--side", "long", "--tf", "5m")
    assert code == 1
    assert out["skipped"] == "timeframe_not_allowed" and "5m" in out["detail"]
    assert out["steps"]["timeframe"] == "5m"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["BTCUSDT", "--side", "long", "--profile", "nope"], "available trade-entry profiles"),
        (["BTCUSDT", "--side", "long", "--tf", "7m"], "unknown timeframe '7m'; allowed"),
        (["NOPEUSDT", "--side", "long"], "known contracts: BTCUSDT"),
        (["BTCUSDT", "--side", "long", "--exchange", "bitmart", "--at", AT], "--at replays"),
        (["BTCUSDT", "--side", "up"], "'up' is not one of 'long', 'short'"),
        (["BTCUSDT", "--side", "long", "--at", "2099-01-01T00:00Z"], "is in the future"),
    ],
)
def test_bad_arguments_exit_2_and_say_what_is_allowed(
    cli: CliRunner, args: list[str], message: str
) -> None:
    result = cli.invoke(main, ["plan", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_run_reports_what_its_orders_became_and_orders_list_says_why(cli: CliRunner) -> None:
    ran = cli.invoke(main, ["run", "--profile", "always_long", "--symbols", "ETHUSDT", "--at", AT])
    assert ran.exit_code == 0, ran.output
    assert "orders: 1 simulated" in ran.output
    # scalper_micro READY on the same candle finds the key taken: reported, not hidden
    from mtf.services import services

    row = services().ledger.get(f"ETHUSDT:1m:{_minute_ms(AT) - 60_000}")
    assert row is not None
    outcomes = services().ledger.outcomes("another-run", [row.decision_key])
    assert outcomes[row.decision_key]["status"] == "duplicate"
    assert "already decided by run" in str(outcomes[row.decision_key]["detail"])

    skipped = cli.invoke(
        main, ["run", "--profile", "always_long", "--symbols", "BTCUSDT", "--at", AT, "--json"]
    )
    assert skipped.exit_code == 0, skipped.output
    listed = cli.invoke(main, ["orders", "list", "--json"])
    records = [json.loads(line) for line in listed.output.splitlines()]
    assert {r["decision_key"].split(":")[0] for r in records} == {"ETHUSDT", "BTCUSDT"}
    assert all(r["profile"] == "always_long" and r["status"] == "simulated" for r in records)
    only = cli.invoke(main, ["orders", "list", "--status", "skipped", "--json"])
    assert only.exit_code == 0 and only.output == ""
    bad = cli.invoke(main, ["orders", "list", "--limit", "0"])
    assert bad.exit_code == 2 and "0 is not in the range" in bad.output


def _minute_ms(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
