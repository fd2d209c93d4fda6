"""What a new user meets first: the version, progress bars, imported candles beside the demo,
stale data refused, unknown symbols named, settings validated, migrations inspectable, run and
order listings that say what happened, and a README whose commands exist."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from mtf.cli import main
from tests.conftest import klines_file

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "binance-usdm-futures_2023-07"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
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


def ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(main, list(args))
    assert result.exit_code == 0, result.output + result.stderr
    return str(result.stdout)


def test_version(cli: CliRunner) -> None:
    assert ok(cli, "--version").strip() == f"mtf {version('mtf-scalper')}"


def test_long_commands_show_progress_with_an_eta(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr("mtf.cli.progress.stderr_console", lambda: terminal)
    files = [str(klines_file(FOLDER, f"BTCUSDT-{tf}.csv")) for tf in ("1m", "5m")]
    ok(cli, "klines", "import", *files)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "eta" in shown and "/2" in shown, shown[-400:]
    screen.truncate(0)
    ok(cli, "replay", "--symbols", "BTCUSDT", "--from", "2023-08-01T00:00Z",
       "--to", "2023-08-01T02:00Z", "--step", "5m")  # fmt: skip
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "replay" in shown and "eta" in shown and "/25" in shown, shown[-400:]


def test_imported_history_beside_the_demo_and_market_reset(cli: CliRunner) -> None:
    first = json.loads(ok(cli, "run", "--json", "--no-tpsl"))
    assert first["run"]["skipped"] == 0, "the synthetic demo decides on fresh candles"
    files = [str(klines_file(FOLDER, f"BTCUSDT-{tf}.csv")) for tf in ("1m", "5m")]
    ok(cli, "klines", "import", *files)
    after = cli.invoke(main, ["run", "--no-tpsl"])
    assert after.exit_code == 0
    assert "imported history only" in after.stderr
    assert "mtf run --at 2023-08-17T" in after.stderr and "mtf market reset" in after.stderr
    replay = json.loads(ok(cli, "run", "--symbols", "BTCUSDT", "--at", "2023-08-01T12:00Z",
                           "--json", "--no-tpsl"))  # fmt: skip
    assert replay["symbols"]["BTCUSDT"]["status"] in ("READY", "INVALID")

    reset = ok(cli, "market", "reset", "--yes")
    assert "1 imported symbol(s) removed" in reset and "1 synthetic symbol(s) restored" in reset
    again = cli.invoke(main, ["run", "--json", "--no-tpsl"])
    response = json.loads(again.stdout)
    assert response["run"]["skipped"] == 0 and "BTCUSDT" in response["symbols"]
    assert again.stderr == ""


def test_diagnose_and_plan_refuse_stale_candles_without_at(cli: CliRunner) -> None:
    files = [str(klines_file(FOLDER, f"ETHUSDT-{tf}.csv")) for tf in ("1m", "5m")]
    ok(cli, "klines", "import", *files)
    for args in (["diagnose", "ETHUSDT"], ["plan", "ETHUSDT", "--side", "long", "--tf", "1m"]):
        result = cli.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("error: ETHUSDT: stale candles (")
        assert "--at" in result.stderr and result.stderr.count("\n") == 1
    at = ["--at", "2023-08-01T12:00Z"]
    diagnosed = json.loads(ok(cli, "diagnose", "ETHUSDT", *at, "--json"))
    assert diagnosed["as_of"] == "2023-08-01T12:00:00Z" and diagnosed["data_problems"] == []
    planned = cli.invoke(main, ["plan", "ETHUSDT", "--side", "long", "--tf", "1m", *at, "--json"])
    assert planned.exit_code in (0, 1), planned.output  # a plan, or the planner's refusal


def test_an_unknown_symbol_is_not_a_contract_with_close_names(cli: CliRunner) -> None:
    response = json.loads(ok(cli, "run", "--symbols", "XBTUSDT,BTCUSDT", "--json", "--no-tpsl"))
    assert response["excluded"]["XBTUSDT"].startswith("not a contract (close: BTCUSDT")
    assert set(response["symbols"]) == {"BTCUSDT"}
    summary = ok(cli, "run", "--symbols", "XBTUSDT,BTCUSDT", "--no-tpsl")
    assert "not a contract: XBTUSDT (close: BTCUSDT" in summary
    assert "no_candles" not in summary
    # Nothing known to decide: refused before anything runs, every name told.
    runs_before = ok(cli, "runs", "list")
    refused = cli.invoke(main, ["run", "--symbols", "XBTUSDT,FOOUSDT", "--no-tpsl"])
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith("error: XBTUSDT is not a contract (close: BTCUSDT")
    assert "FOOUSDT is not a contract (known contracts: " in refused.stderr
    assert refused.stdout == "" and refused.stderr.count("\n") == 1
    assert ok(cli, "runs", "list") == runs_before
    for args in (["diagnose", "XBTUSDT"], ["plan", "XBTUSDT", "--side", "long"]):
        result = cli.invoke(main, args)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: XBTUSDT is not a contract (close: BTCUSDT")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MTF_LOG_LEVEL", "loud", "allowed: DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("MTF_SCHEDULE_PROFILES", "scalper_micro,scalpr", "unknown profile(s) scalpr; available:"),
        ("MTF_SCHEDULE_PROFILES", "scalper micro", "a profile name is letters, digits"),
        ("MTF_SCHEDULE_PROFILES", "scalper,scalper", "scalper listed twice"),
    ],
)
def test_log_level_and_schedule_profiles_are_validated(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    from infra.settings import reset_settings

    monkeypatch.setenv(variable, value)
    reset_settings()
    result = cli.invoke(main, ["config"])
    assert result.exit_code == 2
    assert f"{variable}=" in result.stderr and says in result.stderr


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.settings import Settings

    monkeypatch.setenv("MTF_LOG_LEVEL", "debug")
    assert Settings(_env_file=None).log_level == "DEBUG"  # type: ignore[call-arg]


def test_alembic_at_the_root_and_mtf_db(cli: CliRunner, tmp_path: Path) -> None:
    ok(cli, "db", "upgrade")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "PATH": str(Path(sys.executable).parent),
    }
    alembic = str(Path(sys.executable).with_name("alembic"))
    current = subprocess.run(
        [alembic, "current"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout
    head = current.stdout.split()[0]
    assert head in ok(cli, "db", "current")
    history = ok(cli, "db", "history")
    assert history.index(head) < history.index("0001")
    ok(cli, "db", "downgrade", "-1", "--yes")
    assert "(head)" not in ok(cli, "db", "current")
    ok(cli, "db", "upgrade")
    assert "(head)" in ok(cli, "db", "current")


def test_runs_list_shows_the_mode_and_why_a_run_was_rejected(cli: CliRunner) -> None:
    from mtf.celery_app import configure_embedded
    from mtf.tasks.cycle import run_cycle

    ok(cli, "run", "--no-tpsl")
    configure_embedded()
    assert not run_cycle.apply(kwargs={"symbols": ["BTCUSDT"], "dry_run": "perhaps"}).successful()
    listed = ok(cli, "runs", "list")
    rejected = next(line for line in listed.splitlines() if "rejected" in line)
    assert "dry_run" in rejected, "the reason of the refusal"
    completed = next(line for line in listed.splitlines() if "completed" in line)
    assert "dry-run" in completed
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", completed)


def test_plan_and_order_outputs_show_iso_times_and_prices_on_the_tick(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from mtf.services import services
    from tests.helpers import permissive_trade_entry

    entries = tmp_path / "entries"
    entries.mkdir()
    (entries / "permissive.yaml").write_text(yaml.safe_dump(permissive_trade_entry("permissive")))
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(entries))

    files = [str(klines_file(FOLDER, f"ETHUSDT-{tf}.csv")) for tf in ("1m", "5m", "15m", "1h")]
    ok(cli, "klines", "import", *files)
    tick = services().contracts.get("ETHUSDT").tick_size
    found = None
    for minute in range(0, 60, 5):
        for side in ("long", "short"):
            args = ["plan", "ETHUSDT", "--side", side, "--tf", "1m", "--json",
                    "--at", f"2023-08-01T12:{minute:02d}Z", "--profile", "permissive"]  # fmt: skip
            result = cli.invoke(main, args)
            data = json.loads(result.stdout)
            if result.exit_code == 0:
                found = data
                break
        if found:
            break
    if found is None:
        pytest.fail("the permissive profile plans nothing in this hour of ETHUSDT")
    zone = found["zone"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", zone["expires"])
    assert Decimal(zone["anchor"]) % tick == 0
    for key in ("entry_price", "stop_loss", "take_profit"):
        assert Decimal(found[key]) % tick == 0, key
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", found["steps"]["zone_expires"])
    anchor = found["steps"]["zone"].split()[-1]
    assert Decimal(anchor) % tick == 0
    text = ok(cli, "plan", "ETHUSDT", "--side", found["side"], "--tf", "1m", "--at",
              found["as_of"], "--profile", "permissive")  # fmt: skip
    assert "_ms" not in text and "zone_expires" in text


def test_orders_list_shows_candle_times_and_the_mode(cli: CliRunner) -> None:
    from mtf.services import services
    from tradeentry.ids import client_order_id
    from tradeentry.ledger import Decision

    ok(cli, "run", "--no-tpsl")
    d = Decision("BTCUSDT:1m:1690891200000:long", None, "scalper_micro", "BTCUSDT", "long",
                 "1m", 1_690_891_200_000, "paper", True, 1_690_891_260_000)  # fmt: skip
    services().ledger.claim(d, client_order_id(d.decision_key))
    services().ledger.update(d.decision_key, status="simulated", plan={"entry_price": "1.5"})
    listed = ok(cli, "orders", "list")
    row = next(line for line in listed.splitlines() if "BTCUSDT" in line)
    assert "2023-08-01T12:00:00Z" in row and "dry-run" in row and "1690891200000" not in row
    record = json.loads(ok(cli, "orders", "list", "--json").splitlines()[0])
    assert record["candle_open"] == "2023-08-01T12:00:00Z"


def test_every_command_the_readme_shows_exists() -> None:
    from click.testing import CliRunner as Runner

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    commands = [line for line in lines if line.startswith("mtf ")]
    assert len(commands) > 20
    for line in commands:
        assert "| mtf" not in line, f"one command per line: {line}"
        if line == "mtf --version":
            continue  # an option of the group (test_version)
        words = [w for w in line.split()[1:] if not w.startswith("-")]
        path: list[str] = []
        group = main
        for word in words:
            sub = getattr(group, "commands", {}).get(word)
            if sub is None:
                break
            path.append(word)
            group = sub
        assert path, f"{line}: no such command"
        result = Runner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, f"{line}: {result.output}"
