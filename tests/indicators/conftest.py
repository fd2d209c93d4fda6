"""Shared fixtures: real historical candles from `<repo>/../shared/data/klines`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
KLINES_DIR = REPO.parent / "shared" / "data" / "klines"

_TIMEFRAME_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000}


@dataclass(frozen=True, eq=False)
class Market:
    """One klines file as numpy columns, oldest first."""

    name: str
    interval_ms: int
    open_time: npt.NDArray[np.int64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.close)

    @property
    def long(self) -> bool:
        """Long enough for standard periods once seed differences have decayed."""
        return len(self) > 5_000

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "open_time_ms": self.open_time,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": self.volume,
            }
        )

    def head(self, n: int) -> Market:
        return Market(
            self.name,
            self.interval_ms,
            self.open_time[:n],
            self.high[:n],
            self.low[:n],
            self.close[:n],
            self.volume[:n],
        )


def klines_path(relative: str) -> Path:
    if not KLINES_DIR.is_dir():
        pytest.skip(f"real candles not found: {KLINES_DIR} is absent")
    path = KLINES_DIR / relative
    if not path.is_file():
        pytest.skip(f"real candles not found: {path} is absent")
    return path


@cache
def _load(relative: str) -> Market:
    path = klines_path(relative)
    table = pd.read_csv(path, dtype={"open_time_ms": np.int64}).astype(
        {name: np.float64 for name in ("open", "high", "low", "close", "volume")}
    )
    columns = {name: table[name].to_numpy(copy=True) for name in table.columns}
    for column in columns.values():
        column.setflags(write=False)
    return Market(
        name=relative,
        interval_ms=_TIMEFRAME_MS[path.stem.rsplit("-", 1)[1]],
        open_time=columns["open_time_ms"],
        high=columns["high"],
        low=columns["low"],
        close=columns["close"],
        volume=columns["volume"],
    )


def load_market(relative: str) -> Market:
    """Load a klines file (cached); skips the test when the data folder is absent."""
    klines_path(relative)
    return _load(relative)


BTC_1M = "binance-usdm-futures_2023-07/BTCUSDT-1m.csv"
ETH_5M = "binance-usdm-futures_2023-07/ETHUSDT-5m.csv"
DOGE_1M = "binance-usdm-futures_2023-07/DOGEUSDT-1m.csv"
PLUME_1M = "bitmart-futures_2025-09/PLUMEUSDT-1m.csv"
HIFI_1H = "bitmart-futures_2025-09/HIFIUSDT-1h.csv"

#: Majors at two timeframes, a low-priced coin, and two BitMart contracts (HIFI is extreme).
MARKETS = (BTC_1M, ETH_5M, DOGE_1M, PLUME_1M, HIFI_1H)


@pytest.fixture(params=MARKETS, ids=lambda rel: Path(rel).stem)
def market(request: pytest.FixtureRequest) -> Market:
    return load_market(request.param)


@pytest.fixture
def btc_1m() -> Market:
    return load_market(BTC_1M)


@pytest.fixture
def load() -> Callable[[str], Market]:
    """`load(relative_path)`: any klines file, for tests that need a particular one."""
    return load_market
