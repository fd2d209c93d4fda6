"""Time of a full profile evaluation for one symbol, candles already in memory.

For each packaged profile: the candles a live cycle would load (the profile's window at each
decision minute) are sliced from real candles in memory, then `decide` runs on fresh frames
(indicators computed from scratch, every rule traced) at 200 different minutes. Prints the
median and 95th percentile per evaluation. Target: `scalper_micro` under 1 ms.

Run from the repository root: python benchmarks/bench_rules.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtf.decision import decide
from mtf.metrics import metric_source
from mtf.rules.frame import Frame
from mtf.rules.profile import available_profiles, load_profile
from providers.importer import parse_file
from providers.timeframes import Timeframe

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "klines"
FOLDER = DATA / "binance-usdm-futures_2023-07"


def main() -> None:
    if not FOLDER.is_dir():
        sys.exit(f"real candles not found at {FOLDER}")
    candles = {
        tf: parse_file(FOLDER / f"BTCUSDT-{tf.value}.csv").candles
        for tf in (Timeframe.M1, Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.H4)
    }
    first, last = int(candles[Timeframe.M1].open_time[0]), int(candles[Timeframe.M1].open_time[-1])
    start = first + 5 * 86_400_000
    moments = [start + i * ((last - start) // 200) // 60_000 * 60_000 for i in range(200)]
    print(f"{len(moments)} decision minutes over BTCUSDT, July-August 2023")
    print("profile        | candles per decision          | median ms | p95 ms | READY")
    print("-------------- | ----------------------------- | --------- | ------ | -----")
    for name in available_profiles():
        profile = load_profile(name)
        times, ready = [], 0
        sizes: dict[Timeframe, int] = {}
        for as_of in moments:
            window = {
                tf: candles[tf].until(as_of).tail(profile.candles_needed(tf, as_of))
                for tf in profile.timeframes
            }
            sizes = {tf: len(c) for tf, c in window.items()}
            started = time.perf_counter()
            frames = {tf: Frame(c) for tf, c in window.items()}
            metrics = metric_source(frames, as_of, pivot_tf=profile.pivot_timeframe)
            decision = decide(profile, "BTCUSDT", frames, as_of, metrics=metrics)
            times.append((time.perf_counter() - started) * 1000)
            ready += decision.status.value == "READY"
        times.sort()
        shape = ", ".join(f"{tf} {n}" for tf, n in sizes.items())
        print(
            f"{name:14} | {shape:29} | {statistics.median(times):9.3f} | "
            f"{times[int(0.95 * len(times))]:6.3f} | {ready}"
        )


if __name__ == "__main__":
    main()
