"""Import real candles from CSV files into the kline store.

Two layouts are read, plain (``.csv``) or as the single CSV inside a ``.zip``:

* this project's ``open_time_ms,open,high,low,close,volume`` (the shared data folder's format);
* Binance's public kline dumps, 12 columns from ``open_time`` to ``ignore``, with or without a
  header; open times in milliseconds, or in microseconds (Binance spot files since 2025),
  told apart by magnitude.

Files are named ``SYMBOL-TF.csv`` (``BTCUSDT-1m.csv``) or as Binance names them
(``BTCUSDT-1m-2023-08.zip``, ``BTCUSDT-1m-2023-08-01.csv``); `symbol=` and `timeframe=` override
the name. Every row is checked and the first bad one stops the file with a message naming file,
line and problem; a bad file imports nothing and does not affect the others. Consecutive rows
repeating an open time with identical values are dropped; conflicting repeats are an error.
"""

from providers.importer.csvfile import (
    BINANCE_HEADER,
    PROJECT_HEADER,
    CsvFormat,
    ImportFileError,
    ParsedFile,
    identify,
    parse_file,
    parse_text,
)
from providers.importer.store import FileResult, ImportReport, count_files, import_files

__all__ = [
    "BINANCE_HEADER",
    "PROJECT_HEADER",
    "CsvFormat",
    "FileResult",
    "ImportFileError",
    "ImportReport",
    "ParsedFile",
    "count_files",
    "identify",
    "import_files",
    "parse_file",
    "parse_text",
]
