"""`mtf klines ...` and `mtf market ...`: candles in the store."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from infra import clock
from mtf.cli.common import TIMEFRAME, TIMEFRAMES, console, fail, services_or_exit
from mtf.cli.progress import progress_bar
from providers.port import ExchangeError
from providers.timeframes import Timeframe, iso


@click.group()
def klines() -> None:
    """Import and inspect stored candles."""


@klines.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--symbol", help="Symbol for files whose name does not say it.")
@click.option(
    "--timeframe",
    "--tf",
    "timeframe",
    type=TIMEFRAME,
    help="Timeframe for files whose name does not say it.",
)
def import_(paths: tuple[Path, ...], symbol: str | None, timeframe: Timeframe | None) -> None:
    """Import candles from CSV files (SYMBOL-TF.csv or Binance kline dumps, .csv or .zip).

    Directories are scanned for *.csv and *.zip. A file with a bad row imports nothing and the
    error names the file, line and problem; other files are still imported.
    """
    from providers.importer import count_files, import_files

    svc = services_or_exit()
    tf = timeframe
    with progress_bar("import", count_files(paths)) as step:
        report = import_files(
            list(paths),
            klines=svc.klines,
            contracts=svc.contracts,
            symbol=symbol,
            timeframe=tf,
            on_file=lambda path: step(description=path.name),
        )
    failed = 0
    for item in report.files:
        if item.ok and item.first_open_ms is not None and item.last_open_ms is not None:
            click.echo(
                f"ok    {item.path}: {item.symbol} {item.timeframe} {item.rows} candles "
                f"{iso(item.first_open_ms)} .. {iso(item.last_open_ms)}"
            )
        else:
            failed += 1
            click.secho(f"error {item.error}", fg="red", err=True)
    click.echo(f"{len(report.files) - failed} file(s) imported, {failed} failed")
    if failed:
        raise SystemExit(1)


@klines.command("fetch")
@click.argument("symbol")
@click.option(
    "--tf", "timeframe", type=TIMEFRAME, default="1m", show_default=True, help="Timeframe."
)
@click.option("--limit", default=200, show_default=True, help="Closed candles wanted.")
def fetch(symbol: str, timeframe: Timeframe, limit: int) -> None:
    """Bring a symbol's newest closed candles into the store (only the missing ones are fetched)
    from its source: the exchange it was synced from, or the synthetic market."""
    svc = services_or_exit()
    symbol = symbol.upper()
    tf = timeframe
    if svc.market.source_for(symbol) is None:
        fail(
            f"{symbol} has no candle source: sync contracts from an exchange "
            "(`mtf contracts sync`) or use a synthetic symbol; stored candles only: "
            f"{svc.klines.count(symbol, tf)}"
        )
    now_ms = clock.now_ms()
    try:
        candles = svc.market.closed_candles(symbol, tf, now_ms, limit)
    except ExchangeError as exc:
        fail(f"cannot fetch {symbol} {tf}: {exc}")
    if not len(candles):
        fail(f"no candles for {symbol} {tf}")
    click.echo(
        f"{symbol} {tf}: {len(candles)} closed candles stored, "
        f"{iso(int(candles.open_time[0]))} .. {iso(int(candles.open_time[-1]))}"
    )


@klines.command("backfill")
@click.option("--symbols", help="Comma-separated symbols (default: the tradable universe).")
@click.option(
    "--profiles",
    help="Profiles whose history to fetch (default: MTF_SCHEDULE_PROFILES and MTF_PROFILE).",
)
@click.option(
    "--timeframes",
    type=TIMEFRAMES,
    help="Comma-separated timeframes (default: those the profiles read).",
)
@click.option(
    "--bars",
    type=int,
    default=None,
    help="Closed candles per timeframe (default: what the profiles read, see `mtf.history`).",
)
def backfill(
    symbols: str | None, profiles: str | None, timeframes: list[Timeframe] | None, bars: int | None
) -> None:
    """Store the newest candles of every symbol and timeframe, filling holes: per timeframe
    exactly what the profiles' decisions and plans read."""
    from mtf.history import history_needs, synced_profiles
    from mtf.tradable import tradable_universe

    svc = services_or_exit()
    now_ms = clock.now_ms()
    chosen = (
        [s.strip().upper() for s in symbols.split(",") if s.strip()]
        if symbols
        else tradable_universe(svc, now_ms)[0]
    )
    names = (
        [p.strip() for p in profiles.split(",") if p.strip()]
        if profiles
        else synced_profiles(svc.settings)
    )
    needs = history_needs(names)
    if timeframes:
        tfs = list(timeframes)
    else:
        tfs = sorted(needs, key=lambda tf: tf.ms)
    if not tfs:
        fail(f"no timeframe to fetch: none of the profiles {', '.join(names)} could be loaded")
    failures: list[str] = []
    with progress_bar("backfill", len(chosen) * len(tfs)) as step:
        for symbol in chosen:
            for tf in tfs:
                count = bars or needs.get(tf) or svc.settings.history_bars
                try:
                    got = svc.market.closed_candles(symbol, tf, now_ms, count)
                    if got.last_open_ms != tf.last_closed_open_ms(now_ms):
                        failures.append(
                            f"{symbol} {tf}: newest candle "
                            f"{iso(got.last_open_ms) if got.last_open_ms else 'none'}"
                        )
                except ExchangeError as exc:
                    failures.append(f"{symbol} {tf}: {exc}")
                step(description=f"{symbol} {tf}")
    click.echo(f"{len(chosen)} symbol(s) x {len(tfs)} timeframe(s), {len(failures)} problem(s)")
    for line in failures[:20]:
        click.secho(f"  {line}", fg="yellow")
    if failures:
        raise SystemExit(1)


