"""Backtest speed on real candles (Binance USD-M futures, July-August 2023).

1. One backtest end to end: `scalper_micro` over the 7 symbols and their 30 days of 1m candles
   (decisions from the first minute a day of history allows, so 29 days of minutes), through
   `mtf backtest` in a fresh process: loading, decisions, plans, fills, report, saving. Target:
   at most 60 s on a 2-core machine. The in-process phases are timed too.
2. A sweep of 16 parameter sets over the same data on 2 worker processes (a local pool, and with
   --celery two Celery worker processes on the `backtest` queue, on a private Redis), against
   16 times the one backtest divided by 2. Target: at most 1.2 times that.

The grid changes a validation rule too (2 validation variants), so the decisions are computed
twice per symbol, not once.

Run from the repository root: .venv/bin/python benchmarks/bench_backtest.py [--celery]
[--profile] (pyinstrument, when installed, profiles the in-process run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FOLDER = (REPO / ".." / "shared" / "data" / "klines" / "binance-usdm-futures_2023-07").resolve()
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "BNBUSDT")
START, END = "2023-07-19T12:00Z", "2023-08-17T11:00Z"
GRID = [
    "rule.rsi_bullish.threshold=50,52",
    "entry_zone.k_atr=0.25,0.35",
    "risk.risk_pct=0.3,0.5",
    "stop.atr_k=1.5,2",
]
MTF = str(Path(sys.executable).with_name("mtf"))


def mtf(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(
        [MTF, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=3600
    )
    if out.returncode != 0:
        raise SystemExit(f"mtf {' '.join(args[:2])} failed: {out.stderr[-2000:]}")
    return time.perf_counter() - started, out.stdout


def in_process(url: str, profile: bool) -> None:
    os.environ["DATABASE_URL"] = url
    from infra.settings import reset_settings
    from mtf import services

    reset_settings()
    services.reset()
    svc = services.services()
    from mtf.backtest import data, run
    from mtf.backtest.overrides import load_pair
    from mtf.backtest.request import BacktestRequest
    from mtf.backtest.store import BacktestStore
    from mtf.cli.diagnose_cmd import parse_time

    request = BacktestRequest.checked(
        "scalper_micro", list(SYMBOLS), parse_time(START), parse_time(END), now_ms=2**62
    )
    pair = load_pair("scalper_micro")
    profiler = None
    if profile:
        try:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        except ImportError:
            print("  (pyinstrument not installed: no profile)")
    t0 = time.perf_counter()
    loaded = data.load(svc.klines, svc.contracts, request, pair)
    t1 = time.perf_counter()
    signals = [run.signals_of(pair, request, loaded, s) for s in request.symbols]
    t2 = time.perf_counter()
    report = run.trades_of(pair, request, loaded, signals)
    t3 = time.perf_counter()
    BacktestStore(svc.engine).save(report, t3 - t0)
    t4 = time.perf_counter()
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:6000])
    minutes = report["decisions"]["minutes"]
    print(
        f"  in-process: load {t1 - t0:.2f} s, decisions {t2 - t1:.2f} s "
        f"({minutes} symbol-minutes), plans/fills/report {t3 - t2:.2f} s, save {t4 - t3:.2f} s"
    )
    print(
        f"  {report['summary']['trades']} trades from "
        f"{sum(report['signals']['outcomes'].values())} READY signals"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--celery", action="store_true", help="also sweep on Celery workers")
    parser.add_argument("--profile", action="store_true", help="profile the in-process run")
    args = parser.parse_args()
    if not FOLDER.is_dir():
        sys.exit(f"real candles not found at {FOLDER}")
    load = os.getloadavg()[0]
    print(
        f"load average at start: {load:.2f} on {os.cpu_count()} cores (figures measured under it)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MTF_", "CELERY_"))}
        env.update({"DATABASE_URL": url, "PYTHONPATH": str(REPO)})
        files = [str(FOLDER / f"{s}-{tf}.csv") for s in SYMBOLS for tf in ("1m", "5m", "1h")]
        seconds, _ = mtf(env, "klines", "import", *files)
        print(f"imported {len(files)} files in {seconds:.1f} s")

        base = ["--profile", "scalper_micro", "--symbols", ",".join(SYMBOLS), "--from", START]
        base += ["--to", END]
        one, out = mtf(env, "backtest", *base, "--json", "--quiet")
        report = json.loads(out)
        print(
            f"one backtest, {len(SYMBOLS)} symbols x 30 days of 1m, end to end: {one:.1f} s "
            f"(target <= 60 s; its own timer: {report['seconds']:.1f} s)"
        )
        in_process(url, args.profile)

        grid = [x for g in GRID for x in ("--grid", g)]
        local, out = mtf(
            env, "backtest", "sweep", *base, *grid, "--workers", "2", "--json", "--quiet"
        )
        board = json.loads(out)["leaderboard"]
        bound = 16 * one / 2
        print(
            f"sweep of {len(board)} sets, local pool of 2 processes: {local:.1f} s; "
            f"16 x one / 2 = {bound:.1f} s; ratio {local / bound:.2f} (target <= 1.2)"
        )
        if args.celery:
            from tests.integration.workers import cluster

            with cluster(url, Path(tmp)) as live:
                live.worker(queues="backtest", concurrency=2, name="backtest")
                sweep_env = live.env()
                started = time.perf_counter()
                out = subprocess.run(
                    [MTF, "backtest", "sweep", *base, *grid, "--celery", "--json", "--quiet"],
                    env=sweep_env,
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    timeout=3600,
                )
                celery = time.perf_counter() - started
                if out.returncode != 0:
                    sys.exit(f"celery sweep failed: {out.stderr[-2000:]}")
                print(
                    f"sweep of 16 sets, 2 Celery worker processes: {celery:.1f} s; ratio "
                    f"{celery / bound:.2f} (target <= 1.2)"
                )


if __name__ == "__main__":
    main()
