"""Sweeps: grids validated before anything runs, parts kept once, a local process pool that
gives every parameter set the report a one-process backtest gives, and the leaderboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from mtf.backtest import sweep
from mtf.backtest.overrides import OverrideError, parse_grid
from mtf.cli import main
from tests.backtest.conftest import invoke

SPAN = ["--from", "2023-07-26T00:00Z", "--to", "2023-07-28T00:00Z"]
BASE = ["--profile", "scalper_micro", "--symbols", "BTCUSDT,ETHUSDT", *SPAN]


def test_grids_make_every_combination_in_order() -> None:
    sets = parse_grid(["entry_zone.k_atr=0.25,0.35,0.5", "risk.risk_pct=0.3,0.5"])
    assert len(sets) == 6
    assert sets[0] == {"entry_zone.k_atr": 0.25, "risk.risk_pct": 0.3}
    assert sets[1] == {"entry_zone.k_atr": 0.25, "risk.risk_pct": 0.5}
    assert sets[-1] == {"entry_zone.k_atr": 0.5, "risk.risk_pct": 0.5}
    assert parse_grid(["take_profit.two_targets.enabled=true,false"])[0] == {
        "take_profit.two_targets.enabled": True
    }


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (["entry.atr_multiplier=1.5,2"], "unknown grid key 'entry.atr_multiplier' (did you mean"),
        (["stop.atr_k=1,1"], "a value is repeated"),
        (["stop.atr_k=1", "stop.atr_k=2"], "given twice"),
        (["stop.atr_k"], "write key=value1,value2"),
        ([], "give at least one --grid"),
        (["rule.rsi_bullish=50"], "write rule.<name>.<param>"),
    ],
)
def test_bad_grids_are_refused(grid: list[str], message: str) -> None:
    with pytest.raises(OverrideError, match=None) as err:
        parse_grid(grid)
    assert message in str(err.value)


def test_a_bad_value_names_its_parameter_set(cli: CliRunner) -> None:
    result = invoke(cli, "backtest", "sweep", *BASE, "--grid", "stop.atr_k=2,-1", "--quiet", code=2)
    line = result.stderr.strip()
    assert "\n" not in line and "parameter set 2 (stop.atr_k=-1)" in line
    assert "greater than 0" in line


def test_validation_variants_share_their_signals() -> None:
    from mtf.backtest.request import BacktestRequest

    request = BacktestRequest("scalper_micro", ("BTCUSDT", "ETHUSDT"), 0, 60_000)
    sets = parse_grid(["rule.rsi_bullish.threshold=50,55", "stop.atr_k=1.5,2,2.5"])
    plan = sweep.new_plan("x", request, sets)
    assert plan.variant_of == [0, 0, 0, 3, 3, 3]
    assert plan.signal_parts() == [
        (0, "BTCUSDT"),
        (0, "ETHUSDT"),
        (3, "BTCUSDT"),
        (3, "ETHUSDT"),
    ]


def _board(cli: CliRunner, *extra: str) -> dict[str, Any]:
    out = invoke(cli, "backtest", "sweep", *BASE, *extra, "--json", "--quiet").stdout
    return dict(json.loads(out))


def test_a_local_sweep_gives_each_set_the_report_of_a_backtest(cli: CliRunner) -> None:
    from mtf.backtest.store import BacktestStore
    from mtf.services import services

    grid = ["--grid", "rule.rsi_bullish.threshold=50,55", "--grid", "stop.atr_k=1.5,2.5"]
    result = _board(cli, *grid, "--workers", "2")
    board = result["leaderboard"]
    assert len(board) == 4
    nets = [float(row["net_pnl"]) for row in board]
    assert nets == sorted(nets, reverse=True), "best net P&L first"
    store = BacktestStore(services().engine)
    for row in board:
        sets = [f"rule.rsi_bullish.threshold={row['rule.rsi_bullish.threshold']}"]
        sets += [f"stop.atr_k={row['stop.atr_k']}"]
        args = [x for s in sets for x in ("--set", s)]
        alone = json.loads(invoke(cli, "backtest", *BASE, *args, "--json", "--quiet").stdout)
        member = store.get(row["backtest_id"])
        assert member is not None and member.sweep_id == result["sweep_id"]
        # the leaderboard's set number is the one in its member's id
        assert row["backtest_id"] == f"{result['sweep_id']}-{row['set']:04d}"
        assert member.report["trades"] == alone["trades"]
        assert member.report["summary"] == alone["summary"]
        assert alone["summary"]["net_pnl"] == row["net_pnl"]
    # parts are kept once each: 2 variants x 2 symbols of signals, 4 accounts
    assert store.part_count(result["sweep_id"]) == 4 + 4
    engine = services().engine
    assert not sweep.signals_part(engine, result["sweep_id"], 0, "BTCUSDT"), "kept once"
    assert not sweep.trades_part(engine, result["sweep_id"], 1)
    assert store.part_count(result["sweep_id"]) == 8
    sorted_by_dd = json.loads(
        invoke(
            cli, "backtest", "leaderboard", result["sweep_id"], "--sort", "drawdown", "--json"
        ).stdout
    )
    drawdowns = [float(r["max_drawdown_pct"]) for r in sorted_by_dd]
    assert drawdowns == sorted(drawdowns, reverse=True), "smallest drawdown first"
    text = invoke(cli, "backtest", "sweeps").stdout
    assert result["sweep_id"] in text and "done" in text
    kept = json.loads(invoke(cli, "backtest", "sweeps", "--json").stdout)
    assert [(k["sweep"], k["status"], k["sets"]) for k in kept] == [(result["sweep_id"], "done", 4)]


def test_sort_keys_put_missing_figures_last() -> None:
    rows = [
        {"set": 1, "profit_factor": None, "net_pnl": "1"},
        {"set": 2, "profit_factor": 1.5, "net_pnl": "-2"},
        {"set": 3, "profit_factor": 0.5, "net_pnl": "3"},
    ]
    assert [r["set"] for r in sweep.sort_board(rows, "profit_factor")] == [2, 3, 1]
    assert [r["set"] for r in sweep.sort_board(rows, "net_pnl")] == [3, 1, 2]
    with pytest.raises(ValueError, match="unknown sort"):
        sweep.sort_board(rows, "luck")


def test_the_main_group_lists_the_sweep_commands() -> None:
    result = CliRunner().invoke(main, ["backtest", "--help"])
    for name in ("sweep", "sweeps", "leaderboard", "list", "show", "export"):
        assert name in result.output
