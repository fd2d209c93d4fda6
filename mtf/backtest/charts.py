"""Charts of a backtest report (matplotlib, Agg canvas: no display needed) and one
self-contained HTML page (images inlined, no external file or script)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from providers.candles import Candles


def _times(ms: Any) -> np.ndarray:
    return np.asarray(ms, dtype=np.int64).astype("datetime64[ms]")


def _when(text: str) -> np.ndarray:
    return np.array([np.datetime64(text.rstrip("Z"), "ms")])


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def equity_png(report: Mapping[str, Any]) -> bytes:
    """Equity (positions marked at every minute) and drawdown from the running peak."""
    curve = report["equity"]
    times = _times(curve["ms"])
    equity = np.asarray(curve["equity"], dtype=float)
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    drawdown = (equity / peak - 1) * 100 if len(equity) else equity
    figure = Figure(figsize=(11, 6))
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(times, equity, color="#1f77b4", linewidth=1.2)
    top.axhline(float(report["summary"]["start_balance"]), color="grey", linewidth=0.6)
    top.set_ylabel("equity (USDT)")
    summary = report["summary"]
    top.set_title(
        f"{report['profile']} on {', '.join(report['symbols'])}: "
        f"net {summary['net_pnl']} USDT ({summary['return_pct']} %), "
        f"{summary['trades']} trades"
    )
    top.grid(alpha=0.3)
    bottom.fill_between(times, drawdown, 0, color="#d62728", alpha=0.4, linewidth=0)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _png(figure)


def price_png(report: Mapping[str, Any], symbol: str, minutes: Candles) -> bytes:
    """A symbol's close with its entries (triangles), exits (crosses) and stops (red lines)."""
    start_ms = int(report["equity"]["ms"][0]) - 60_000 if report["equity"]["ms"] else 0
    end_ms = int(report["equity"]["ms"][-1]) if report["equity"]["ms"] else 0
    keep = (minutes.open_time >= start_ms) & (minutes.open_time < end_ms)
    opens, closes = minutes.open_time[keep], minutes.close[keep]
    step = max(1, len(opens) // 4000)
    figure = Figure(figsize=(12, 5))
    axes = figure.subplots()
    axes.plot(_times(opens[::step] + 60_000), closes[::step], color="#444", linewidth=0.7)
    trades = [t for t in report["trades"] if t["symbol"] == symbol]
    for trade in trades:
        long = trade["side"] == "long"
        entry, exit_ = _when(trade["entry_time"]), _when(trade["exit_time"])
        axes.plot(
            entry,
            [float(trade["entry_price"])],
            marker="^" if long else "v",
            color="#2ca02c" if long else "#d62728",
            markersize=7,
            linestyle="none",
        )
        axes.plot(
            np.concatenate([entry, exit_]),
            [float(trade["stop"])] * 2,
            color="#d62728",
            linewidth=0.8,
        )
        axes.plot(
            exit_,
            [float(trade["exit_price"])],
            marker="x",
            color="#1f77b4",
            markersize=6,
            linestyle="none",
        )
    axes.set_title(
        f"{symbol}: {len(trades)} trades (▲ long / ▼ short entries, × exits, red: stops)"
    )
    axes.set_ylabel("price")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _png(figure)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


TRADE_COLUMNS = [
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "size",
    "fees",
    "pnl_usdt",
    "pnl_r",
    "exit_reason",
]
SYMBOL_COLUMNS = ["symbol", "trades", "wins", "win_rate", "net_pnl", "fees", "profit_factor"]


def html_page(report: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """The report as one HTML file: summary, charts, per-symbol and trades tables, notes."""
    pictures = "".join(
        f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        for name, data in images.items()
    )
    summary = [{"figure": k, "value": v} for k, v in report["summary"].items()]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report["not_modelled"])
    title = f"Backtest {report.get('backtest_id', '')} {report['profile']}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(", ".join(report["symbols"]))}, {html.escape(report["start"])} to
{html.escape(report["end"])}</p>
<h2>Summary</h2>{_table(summary, ["figure", "value"])}
{pictures}
<h2>Per symbol</h2>{_table(list(report["per_symbol"]), SYMBOL_COLUMNS)}
<h2>Trades</h2>{_table(list(report["trades"]), TRADE_COLUMNS)}
<h2>How fills are simulated</h2><p>{html.escape(report["intra_candle_rule"])}</p>
<h2>Not modelled</h2><ul>{notes}</ul>
</body></html>
"""
