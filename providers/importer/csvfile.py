"""Reading and checking one candle file: this project's CSV or a Binance kline dump."""

from __future__ import annotations

import io
import itertools
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

import numpy as np

from providers.candles import CandleDataError, Candles
from providers.specs import MAX_PRICE_DECIMALS, split_symbol
from providers.timeframes import Timeframe, iso

PROJECT_HEADER = ("open_time_ms", "open", "high", "low", "close", "volume")
BINANCE_HEADER = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)  # fmt: skip
SUFFIXES = (".csv", ".zip")
_NAME = re.compile(
    r"^(?P<symbol>[A-Za-z0-9]+)-(?P<timeframe>\d+[A-Za-z]+)(?:-\d{4}-\d{2}(?:-\d{2})?)?$"
)
_NAMING_HELP = (
    "name files SYMBOL-TF.csv (e.g. BTCUSDT-1m.csv) or as Binance does "
    "(BTCUSDT-1m-2023-08.zip, BTCUSDT-1m-2023-08-01.csv), or give them "
    "(`mtf klines import --symbol BTCUSDT --tf 1m FILE`)"
)
# Open times of 1973..5138 in ms are 1e11..1e14; microseconds of any recent date are above.
_MS_RANGE = (10**11, 10**14)
_PRICE_COLUMNS = ("open", "high", "low", "close")


class CsvFormat(StrEnum):
    PROJECT = "project"
    BINANCE = "binance"


class ImportFileError(ValueError):
    """A file that cannot be imported; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class ParsedFile:
    """A checked file, ready to store."""

    path: Path
    symbol: str
    timeframe: Timeframe
    candles: Candles
    price_decimals: int  # most decimals any price of the file carries
    source_format: CsvFormat
    duplicates_dropped: int = 0


def parse_file(
    path: str | Path, *, symbol: str | None = None, timeframe: Timeframe | str | None = None
) -> ParsedFile:
    """Read and check one CSV or zipped CSV; `ImportFileError` names what is wrong and where."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ImportFileError(
            f"{path}: unsupported file type {path.suffix!r}; expected .csv or .zip"
        )
    sym, tf = identify(path, symbol=symbol, timeframe=timeframe)
    return parse_text(_read_text(path), path=path, symbol=sym, timeframe=tf)


def identify(
    path: Path, *, symbol: str | None = None, timeframe: Timeframe | str | None = None
) -> tuple[str, Timeframe]:
    """(symbol, timeframe) of a file, from its name unless given."""
    stem = path.name
    for suffix in SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    match = _NAME.match(stem)
    if (symbol is None or timeframe is None) and match is None:
        raise ImportFileError(
            f"{path}: cannot tell symbol and timeframe from the name; {_NAMING_HELP}"
        )
    sym = symbol if symbol is not None else match.group("symbol") if match else ""
    try:
        split_symbol(sym.upper())
    except ValueError as exc:
        raise ImportFileError(f"{path}: {exc}") from None
    if timeframe is None:
        assert match is not None
        timeframe = match.group("timeframe")
        if timeframe.endswith("M"):  # Binance writes months as 1M, minutes as 1m
            allowed = ", ".join(t.value for t in Timeframe)
            raise ImportFileError(
                f"{path}: monthly candles ({timeframe}) are not supported; "
                f"allowed timeframes: {allowed}"
            )
    try:
        tf = Timeframe.parse(timeframe)
    except ValueError as exc:
        raise ImportFileError(f"{path}: {exc}") from None
    return sym.upper(), tf


def _read_text(path: Path) -> str:
    try:
        data = _read_zip(path) if path.suffix.lower() == ".zip" else path.read_bytes()
        return data.decode("utf-8-sig")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _read_zip(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(".csv")
            ]  # fmt: skip
            if len(members) != 1:
                names = ", ".join(info.filename for info in members) or "none"
                raise ImportFileError(
                    f"{path}: a zip must hold exactly one .csv file; found {len(members)} ({names})"
                )
            return archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise ImportFileError(f"{path}: not a valid zip archive ({exc})") from None


