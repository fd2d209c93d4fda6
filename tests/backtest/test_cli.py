"""`mtf backtest` as a user runs it: over imported real candles, kept and shown, exported;
a backtest of one minute decides what `mtf run --at` decides and plans what `mtf plan --at`
plans; bad input refused in one line before anything runs."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtf.backtest import run
from mtf.backtest.overrides import load_pair
from mtf.backtest.request import BacktestRequest
from mtf.cli import main
from providers.timeframes import iso, to_ms
from tests.backtest.builders import real_loaded
from tests.backtest.conftest import invoke

SYMBOLS = ("BTCUSDT", "ETHUSDT")
DAY = to_ms(datetime(2023, 7, 26, tzinfo=UTC))


def test_a_backtest_is_kept_shown_and_exported(cli: CliRunner, workdir: Path) -> None:
    args = ["--profile", "scalper_micro", "--symbols", "BTCUSDT,ETHUSDT"]
    span = ["--from", "2023-07-26T00:00Z", "--to", "2023-07-27T00:00Z"]
    report = json.loads(invoke(cli, "backtest", *args, *span, "--json", "--quiet").stdout)
    assert report["summary"]["trades"] == len(report["trades"]) > 0
    backtest_id = report["backtest_id"]
    listed = json.loads(invoke(cli, "backtest", "list", "--json").stdout)
    assert backtest_id in [item["backtest_id"] for item in listed]
    shown = json.loads(invoke(cli, "backtest", "show", backtest_id[:8], "--json").stdout)
    assert shown["trades"] == report["trades"] and shown["summary"] == report["summary"]
    text = invoke(cli, "backtest", "show", backtest_id).stdout
    assert "summary" in text and "per symbol" in text and "stop fills" in text
    out = workdir / "export"
    invoke(cli, "backtest", "export", backtest_id, "--out", str(out), "--chart-symbol", "ETHUSDT")
    rows = list(csv.DictReader((out / "trades.csv").open()))
    assert len(rows) == len(report["trades"])
    assert rows[0]["pnl_usdt"] == report["trades"][0]["pnl_usdt"]
    for name in ("equity.png", "price-ETHUSDT.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "http" not in page.replace(
        "http-equiv", ""
    )
    assert json.loads((out / "report.json").read_text())["summary"] == report["summary"]
    # nothing reached an exchange or the live order ledger
    from sqlalchemy import func, select

    from infra.models import OrderRow, PaperOrderRow, PaperPositionRow
    from mtf.services import services

    with services().engine.connect() as conn:
        for model in (OrderRow, PaperOrderRow, PaperPositionRow):
            assert conn.execute(select(func.count()).select_from(model)).scalar() == 0
    # the same request twice: the same trades (deterministic)
    again = json.loads(invoke(cli, "backtest", *args, *span, "--json", "--quiet").stdout)
    assert again["trades"] == report["trades"] and again["backtest_id"] != backtest_id


def _planned_minutes() -> list[tuple[int, str]]:
    """Minutes of the day where a symbol is READY and the planner plans (a day's backtest)."""
    pair = load_pair("scalper_micro")
    request = BacktestRequest("scalper_micro", SYMBOLS, DAY, DAY + 86_400_000)
    report = run.run(pair, request, real_loaded(pair, SYMBOLS, request.start_ms, request.end_ms))
    return [
        (to_ms(datetime.fromisoformat(s["time"].replace("Z", "+00:00"))), s["symbol"])
        for s in report["signals"]["list"]
        if "plan" in s
    ]


def test_one_minute_decides_and_plans_like_run_and_plan_at(cli: CliRunner) -> None:
    compared = 0
    for moment, _ in _planned_minutes()[:12]:
        at = iso(moment)
        report = json.loads(
            invoke(
                cli,
                "backtest",
                "--profile",
                "scalper_micro",
                "--symbols",
                ",".join(SYMBOLS),
                "--from",
                at,
                "--to",
                at,
                "--json",
                "--quiet",
            ).stdout
        )
        assert report["decisions"]["minutes"] == len(SYMBOLS)
        live = json.loads(
            invoke(
                cli,
                "run",
                "--at",
                at,
                "--symbols",
                ",".join(SYMBOLS),
                "--profile",
                "scalper_micro",
                "--json",
                "--no-tpsl",
            ).stdout
        )
        ready = {
            s: (d["side"], d["execution_tf"])
            for s, d in live["symbols"].items()
            if d["status"] == "READY"
        }
        signals = {s["symbol"]: s for s in report["signals"]["list"]}
        assert {s: (x["side"], x["timeframe"]) for s, x in signals.items()} == ready
        for symbol, signal in signals.items():
            if "plan" not in signal:
                continue
            result = cli.invoke(
                main,
                [
                    "plan",
                    symbol,
                    "--side",
                    signal["side"],
                    "--tf",
                    signal["timeframe"],
                    "--at",
                    at,
                    "--profile",
                    "scalper_micro",
                    "--json",
                ],
            )
            assert result.exit_code == 0, result.output
            plan = json.loads(result.stdout)
            mine = signal["plan"]
            for key in ("entry_price", "stop_loss", "take_profit", "size", "leverage"):
                assert str(plan[key]) == str(mine[key]), (at, symbol, key)
            assert plan["risk_usdt"] == mine["risk_usdt"]
            assert plan["loss_at_stop_usdt"] == mine["loss_at_stop_usdt"]
            assert [t["price"] for t in plan["targets"]] == [t["price"] for t in mine["targets"]]
            assert (plan["zone"]["low"], plan["zone"]["high"]) == (
                mine["zone"]["low"],
                mine["zone"]["high"],
            )
            compared += 1
    assert compared >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "NOPEUSDT"], "unknown symbol(s) NOPEUSDT; symbols with stored candles:"),
        (
            ["--from", "2023-09-01T00:00Z", "--to", "2023-09-02T00:00Z"],
            "is not covered by 1m candles",
        ),
        (
            ["--from", "2023-07-18T14:00Z"],
            "not enough history: BTCUSDT 1m: a decision at 2023-07-18T14:00:00Z reads 1440",
        ),
        (["--to", "2023-07-25T00:00Z"], "is before --from"),
        (["--set", "entry.atr_multiplier=2"], "unknown grid key 'entry.atr_multiplier'"),
        (["--set", "stop.atr_k=-1"], "stop.atr_k: Input should be greater than 0"),
        (["--profile", "no_such"], "unknown profile 'no_such'; available:"),
        (["--balance", "0"], "--balance must be > 0"),
        (["--to", "2099-01-01T00:00Z"], "is in the future"),
    ],
)
def test_bad_input_is_refused_in_one_line(cli: CliRunner, args: list[str], message: str) -> None:
    base = {
        "--profile": "scalper_micro",
        "--symbols": "BTCUSDT",
        "--from": "2023-07-26T00:00Z",
        "--to": "2023-07-26T01:00Z",
    }
    given = dict(zip(args[::2], args[1::2], strict=True))
    sets = [v for k, v in given.items() if k == "--set"]
    merged = {**base, **{k: v for k, v in given.items() if k != "--set"}}
    argv = ["backtest", *[x for kv in merged.items() for x in kv], "--quiet"]
    for s in sets:
        argv += ["--set", s]
    result = invoke(cli, *argv, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.stdout == ""


def test_a_malformed_profile_is_refused_in_one_line(
    cli: CliRunner, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = workdir / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "broken.yaml").write_text(
        "name: broken\nexecution_timeframes: [1m]\ntimeframes:\n  1m:\n    long: [nope]\n"
    )
    monkeypatch.setenv("MTF_PROFILES_DIR", str(folder))
    result = invoke(
        cli,
        "backtest",
        "--profile",
        "broken",
        "--symbols",
        "BTCUSDT",
        "--from",
        "2023-07-26T00:00Z",
        "--to",
        "2023-07-26T01:00Z",
        code=2,
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown rule 'nope'" in lines[0]


def test_a_report_folder_that_cannot_be_written_is_one_line_and_the_backtest_kept(
    cli: CliRunner, workdir: Path
) -> None:
    blocker = workdir / "a-file"
    blocker.write_text("not a folder")
    args = ["--profile", "scalper_micro", "--symbols", "BTCUSDT"]
    span = ["--from", "2023-07-26T00:00Z", "--to", "2023-07-26T02:00Z", "--quiet"]
    result = invoke(cli, "backtest", *args, *span, "--out", str(blocker / "report"), code=1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the report into" in lines[0], result.stderr
    kept = lines[0].rsplit("`mtf backtest export ", 1)[1].split()[0]
    assert json.loads(invoke(cli, "backtest", "show", kept, "--json").stdout)["backtest_id"] == kept
    again = invoke(cli, "backtest", "export", kept, "--out", str(blocker / "x"), code=1)
    assert again.stderr.count("\n") == 1 and "Not a directory" in again.stderr
