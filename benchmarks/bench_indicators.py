"""Time every indicator of `indicators` against the `ta` library (or pandas where `ta` has none).

Run: python benchmarks/bench_indicators.py [--candles 500]

Uses the newest candles of BTCUSDT-1m from `<repo>/../shared/data/klines`, or a seeded
random walk when that folder is absent (the output says which). Each figure is the best of
several `timeit` repeats, per call, in microseconds. The target is a total at least 50x
faster than the reference over the full set.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from ta.momentum import RSIIndicator, StochRSIIndicator
from ta.trend import MACD, ADXIndicator, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands
from ta.volume import VolumeWeightedAveragePrice

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # runnable from a checkout without installing the project
    sys.path.insert(0, str(REPO))

import indicators as ind  # noqa: E402

KLINES = (
    REPO.parent / "shared" / "data" / "klines" / "binance-usdm-futures_2023-07" / "BTCUSDT-1m.csv"
)
DAY = 86_400_000
MINUTE = 60_000
TARGET = 50.0


class Row(NamedTuple):
    name: str
    ours: Callable[[], Any]
    reference: Callable[[], Any]
    library: str


def load(candles: int) -> tuple[pd.DataFrame, str]:
    if KLINES.is_file():
        frame = pd.read_csv(KLINES).tail(candles).reset_index(drop=True)
        return frame, f"{candles} real candles: {KLINES.relative_to(REPO.parent)} (newest)"
    rng = np.random.default_rng(7)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 5e-4, candles)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(rng.normal(0.0, 3e-4, (2, candles))) * close
    frame = pd.DataFrame(
        {
            "open_time_ms": np.arange(candles, dtype=np.int64) * MINUTE,
            "open": open_,
            "high": np.maximum(open_, close) + wick[0],
            "low": np.minimum(open_, close) - wick[1],
            "close": close,
            "volume": rng.gamma(2.0, 50.0, candles),
        }
    )
    return frame, f"{candles} SYNTHETIC random-walk candles ({KLINES} is absent)"


def rows(frame: pd.DataFrame) -> list[Row]:
    t = frame["open_time_ms"].to_numpy()
    h, lo, c, v = (
        np.ascontiguousarray(frame[k], dtype=np.float64) for k in ("high", "low", "close", "volume")
    )
    hs, ls, cs, vs = frame["high"], frame["low"], frame["close"], frame["volume"]
    ema9, ema21 = ind.ema(c, 9), ind.ema(c, 21)
    e9, e21 = pd.Series(ema9), pd.Series(ema21)

    def ta_stoch() -> Any:
        s = StochRSIIndicator(cs, 14, 3, 3)
        return s.stochrsi_k(), s.stochrsi_d()

    def ta_macd() -> Any:
        m = MACD(cs, 26, 12, 9)
        return m.macd(), m.macd_signal(), m.macd_diff()

    def ta_adx() -> Any:
        a = ADXIndicator(hs, ls, cs, 14)
        return a.adx(), a.adx_pos(), a.adx_neg()

    def ta_bollinger() -> Any:
        b = BollingerBands(cs, 20, 2)
        return b.bollinger_hband(), b.bollinger_mavg(), b.bollinger_lband()

    def pd_true_range() -> Any:
        prev = cs.shift(1)
        return pd.concat([hs, prev], axis=1).max(axis=1) - pd.concat([ls, prev], axis=1).min(axis=1)

    def pd_vwap_daily() -> Any:
        day = frame["open_time_ms"] // DAY
        cum_v = vs.groupby(day).cumsum()
        return ((hs + ls + cs) / 3 * vs).groupby(day).cumsum() / cum_v.where(cum_v > 0)

    def pd_volume_ratio() -> Any:
        mean = vs.rolling(20).mean().shift(1)
        return vs / mean.where(mean > 0)

    def pd_pivots() -> Any:
        day = frame["open_time_ms"] // DAY
        d = frame.groupby(day).agg(
            h=("high", "max"), lo=("low", "min"), c=("close", "last"), n=("close", "size")
        )
        d = d[d["n"] == DAY // MINUTE]
        p = (d["h"] + d["lo"] + d["c"]) / 3
        levels = pd.DataFrame(
            {
                "p": p,
                "r1": 2 * p - d["lo"],
                "s1": 2 * p - d["h"],
                "r2": p + d["h"] - d["lo"],
                "s2": p - d["h"] + d["lo"],
                "r3": d["h"] + 2 * (p - d["lo"]),
                "s3": d["lo"] - 2 * (d["h"] - p),
            }
        )
        levels.index = levels.index + 1
        return levels.reindex(day.to_numpy())

    return [
        Row("sma(20)", lambda: ind.sma(c, 20), lambda: SMAIndicator(cs, 20).sma_indicator(), "ta"),
        Row("ema(20)", lambda: ind.ema(c, 20), lambda: EMAIndicator(cs, 20).ema_indicator(), "ta"),
        Row(
            "ema(200)", lambda: ind.ema(c, 200), lambda: EMAIndicator(cs, 200).ema_indicator(), "ta"
        ),
        Row("rsi(14)", lambda: ind.rsi(c), lambda: RSIIndicator(cs, 14).rsi(), "ta"),
        Row("stoch_rsi(14,14,3,3)", lambda: ind.stoch_rsi(c), ta_stoch, "ta"),
        Row("macd(12,26,9)", lambda: ind.macd(c), ta_macd, "ta"),
        Row(
            "atr(14)",
            lambda: ind.atr(h, lo, c),
            lambda: AverageTrueRange(hs, ls, cs, 14).average_true_range(),
            "ta",
        ),
        Row("adx(14) +di -di", lambda: ind.adx(h, lo, c), ta_adx, "ta"),
        Row("bollinger(20,2)", lambda: ind.bollinger(c), ta_bollinger, "ta"),
        Row(
            "vwap_rolling(14)",
            lambda: ind.vwap_rolling(h, lo, c, v),
            lambda: VolumeWeightedAveragePrice(hs, ls, cs, vs, 14).volume_weighted_average_price(),
            "ta",
        ),
        Row("true_range", lambda: ind.true_range(h, lo, c), pd_true_range, "pandas"),
        Row("vwap_daily", lambda: ind.vwap_daily(t, h, lo, c, v), pd_vwap_daily, "pandas"),
        Row("volume_ratio(20)", lambda: ind.volume_ratio(v), pd_volume_ratio, "pandas"),
        Row(
            "daily_floor_pivots",
            lambda: ind.daily_floor_pivots(t, h, lo, c, interval_ms=MINUTE),
            pd_pivots,
            "pandas",
        ),
        Row("slope(5)", lambda: ind.slope(c, 5), lambda: (cs - cs.shift(5)) / 5, "pandas"),
        Row("shift(1)", lambda: ind.shift(c, 1), lambda: cs.shift(1), "pandas"),
        Row(
            "increasing(3)",
            lambda: ind.increasing(c, 3),
            lambda: (cs.diff() > 0).astype(float).rolling(3).sum() == 3,
            "pandas",
        ),
        Row(
            "crossed_above",
            lambda: ind.crossed_above(ema9, ema21),
            lambda: (e9.shift(1) <= e21.shift(1)) & (e9 > e21),
            "pandas",
        ),
    ]


def best_us(fn: Callable[[], Any], repeat: int) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candles", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame, source = load(args.candles)
    print(f"input: {source}")
    print(f"{'indicator':<22}{'ours (µs)':>11}{'ref (µs)':>12}{'ratio':>9}  ref")
    totals = {"ta": [0.0, 0.0], "pandas": [0.0, 0.0]}
    for row in rows(frame):
        ours, ref = best_us(row.ours, args.repeat), best_us(row.reference, args.repeat)
        totals[row.library][0] += ours
        totals[row.library][1] += ref
        print(f"{row.name:<22}{ours:>11.1f}{ref:>12.1f}{ref / ours:>8.0f}x  {row.library}")
    ours_all = sum(t[0] for t in totals.values())
    ref_all = sum(t[1] for t in totals.values())
    print("-" * 60)
    for library, (ours, ref) in totals.items():
        print(f"{'subtotal (' + library + ')':<22}{ours:>11.1f}{ref:>12.1f}{ref / ours:>8.0f}x")
    ratio = ref_all / ours_all
    print(f"{'total':<22}{ours_all:>11.1f}{ref_all:>12.1f}{ratio:>8.0f}x")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"target: at least {TARGET:.0f}x faster over the full set: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