def parse_text(text: str, *, path: Path, symbol: str, timeframe: Timeframe) -> ParsedFile:
    """Parse and check CSV text; errors name `path` and the line."""
    return _Parser(path, symbol, timeframe).parse(io.StringIO(text))


class _Parser:
    """One pass over the rows; order and duplicate checks need only the previous row."""

    def __init__(self, path: Path, symbol: str, timeframe: Timeframe) -> None:
        self.path = path
        self.symbol = symbol
        self.timeframe = timeframe

    def fail(self, line: int, problem: str) -> ImportFileError:
        return ImportFileError(f"{self.path}: line {line}: {problem}")

    def parse(self, lines: Iterable[str]) -> ParsedFile:
        rows = ((n, raw.strip()) for n, raw in enumerate(lines, start=1))
        data = ((n, text) for n, text in rows if text)
        first = next(data, None)
        if first is None:
            raise ImportFileError(f"{self.path}: the file is empty")
        fmt, header = self._format(*first)
        return self._rows(fmt, data if header else itertools.chain([first], data))

    def _format(self, line: int, text: str) -> tuple[CsvFormat, bool]:
        fields = tuple(f.strip().lower() for f in text.split(","))
        if fields[0].isascii() and fields[0].isdigit():
            by_count = {
                len(PROJECT_HEADER): CsvFormat.PROJECT,
                len(BINANCE_HEADER): CsvFormat.BINANCE,
            }
            if len(fields) not in by_count:
                raise self.fail(
                    line,
                    f"{len(fields)} columns; expected 6 "
                    f"({','.join(PROJECT_HEADER)}) or 12 (Binance klines)",
                )
            return by_count[len(fields)], False
        if fields == PROJECT_HEADER:
            return CsvFormat.PROJECT, True
        if fields == BINANCE_HEADER:
            return CsvFormat.BINANCE, True
        raise self.fail(
            line,
            f"unrecognised header {text[:120]!r}; expected "
            f"{','.join(PROJECT_HEADER)!r} or Binance's "
            f"{','.join(BINANCE_HEADER)!r}",
        )

    def _rows(self, fmt: CsvFormat, body: Iterable[tuple[int, str]]) -> ParsedFile:
        width = len(PROJECT_HEADER) if fmt is CsvFormat.PROJECT else len(BINANCE_HEADER)
        step = self.timeframe.ms
        scale = 0  # 1 for ms, 1000 for microseconds; fixed by the first row
        decimals = 0
        times: list[int] = []
        values: list[tuple[float, float, float, float, float]] = []
        previous_line = 0
        duplicates = 0
        for line, text in body:
            fields = text.split(",")
            if len(fields) != width:
                raise self.fail(line, f"expected {width} columns, got {len(fields)}")
            raw_time = self._whole(line, "open time", fields[0])
            row_scale = 1000 if raw_time >= _MS_RANGE[1] else 1
            if raw_time < _MS_RANGE[0]:
                raise self.fail(
                    line,
                    f"open time {raw_time} is too small for epoch "
                    f"milliseconds (seconds?); expected milliseconds or "
                    f"microseconds",
                )
            if scale and row_scale != scale:
                unit = {1: "milliseconds", 1000: "microseconds"}
                raise self.fail(
                    line,
                    f"open time {raw_time} is in {unit[row_scale]} but the "
                    f"file started in {unit[scale]}",
                )
            scale = row_scale
            if raw_time % scale:
                raise self.fail(line, f"open time {raw_time} µs is not a whole millisecond")
            open_ms = raw_time // scale
            if open_ms % step:
                raise self.fail(
                    line,
                    f"open time {open_ms} ({iso(open_ms)}) is not aligned to "
                    f"{self.timeframe} candles (a multiple of {step} ms)",
                )
            if fmt is CsvFormat.BINANCE:
                close_time = self._whole(line, "close_time", fields[6])
                expected = raw_time + step * scale - 1
                if close_time != expected:
                    raise self.fail(
                        line,
                        f"close_time {close_time} does not close a "
                        f"{self.timeframe} candle opened at {raw_time} "
                        f"(expected {expected}); is the timeframe right?",
                    )
            row = self._candle(line, fields)
            for name, field in zip(_PRICE_COLUMNS, fields[1:5], strict=True):
                places = _decimals(field)
                if places > decimals:
                    decimals = places
                    if places > MAX_PRICE_DECIMALS:
                        raise self.fail(
                            line,
                            f"{name} {field!r} has {places} decimals; at most "
                            f"{MAX_PRICE_DECIMALS} are supported",
                        )
            if times and open_ms <= times[-1]:
                if open_ms < times[-1]:
                    raise self.fail(
                        line,
                        f"open time {open_ms} ({iso(open_ms)}) is before "
                        f"line {previous_line}'s {iso(times[-1])}; rows must be "
                        f"in ascending time order",
                    )
                if row != values[-1]:
                    raise self.fail(
                        line,
                        f"open time {open_ms} ({iso(open_ms)}) repeats line "
                        f"{previous_line} with different values",
                    )
                duplicates += 1
                continue
            times.append(open_ms)
            values.append(row)
            previous_line = line
        if not times:
            raise ImportFileError(f"{self.path}: no candles, only a header")
        arr = np.asarray(values, dtype=np.float64)
        candles = Candles(
            symbol=self.symbol,
            timeframe=self.timeframe,
            open_time=np.asarray(times, dtype=np.int64),
            open=np.ascontiguousarray(arr[:, 0]),
            high=np.ascontiguousarray(arr[:, 1]),
            low=np.ascontiguousarray(arr[:, 2]),
            close=np.ascontiguousarray(arr[:, 3]),
            volume=np.ascontiguousarray(arr[:, 4]),
        )
        try:
            candles.validate()
        except CandleDataError as exc:  # every rule was checked per row; this is a backstop
            raise ImportFileError(f"{self.path}: {exc}") from None
        return ParsedFile(
            path=self.path,
            symbol=self.symbol,
            timeframe=self.timeframe,
            candles=candles,
            price_decimals=decimals,
            source_format=fmt,
            duplicates_dropped=duplicates,
        )

    def _candle(self, line: int, fields: list[str]) -> tuple[float, float, float, float, float]:
        o, h, lo, c, v = (
            self._number(line, name, field)
            for name, field in zip(PROJECT_HEADER[1:], fields[1:6], strict=True)
        )
        for name, price in (("open", o), ("high", h), ("low", lo), ("close", c)):
            if price <= 0:
                raise self.fail(line, f"{name} must be a positive price, got {price:g}")
        if h < max(o, c):
            raise self.fail(line, f"high {h:g} is below max(open, close) = {max(o, c):g}")
        if lo > min(o, c):
            raise self.fail(line, f"low {lo:g} is above min(open, close) = {min(o, c):g}")
        if v < 0:
            raise self.fail(line, f"volume must be >= 0, got {v:g}")
        return o, h, lo, c, v

    def _whole(self, line: int, name: str, field: str) -> int:
        text = field.strip()
        if not (text.isascii() and text.isdigit()):
            raise self.fail(line, f"{name} {field!r} is not a whole non-negative number")
        return int(text)

    def _number(self, line: int, name: str, field: str) -> float:
        try:
            value = float(field)
        except ValueError:
            raise self.fail(line, f"{name} {field!r} is not a number") from None
        if not math.isfinite(value):
            raise self.fail(line, f"{name} {field!r} is not a finite number")
        return value


def _decimals(field: str) -> int:
    """Decimals a number is written with, trailing zeros aside ('0.10000' -> 1, '5e-05' -> 5)."""
    text = field.strip()
    if "e" in text or "E" in text:
        try:
            exponent = Decimal(text).normalize().as_tuple().exponent
        except InvalidOperation:
            return 0
        return max(0, -exponent) if isinstance(exponent, int) else 0
    _, _, fraction = text.partition(".")
    return len(fraction.rstrip("0"))
