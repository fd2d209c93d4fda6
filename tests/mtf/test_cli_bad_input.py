"""Bad input to the commands a new user runs first: a usage error in one line with what is
allowed (exit 2), never a traceback; and a replay that says when the stored history decides
less than the range asked for, instead of counting decisions it could not make."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from mtf.cli import main
from mtf.replay import covered_range, replay
from mtf.rules.profile import load_profile
from providers.candles import Candles
from providers.timeframes import Timeframe
from tests.conftest import klines_file

FOLDER = "binance-usdm-futures_2023-07"
# BTCUSDT's 1h and 4h history starts on 2023-07-04, SOLUSDT's on 2023-07-18: the `regular`
# profile reads 186 closed 4h candles (31 days), so SOLUSDT can never be decided.
FILES = [f"{s}-{tf}.csv" for s in ("BTCUSDT", "SOLUSDT") for tf in ("4h", "1h", "15m", "5m")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad_input")


@pytest.fixture
def cli(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from infra.settings import reset_settings
    from mtf import services

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{workdir / 'cli.db'}")
    monkeypatch.setenv("MTF_SYNTHETIC_SYMBOLS", "3")
    monkeypatch.chdir(workdir)
    reset_settings()
    services.reset()
    runner = CliRunner()
    if not (workdir / "imported").exists():
        paths = [str(klines_file(FOLDER, name)) for name in FILES]
        result = runner.invoke(main, ["klines", "import", *paths])
        assert result.exit_code == 0, result.output
        (workdir / "imported").touch()
    yield runner
    services.reset()
    reset_settings()


def refused(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(main, list(args))
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize(
    "args",
    [
        ["diagnose", "BTCUSDT", "--tf", "3m"],
        [
            "replay",
            "--symbols",
            "BTCUSDT",
            "--from",
            "2023-08-01T00:00Z",
            "--to",
            "2023-08-01T01:00Z",
            "--step",
            "3m",
        ],
        ["klines", "fetch", "BTCUSDT", "--tf", "3m"],
        ["klines", "import", "README.md", "--tf", "3m"],
        ["klines", "backfill", "--timeframes", "1m,3m"],
        ["market", "seed", "--timeframes", "3m"],
    ],
)
def test_an_unknown_timeframe_is_a_usage_error_naming_the_allowed_ones(
    cli: CliRunner, workdir: Path, args: list[str]
) -> None:
    (workdir / "README.md").touch()
    result = refused(cli, *args)
    assert "unknown timeframe '3m'; allowed: 1m, 5m, 15m, 1h, 4h, 1d" in result.output
    assert "Traceback" not in result.output


def test_diagnose_refuses_a_minute_in_the_future(cli: CliRunner) -> None:
    result = refused(cli, "diagnose", "BTCUSDT", "--at", "2099-01-01T00:00Z")
    assert "--at 2099-01-01T00:00:00Z is in the future" in result.stderr


def test_replay_refuses_an_unknown_symbol_and_a_reversed_range(cli: CliRunner) -> None:
    span = ["--from", "2023-08-01T00:00Z", "--to", "2023-08-02T00:00Z"]
    result = refused(cli, "replay", "--symbols", "BTCUSDT,NOPEUSDT", *span)
    assert "NOPEUSDT is not a contract (known contracts:" in result.stderr
    result = refused(
        cli,
        "replay",
        "--symbols",
        "BTCUSDT",
        "--from",
        "2023-08-02T00:00Z",
        "--to",
        "2023-08-01T00:00Z",
    )
    assert "--to 2023-08-01T00:00:00Z is before --from 2023-08-02T00:00:00Z" in result.stderr


def test_replay_says_which_history_shortens_the_range(cli: CliRunner) -> None:
    args = ["replay", "--profile", "regular", "--step", "15m", "--json"]
    span = ["--from", "2023-08-01T00:00Z", "--to", "2023-08-10T00:00Z"]
    result = cli.invoke(main, [*args, "--symbols", "BTCUSDT,SOLUSDT", *span])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # BTCUSDT: 4h candles from 2023-07-04T16:00Z, 186 of them closed at 2023-08-04T16:00Z;
    # every 15 minutes from then to 2023-08-10T00:00Z inclusive.
    assert data["decisions"] == (5 * 24 + 8) * 4 + 1
    assert data["notes"][0] == (
        "BTCUSDT: decided from 2023-08-04T16:00:00Z to 2023-08-10T00:00:00Z only (before it, "
        "fewer than the 186 closed 4h candles the profile reads are stored)"
    )
    assert data["notes"][1].startswith(
        "SOLUSDT: not decided: the profile reads 186 closed 4h candles, and the stored ones "
        "(from 2023-07-18T12:00:00Z) allow a first decision at 2023-08-18T12:00:00Z only"
    )
    text = cli.invoke(main, ["replay", "--profile", "regular", "--symbols", "SOLUSDT", *span])
    assert text.exit_code == 1
    assert "no decision could be made: SOLUSDT: not decided" in text.stderr


def test_too_short_a_history_covers_no_moment() -> None:
    """Fewer candles than the profile reads allow no decision at all (not one at the end)."""
    profile = load_profile("regular")
    end = 1_690_000_000_000 // Timeframe.D1.ms * Timeframe.D1.ms
    blocks = {}
    for tf in profile.timeframes:
        need = profile.minimum_candles(tf)
        count = need - 1 if tf is Timeframe.H4 else need + 10
        prices = 100 + np.cumsum(np.sin(np.arange(count)))
        rows: list[tuple[float, ...]] = [
            (end - (count - i) * tf.ms, p, p + 1, p - 1, p, 10.0) for i, p in enumerate(prices)
        ]
        blocks[tf] = Candles.from_rows("X", tf, rows)
    lo, hi = covered_range(profile, blocks)
    assert lo > hi
    assert replay(profile, "X", blocks, step=Timeframe.M15).decisions == 0
    # one candle more and the last moment is decided
    h4 = blocks[Timeframe.H4]
    first = int(h4.open_time[0]) - Timeframe.H4.ms
    blocks[Timeframe.H4] = Candles.from_rows(
        "X",
        Timeframe.H4,
        np.vstack(
            [
                [first, 100, 101, 99, 100, 10],
                np.column_stack([h4.open_time, h4.open, h4.high, h4.low, h4.close, h4.volume]),
            ]
        ),
    )
    lo, hi = covered_range(profile, blocks)
    assert lo == hi == end


@pytest.mark.parametrize("kind", [[], ["--trade-entry"]])
def test_a_yaml_syntax_error_is_one_line_with_its_place(
    cli: CliRunner, workdir: Path, kind: list[str]
) -> None:
    bad = workdir / "broken.yaml"
    bad.write_text("name: broken\ntimeframes: [1m\nmode: strict\n")
    result = cli.invoke(main, ["profiles", "check", *kind, str(bad)])
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and len(result.output.strip().splitlines()) == 2, result.output
    assert "not valid YAML at line 3, column 5: expected ',' or ']', but got ':'" in problems[0]


def _write_candles(folder: Path, symbol: str, tf: Timeframe, start_ms: int, count: int) -> str:
    path = folder / f"{symbol}-{tf}.csv"
    prices = 100 + np.cumsum(np.sin(np.arange(count) / 7))
    lines = ["open_time_ms,open,high,low,close,volume"] + [
        f"{start_ms + i * tf.ms},{p:.4f},{p + 0.5:.4f},{p - 0.5:.4f},{p:.4f},10"
        for i, p in enumerate(prices)
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_backtest_says_which_history_sets_the_earliest_start_or_that_none_can(
    cli: CliRunner, workdir: Path
) -> None:
    day = Timeframe.D1.ms
    start = 1_688_169_600_000  # 2023-07-01T00:00Z
    files = [
        _write_candles(workdir, "ABCUSDT", Timeframe.M1, start, 3 * 1440),
        _write_candles(workdir, "ABCUSDT", Timeframe.M5, start, 3 * 288),
        _write_candles(workdir, "XYZUSDT", Timeframe.M1, start, 3 * 1440),
        # 200 five-minute candles: fewer than the 288 scalper_micro reads, whatever the range
        _write_candles(workdir, "XYZUSDT", Timeframe.M5, start + 2 * day, 200),
    ]
    assert cli.invoke(main, ["klines", "import", *files]).exit_code == 0
    span = ["--from", "2023-07-01T12:00Z", "--to", "2023-07-02T12:00Z", "--quiet"]
    args = ["backtest", "--profile", "scalper_micro", *span]
    one = refused(cli, *args, "--symbols", "ABCUSDT").stderr.strip().splitlines()
    assert len(one) == 1
    assert one[0].endswith(
        "the earliest --from these symbols allow is 2023-07-02T00:00:00Z (set by ABCUSDT 1m)"
    )
    two = refused(cli, *args, "--symbols", "ABCUSDT,XYZUSDT").stderr.strip().splitlines()
    assert len(two) == 1
    assert (
        "XYZUSDT cannot be backtested with this profile at any --from: its 5m history first "
        "holds what the profile reads at 2023-07-04T00:00:00Z, after its candles end" in two[0]
    )


def test_a_file_named_otherwise_is_told_the_options_that_name_it(
    cli: CliRunner, workdir: Path
) -> None:
    odd = workdir / "export.csv"
    odd.write_text("open_time_ms,open,high,low,close,volume\n1690000020000,1,2,0.5,1.5,10\n")
    result = cli.invoke(main, ["klines", "import", str(odd)])
    assert result.exit_code == 1
    assert "(`mtf klines import --symbol BTCUSDT --tf 1m FILE`)" in result.stderr
    named = cli.invoke(main, ["klines", "import", "--symbol", "ODDUSDT", "--tf", "1m", str(odd)])
    assert named.exit_code == 0 and "ODDUSDT 1m 1 candles" in named.stdout
