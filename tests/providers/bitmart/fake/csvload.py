"""Real candles from a folder of CSV files (the shared data folder's layout) into the fake."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from providers.contracts import ContractStore
from providers.importer import ImportFileError, identify, parse_file
from providers.klines import KlineStore
from providers.specs import default_spec
from providers.timeframes import Timeframe

_SUFFIXES = (".csv", ".zip")


@dataclass(frozen=True)
class Loaded:
    """One file stored: its candles' symbol, timeframe and open times."""

    symbol: str
    timeframe: Timeframe
    rows: int
    first_open_ms: int
    last_open_ms: int


def load_csv_folder(
    folder: str | Path,
    *,
    contracts: ContractStore,
    klines: KlineStore,
    symbols: Iterable[str] | None = None,
    timeframes: Iterable[Timeframe | str] | None = None,
) -> list[Loaded]:
    """Store the candles of `folder`'s SYMBOL-TF files (only `symbols` / `timeframes` when
    given); symbols without a contract get `providers.specs.default_spec`.

    Files whose names do not say symbol and timeframe are skipped; a symbol asked for but not
    found is a `ValueError`.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"no candle folder at {root}")
    wanted = {s.upper() for s in symbols} if symbols is not None else None
    frames = {Timeframe.parse(t) for t in timeframes} if timeframes is not None else None
    loaded: list[Loaded] = []
    decimals: dict[str, int] = {}
    closes: dict[str, float] = {}
    for path in sorted(p for p in root.iterdir() if p.suffix.lower() in _SUFFIXES):
        try:
            symbol, timeframe = identify(path)
        except ImportFileError:
            continue
        if (wanted is not None and symbol not in wanted) or (
            frames is not None and timeframe not in frames
        ):
            continue
        parsed = parse_file(path, symbol=symbol, timeframe=timeframe)
        candles = parsed.candles
        if not len(candles):
            continue
        klines.upsert(candles)
        decimals[symbol] = max(decimals.get(symbol, 0), parsed.price_decimals)
        closes[symbol] = float(candles.close[-1])
        loaded.append(
            Loaded(
                symbol,
                timeframe,
                len(candles),
                int(candles.open_time[0]),
                int(candles.open_time[-1]),
            )
        )
    missing = sorted((wanted or set()) - set(decimals))
    if missing:
        raise ValueError(f"no candle file of {', '.join(missing)} in {root}")
    for symbol, places in decimals.items():
        if contracts.find(symbol) is None:
            spec = default_spec(symbol, closes[symbol], price_decimals=places)
            contracts.upsert(spec, source="import", params={"price_decimals": places})
    return loaded