@klines.command("status")
def status() -> None:
    """Stored candles per symbol and timeframe."""
    svc = services_or_exit()
    table = Table("symbol", "source", *[tf.value for tf in Timeframe])
    sources = {s: src for src, syms in svc.contracts.by_source().items() for s in syms}
    newest = {tf: svc.klines.newest_by_symbol(tf) for tf in Timeframe}
    for symbol in sorted(set(svc.klines.symbols()) | set(sources)):
        cells = [iso(newest[tf][symbol]) if symbol in newest[tf] else "-" for tf in Timeframe]
        table.add_row(symbol, sources.get(symbol, "-"), *cells)
    console().print(table)
    click.echo(f"{svc.klines.count()} candles stored (newest open time shown)")


@click.group()
def market() -> None:
    """The synthetic market of the embedded mode."""


@market.command("seed")
@click.option(
    "--symbols",
    "count",
    type=int,
    default=None,
    help="Number of synthetic symbols (default MTF_SYNTHETIC_SYMBOLS).",
)
@click.option("--timeframes", type=TIMEFRAMES, default="1m,5m,15m,1h,4h", show_default=True)
@click.option(
    "--bars", type=int, default=None, help="Candles per timeframe (default MTF_HISTORY_BARS)."
)
def seed(count: int | None, timeframes: list[Timeframe], bars: int | None) -> None:
    """Create the synthetic universe (if the store has no contracts) and store its history."""
    svc = services_or_exit()
    settings = svc.settings
    created = svc.synthetic.ensure_universe(count or settings.synthetic_symbols)
    symbols = svc.contracts.by_source().get("synthetic", [])
    if not symbols:
        fail("the contract store holds no synthetic symbols (it already has imported ones)")
    tfs = list(timeframes)
    now_ms = clock.now_ms()
    written = 0
    with progress_bar("seed", len(symbols)) as step:
        for symbol in symbols:
            per_tf = bars or settings.history_bars
            written += svc.synthetic.prefill(svc.klines, [symbol], tfs, per_tf, now_ms)
            step(description=symbol)
    click.echo(
        f"{len(created)} contract(s) created, {len(symbols)} synthetic symbol(s), "
        f"{written} candles stored"
    )


@market.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Restore the synthetic demo market: forget imported symbols (their contracts and candles)
    and bring back the synthetic symbols they replaced. Symbols synced from an exchange stay."""
    svc = services_or_exit()
    imported = svc.contracts.by_source().get("import", [])
    stored = sum(svc.klines.count(s) for s in imported)
    if imported and not yes:
        click.confirm(
            f"delete {len(imported)} imported symbol(s) and their {stored} candles?", abort=True
        )
    for symbol in imported:
        svc.klines.delete_symbol(symbol)
        svc.contracts.delete(symbol)
    market = svc.synthetic.market
    restored = [
        symbol
        for symbol in market.universe(svc.settings.synthetic_symbols)
        if svc.contracts.find(symbol) is None
    ]
    for symbol in restored:
        svc.contracts.upsert(market.spec(symbol), source="synthetic")
    click.echo(
        f"{len(imported)} imported symbol(s) removed ({stored} candles), "
        f"{len(restored)} synthetic symbol(s) restored; `mtf run` decides on the synthetic "
        "market again"
    )
