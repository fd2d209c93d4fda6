"""A database with real candles imported, shared by the CLI tests of this package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mtf.cli import main
from tests.conftest import klines_file

FILES = [f"{s}-{tf}.csv" for s in ("BTCUSDT", "ETHUSDT") for tf in ("1m", "5m", "1h")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backtest_cli")


@pytest.fixture
def cli(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from infra.settings import reset_settings
    from mtf import services

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{workdir / 'bt.db'}")
    monkeypatch.chdir(workdir)
    reset_settings()
    services.reset()
    runner = CliRunner()
    if not (workdir / "imported").exists():
        paths = [str(klines_file("binance-usdm-futures_2023-07", f)) for f in FILES]
        result = runner.invoke(main, ["klines", "import", *paths])
        assert result.exit_code == 0, result.output
        (workdir / "imported").touch()
    yield runner
    services.reset()
    reset_settings()


def invoke(cli: CliRunner, *args: str, code: int = 0) -> Any:
    result = cli.invoke(main, list(args))
    assert result.exit_code == code, (result.output, result.stderr)
    return result
