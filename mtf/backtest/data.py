"""Reading a backtest's candles and contracts from the stores (the shell), refusing with one
line what cannot run: unknown symbols, a range without candles, too little history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from mtf.backtest.market import SymbolMarket
from mtf.backtest.overrides import ProfilePair
from mtf.backtest.request import BacktestInputError, BacktestRequest
from mtf.history import profile_needs
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.klines import KlineStore
from providers.timeframes import Timeframe, iso
from providers.types import ContractSpec

MINUTE = Timeframe.M1.ms


@dataclass(frozen=True)
class Loaded:
    """Per symbol: its contract and its candles per timeframe (history included)."""

    specs: Mapping[str, ContractSpec]
    candles: Mapping[str, Mapping[Timeframe, Candles]]


def needs(pair: ProfilePair) -> dict[Timeframe, int]:
    """Candles per timeframe a decision or a plan ever reads, 1m included (fills)."""
    out = profile_needs(pair.profile, pair.config)
    out[Timeframe.M1] = max(out.get(Timeframe.M1, 0), 1)
    return out


def load(
    klines: KlineStore, contracts: ContractStore, request: BacktestRequest, pair: ProfilePair
) -> Loaded:
    """Everything a backtest reads from the stores; `BacktestInputError` when it cannot run."""
    specs = {s: contracts.find(s) for s in request.symbols}
    unknown = [s for s, spec in specs.items() if spec is None]
    if unknown:
        stored = klines.symbols()
        shown = ", ".join(stored[:15]) + (", ..." if len(stored) > 15 else "") or "none"
        raise BacktestInputError(
            f"unknown symbol(s) {', '.join(unknown)}; symbols with stored candles: {shown} "
            "(`mtf klines import` adds some)"
        )
    wanted = needs(pair)
    # Decisions must have their history; a plan short of candles (yesterday's pivots before
    # the data's second day) reads what there is, as a live plan would.
    decided = {tf: pair.profile.minimum_candles(tf) for tf in pair.profile.timeframes}
    decided[Timeframe.M1] = max(decided.get(Timeframe.M1, 0), 1)
    start, end = request.start_ms, request.end_ms
    candles: dict[str, dict[Timeframe, Candles]] = {}
    earliest, limiting = start, ("", Timeframe.M1)
    problems: list[str] = []
    for symbol in request.symbols:
        blocks: dict[Timeframe, Candles] = {}
        for tf, need in sorted(wanted.items(), key=lambda kv: kv[0].ms):
            block = klines.load_range(symbol, tf, start - (need + 1) * tf.ms, end)
            blocks[tf] = block
            have = int((block.open_time <= start - tf.ms).sum())
            need = decided.get(tf, 0)
            if have < need:
                oldest = klines.oldest_open_ms(symbol, tf)
                if oldest is None:
                    raise BacktestInputError(
                        f"no {tf} candles of {symbol} are stored; the profile reads {tf} "
                        "(`mtf klines import`)"
                    )
                possible = -(-(oldest + need * tf.ms) // MINUTE) * MINUTE
                if possible > earliest:
                    earliest, limiting = possible, (symbol, tf)
                problems.append(
                    f"{symbol} {tf}: a decision at {iso(start)} reads {need} closed candles, "
                    f"{have} are stored before it"
                )
        _check_minutes(symbol, blocks[Timeframe.M1], start, end, klines)
        candles[symbol] = blocks
    if problems:
        raise BacktestInputError(
            f"not enough history: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + _earliest_start(klines, earliest, *limiting)
        )
    return Loaded({s: spec for s, spec in specs.items() if spec is not None}, candles)


def _earliest_start(klines: KlineStore, earliest: int, symbol: str, tf: Timeframe) -> str:
    """Where a backtest could start, set by `symbol`'s `tf` history; or that it cannot, when
    that history ends before it holds what the profile reads."""
    newest = klines.newest_open_ms(symbol, Timeframe.M1)
    if newest is not None and earliest <= newest:
        return (
            f"; the earliest --from these symbols allow is {iso(earliest)} (set by {symbol} {tf})"
        )
    return (
        f"; {symbol} cannot be backtested with this profile at any --from: its {tf} history "
        f"first holds what the profile reads at {iso(earliest)}, after its candles end "
        f"(leave {symbol} out, or import a longer history)"
    )


def _check_minutes(symbol: str, minutes: Candles, start: int, end: int, klines: KlineStore) -> None:
    """Fills and quotes come from 1m candles: they must cover the whole range."""
    inside = minutes.open_time[(minutes.open_time >= start - MINUTE) & (minutes.open_time < end)]
    first_needed, last_needed = start - MINUTE, end - MINUTE
    if len(inside) and int(inside[0]) <= first_needed and int(inside[-1]) >= last_needed:
        return
    oldest = klines.oldest_open_ms(symbol, Timeframe.M1)
    newest = klines.newest_open_ms(symbol, Timeframe.M1)
    stored = (
        f"stored 1m candles close from {iso(oldest + MINUTE)} to {iso(newest + MINUTE)}"
        if oldest is not None and newest is not None
        else "no 1m candles are stored"
    )
    raise BacktestInputError(
        f"{symbol}: the range {iso(start)} .. {iso(end)} is not covered by 1m candles "
        f"(fills and quotes come from them); {stored}"
    )


def markets(pair: ProfilePair, loaded: Loaded, spread_bps: Decimal) -> dict[str, SymbolMarket]:
    config = pair.config
    atr_tfs = [config.stop.atr_timeframe or tf for tf in pair.profile.execution]
    return {
        symbol: SymbolMarket.build(
            loaded.specs[symbol],
            loaded.candles[symbol],
            spread_bps,
            atr_timeframes=atr_tfs,
            zone_timeframe=config.entry_zone.timeframe,
        )
        for symbol in sorted(loaded.candles)
    }
