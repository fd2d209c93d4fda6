"""The `mtf` command line, run in-process against a temporary SQLite database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from mtf.cli import main
from tests.conftest import klines_file


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    from infra.settings import reset_settings
    from mtf import services

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MTF_SYNTHETIC_SYMBOLS", "3")
    monkeypatch.chdir(tmp_path)
    reset_settings()
    services.reset()
    yield CliRunner()
    services.reset()
    reset_settings()


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out.extend(all_commands(command, (*prefix, name)))
        else:
            out.append((*prefix, name))
    return out


def test_every_command_has_help(cli: CliRunner) -> None:
    commands = all_commands(main)
    assert ("run",) in commands and ("klines", "import") in commands
    assert ("schedules", "create") in commands, "the schedules plugin is registered"
    for path in commands:
        result = cli.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_run_prints_the_compact_summary(cli: CliRunner) -> None:
    result = cli.invoke(main, ["run"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("[success] scalper_micro run") and "dry-run on paper" in lines[0]
    assert lines[1].startswith("symbols 3 |")
    assert len(lines) <= 15


def test_run_json_for_chosen_symbols(cli: CliRunner) -> None:
    result = cli.invoke(
        main, ["run", "--symbols", "BTCUSDT,ETHUSDT", "--profile", "scalper_micro", "--json"]
    )
    assert result.exit_code == 0, result.output
    response: dict[str, Any] = json.loads(result.output)
    assert set(response["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    assert response["run"]["profile"] == "scalper_micro" and response["run"]["dry_run"] is True
    runs = cli.invoke(main, ["runs", "list"])
    assert response["run"]["run_id"][:8] in runs.output
    trace = cli.invoke(main, ["runs", "show", response["run"]["run_id"], "--symbol", "BTCUSDT"])
    assert trace.exit_code == 0
    decisions = json.loads(trace.output)["decisions"]
    assert "5m" in decisions and "rule" in json.dumps(decisions)


def test_runs_list_json_gives_one_object_per_run(cli: CliRunner) -> None:
    run_id = json.loads(cli.invoke(main, ["run", "--json", "--no-tpsl"]).output)["run"]["run_id"]
    assert cli.invoke(main, ["run", "--current-tf", "4h"]).exit_code == 2
    listed = cli.invoke(main, ["runs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    records = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["status"] for r in records] == ["rejected", "completed"]
    assert records[1]["run_id"] == run_id and records[1]["symbols"] == 3
    assert "not an execution timeframe" in records[0]["detail"]
    # no profile named: recorded under the default one, which it would have run with
    assert (records[0]["profile"], records[0]["exchange"]) == ("scalper_micro", "paper")


def test_refused_request_exits_2(cli: CliRunner, caplog: pytest.LogCaptureFixture) -> None:
    result = cli.invoke(main, ["run", "--current-tf", "4h"])
    assert result.exit_code == 2
    assert "not an execution timeframe of scalper_micro" in result.output
    # one line, not the task's log record beside it, problems included
    unknown = cli.invoke(main, ["run", "--profile", "nope"])
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: invalid profile nope: 1 problem(s): unknown profile")
    assert unknown.stderr.count("\n") == 1 and "available: crash, regular" in unknown.stderr
    assert not [r for r in caplog.records if r.getMessage().startswith("run rejected")]


def test_import_then_replay(cli: CliRunner) -> None:
    folder = "binance-usdm-futures_2023-07"
    files = [str(klines_file(folder, f"ETHUSDT-{tf}.csv")) for tf in ("1m", "5m")]
    imported = cli.invoke(main, ["klines", "import", *files])
    assert imported.exit_code == 0, imported.output
    assert "2 file(s) imported, 0 failed" in imported.output
    replay = cli.invoke(
        main, ["run", "--symbols", "ETHUSDT", "--at", "2023-08-01T12:00Z", "--json"]
    )
    assert replay.exit_code == 0, replay.output
    response = json.loads(replay.output)
    assert response["run"]["as_of"] == "2023-08-01T12:00:00Z"
    assert response["symbols"]["ETHUSDT"]["status"] in ("READY", "INVALID")


def test_import_of_a_bad_file_names_the_line(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "ABCUSDT-1m.csv"
    bad.write_text(
        "open_time_ms,open,high,low,close,volume\n"
        "1690000020000,1,2,0.5,1.5,10\n1690000080000,1,x,1,1,1\n"
    )
    result = cli.invoke(main, ["klines", "import", str(bad)])
    assert result.exit_code == 1
    assert "ABCUSDT-1m.csv" in result.output and "line 3" in result.output


def test_profiles_check_reports_paths(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nexecution_timeframes: [1m]\ntimeframes:\n  1m:\n    long: [nope]\n")
    result = cli.invoke(main, ["profiles", "check", str(bad)])
    assert result.exit_code == 1
    assert "timeframes.1m.long[0]: unknown rule 'nope'" in result.output
    good = cli.invoke(main, ["profiles", "check", "scalper_micro"])
    assert good.exit_code == 0 and "ok" in good.output


def test_trade_entry_profiles_are_listed_and_checked(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing = cli.invoke(main, ["profiles", "list"])
    assert listing.exit_code == 0
    lines = {line.split()[0]: line for line in listing.output.splitlines()}
    assert set(lines) == {"crash", "regular", "scalper", "scalper_micro"}
    assert all(line.endswith("trade entry ok") for line in lines.values())

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrisk: {risk_pct: 50, budgett: 3}\n")
    result = cli.invoke(main, ["profiles", "check", "--trade-entry", str(bad), "scalper"])
    assert result.exit_code == 1
    assert "risk.risk_pct: Input should be less than or equal to 10" in result.output
    assert "risk.budgett: unknown key; allowed: risk_pct, budget_usdt" in result.output
    assert "scalper: ok (scalper: risk 0.4 % of 100 USDT" in result.output

    # a validation profile without its trade-entry twin is flagged
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "lonely.yaml").write_text(
        (Path(__file__).parents[2] / "mtf" / "profiles" / "scalper_micro.yaml")
        .read_text()
        .replace("name: scalper_micro", "name: lonely")
    )
    monkeypatch.setenv("MTF_PROFILES_DIR", str(profiles))
    listing = cli.invoke(main, ["profiles", "list"])
    lonely = next(line for line in listing.output.splitlines() if line.startswith("lonely"))
    assert "trade entry MISSING" in lonely
    listed = cli.invoke(main, ["profiles", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    records = {r["name"]: r for r in map(json.loads, listed.output.splitlines())}
    assert records["lonely"]["trade_entry"] == "missing" and records["lonely"]["valid"]
    assert records["regular"]["context"] == ["4h", "1h"] and records["regular"]["mode"]
    assert records["scalper_micro"]["trade_entry"] == "ok"


def test_a_bad_environment_value_names_the_variable(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.settings import reset_settings

    monkeypatch.setenv("MTF_DRY_RUN", "maybe")
    monkeypatch.setenv("MTF_PAPER_BALANCE", "abc")
    reset_settings()
    result = cli.invoke(main, ["config"])
    assert result.exit_code == 2
    assert "MTF_DRY_RUN='maybe': Input should be a valid boolean" in result.output
    assert "MTF_PAPER_BALANCE='abc'" in result.output
    assert "Traceback" not in result.output


def test_config_masks_secrets(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.settings import reset_settings

    monkeypatch.setenv("BITMART_SECRET_KEY", "s3cr3t-value")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:hunter22@redis:6379/0")
    reset_settings()
    result = cli.invoke(main, ["config"])
    assert result.exit_code == 0
    assert "s3cr3t-value" not in result.output and "hunter22" not in result.output
    shown = json.loads(result.output)
    assert shown["bitmart_secret_key"] == "********"
    assert shown["broker_url"] == "redis://:****@redis:6379/0"


def test_diagnose_shows_every_condition(cli: CliRunner) -> None:
    table = cli.invoke(main, ["diagnose", "BTCUSDT", "--tf", "5m"])
    assert table.exit_code == 0, table.output
    assert "5m (context)" in table.output and "rsi_bullish" in table.output
    out = cli.invoke(main, ["diagnose", "BTCUSDT", "--json"])
    data = json.loads(out.output)
    assert data["status"] in ("READY", "INVALID") and set(data["timeframes"]) == {"5m", "1m"}
    long_rules = data["timeframes"]["5m"]["long"]["children"]
    assert {r["rule"] for r in long_rules} == {
        "rsi_bullish",
        "close_above_vwap_or_ema_9",
        "atr_band_micro",
    }
    assert all("passed" in r for r in long_rules)
    wrong = cli.invoke(main, ["diagnose", "BTCUSDT", "--tf", "4h"])
    assert wrong.exit_code == 1 and "its timeframes: 5m, 1m" in wrong.output


def test_replay_counts_decisions_over_imported_candles(cli: CliRunner) -> None:
    folder = "binance-usdm-futures_2023-07"
    files = [str(klines_file(folder, f"BTCUSDT-{tf}.csv")) for tf in ("1m", "5m")]
    assert cli.invoke(main, ["klines", "import", *files]).exit_code == 0
    result = cli.invoke(
        main,
        [
            "replay",
            "--symbols",
            "BTCUSDT",
            "--from",
            "2023-08-01T00:00Z",
            "--to",
            "2023-08-01T06:00Z",
            "--step",
            "5m",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decisions"] == 73  # every 5 minutes from 00:00 to 06:00 inclusive
    assert sum(data["statuses"].values()) == 73
    assert sum(data["reasons"].values()) == data["statuses"].get("INVALID", 0)


def test_runs_reap_prints_each_reaped_run_once(
    cli: CliRunner, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import timedelta

    from infra import clock
    from mtf.context import RunContext
    from mtf.services import services

    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    now = clock.now_ms()
    ctx = RunContext(
        run_id="0f0f0f0f-dead-4000-8000-000000000001",
        profile="scalper_micro",
        as_of_ms=now,
        dry_run=True,
        exchange="paper",
        started_ms=now,
    )
    assert services().runs.start(ctx, {}, deadline=clock.now() - timedelta(seconds=1))
    caplog.set_level("INFO")
    result = cli.invoke(main, ["runs", "reap"])
    assert result.exit_code == 0, result.output
    assert result.output.count(ctx.run_id) == 1 and "running -> abandoned" in result.output
    assert not [r for r in caplog.records if ctx.run_id in r.getMessage()], "printed once"
