"""Time the synthetic market: the newest 500 1m and 500 5m candles per symbol, ending now.

Run from the repository root: python -m benchmarks.bench_synthetic [--seed 42]
Prints, for 1, 50 and 600 symbols, the first pass (empty caches) and a second pass, then the
best of 5 warm reads of one symbol (target: under 50 ms, what a cycle can afford per symbol).
"""

from __future__ import annotations

import argparse
import time

from providers.synthetic import SyntheticMarket
from providers.synthetic.daily import epoch, epoch_start
from providers.synthetic.intraday import day_bars
from providers.synthetic.universe import profile_for
from providers.timeframes import Timeframe

BARS = 500


def fetch(market: SyntheticMarket, symbols: list[str], now_ms: int) -> int:
    rows = 0
    for symbol in symbols:
        for tf in (Timeframe.M1, Timeframe.M5):
            end = tf.floor_ms(now_ms)
            rows += len(market.candles(symbol, tf, end - BARS * tf.ms, end))
    return rows


def clear_caches() -> None:
    for cached in (day_bars, epoch, epoch_start, profile_for):
        cached.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    market = SyntheticMarket(args.seed)
    now_ms = int(time.time() * 1000)
    print(f"{'symbols':>8} {'pass':>6} {'total ms':>10} {'ms/symbol':>10} {'rows':>8}")
    for n in (1, 50, 600):
        clear_caches()
        symbols = market.universe(n)
        for label in ("first", "second"):
            t0 = time.perf_counter()
            rows = fetch(market, symbols, now_ms)
            elapsed = (time.perf_counter() - t0) * 1000
            print(f"{n:>8} {label:>6} {elapsed:>10.1f} {elapsed / n:>10.2f} {rows:>8}")
    one = ["S0100USDT"]
    fetch(market, one, now_ms)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        fetch(market, one, now_ms)
        best = min(best, time.perf_counter() - t0)
    verdict = "ok" if best < 0.05 else "OVER TARGET"
    print(f"warm, one symbol, 500 1m + 500 5m: best of 5 {best * 1000:.1f} ms")
    print(f"target < 50 ms: {verdict}")


if __name__ == "__main__":
    main()
