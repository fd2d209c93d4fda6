"""Storing checked files: contracts for new symbols, synthetic replacement, per-file reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from providers.contracts import ContractStore
from providers.importer.csvfile import SUFFIXES, ImportFileError, ParsedFile, parse_file
from providers.klines import KlineStore
from providers.specs import default_spec
from providers.timeframes import Timeframe, iso


@dataclass(frozen=True)
class FileResult:
    """What happened to one file."""

    path: Path
    ok: bool
    symbol: str | None = None
    timeframe: Timeframe | None = None
    rows: int = 0
    first_open_ms: int | None = None
    last_open_ms: int | None = None
    error: str | None = None
    replaced_synthetic: bool = False

    def describe(self) -> str:
        if not self.ok:
            return f"FAILED {self.error}"
        assert self.first_open_ms is not None and self.last_open_ms is not None
        replaced = " (replaced synthetic data)" if self.replaced_synthetic else ""
        return (
            f"ok {self.symbol} {self.timeframe}: {self.rows} candles "
            f"{iso(self.first_open_ms)} .. {iso(self.last_open_ms)} from {self.path}{replaced}"
        )


@dataclass(frozen=True)
class ImportReport:
    """Per-file results of one import, in the order the files were taken."""

    files: tuple[FileResult, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def failed(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if not f.ok)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def lines(self) -> list[str]:
        return [f.describe() for f in self.files]


def import_files(
    paths: Iterable[str | Path],
    *,
    klines: KlineStore,
    contracts: ContractStore,
    replace_synthetic: bool = True,
    symbol: str | None = None,
    timeframe: Timeframe | str | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> ImportReport:
    """Import files (directories: their *.csv and *.zip) file by file; never raises for data.

    A symbol without a contract gets `specs.default_spec` with source "import". A symbol whose
    contract is synthetic switches to imported: its synthetic candles are deleted first (they
    can be regenerated) and its contract replaced; with `replace_synthetic=False` such files
    fail instead. Candles are upserted, so importing a file again changes nothing.
    `symbol` and `timeframe`, when given, override what every file's name says; `on_file` is
    told of each file before it is read (progress).
    """
    results: list[FileResult] = []
    for path, problem in _expand(paths):
        if on_file is not None:
            on_file(path)
        if problem is not None:
            results.append(FileResult(path=path, ok=False, error=f"{path}: {problem}"))
            continue
        try:
            parsed = parse_file(path, symbol=symbol, timeframe=timeframe)
            results.append(_store(parsed, klines, contracts, replace_synthetic))
        except ImportFileError as exc:
            results.append(FileResult(path=path, ok=False, error=str(exc)))
        except SQLAlchemyError as exc:
            results.append(FileResult(path=path, ok=False, error=f"{path}: database error: {exc}"))
    return ImportReport(files=tuple(results))


def count_files(paths: Iterable[str | Path]) -> int:
    """How many files `import_files` would look at."""
    return sum(1 for _ in _expand(paths))


def _expand(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not found:
                yield path, "the directory holds no .csv or .zip files"
            for p in found:
                yield p, None
        elif path.exists():
            yield path, None
        else:
            yield path, "no such file or directory"


def _store(
    parsed: ParsedFile, klines: KlineStore, contracts: ContractStore, replace_synthetic: bool
) -> FileResult:
    symbol, candles = parsed.symbol, parsed.candles
    known = contracts.source_of(symbol)
    replaced = False
    if known is None:
        _write_contract(parsed, contracts)
    elif known[0] == "synthetic":
        if not replace_synthetic:
            raise ImportFileError(
                f"{parsed.path}: {symbol} is a synthetic contract; import with "
                f"replace_synthetic=True to replace its synthetic candles"
            )
        klines.delete_symbol(symbol)
        _write_contract(parsed, contracts)
        replaced = True
    elif known[0] == "import":
        stored = known[1].get("price_decimals")
        # A later file with finer prices needs a finer tick, or its prices fall off the grid.
        if not isinstance(stored, int) or parsed.price_decimals > stored:
            _write_contract(parsed, contracts)
    # Contracts from a real exchange are authoritative and stay as they are.
    rows = klines.upsert(candles)
    return FileResult(
        path=parsed.path,
        ok=True,
        symbol=symbol,
        timeframe=parsed.timeframe,
        rows=rows,
        first_open_ms=int(candles.open_time[0]),
        last_open_ms=int(candles.open_time[-1]),
        replaced_synthetic=replaced,
    )


def _write_contract(parsed: ParsedFile, contracts: ContractStore) -> None:
    decimals = parsed.price_decimals
    spec = default_spec(parsed.symbol, float(parsed.candles.close[-1]), price_decimals=decimals)
    contracts.upsert(spec, source="import", params={"price_decimals": decimals})
