"""A report written out: JSON, CSV tables, PNG charts and one self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtf.backtest.charts import SYMBOL_COLUMNS, TRADE_COLUMNS, equity_png, html_page, price_png
from providers.candles import Candles

CSV_TRADE_COLUMNS = [
    *TRADE_COLUMNS[:2],
    "timeframe",
    "signal_time",
    *TRADE_COLUMNS[2:],
    "stop",
    "holding_minutes",
    "decision_key",
]


def csv_text(rows: list[Mapping[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c) for c in columns})
    return buffer.getvalue()


def write_files(
    report: Mapping[str, Any],
    out: Path,
    *,
    chart_symbol: str | None = None,
    minutes: Candles | None = None,
) -> list[Path]:
    """report.json, trades.csv, per_symbol.csv, equity.png, price-<SYMBOL>.png (with the
    symbol's 1m candles) and report.html in `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, data: str | bytes) -> None:
        path = out / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
        written.append(path)

    write("report.json", json.dumps(report, indent=2, default=str))
    write("trades.csv", csv_text(list(report["trades"]), CSV_TRADE_COLUMNS))
    symbol_columns = [*SYMBOL_COLUMNS, "expectancy_r"]
    write("per_symbol.csv", csv_text(list(report["per_symbol"]), symbol_columns))
    images = {"Equity and drawdown": equity_png(report)}
    write("equity.png", images["Equity and drawdown"])
    if chart_symbol is not None and minutes is not None:
        images[f"{chart_symbol}: entries, exits and stops"] = price_png(
            report, chart_symbol, minutes
        )
        write(f"price-{chart_symbol}.png", images[f"{chart_symbol}: entries, exits and stops"])
    write("report.html", html_page(report, images))
    return written
