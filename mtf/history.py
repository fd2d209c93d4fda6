"""How many closed candles per timeframe the engine reads: the one definition the kline sync,
the backfill and the retention follow.

A validation profile reads `CompiledProfile.candles_needed` (every field from its anchor, its
midnight or its previous day); a plan of its trade-entry profile reads the settled ATR of the
stop's and the zone's timeframes, the zone's SMA21 and day VWAP, and yesterday's hourly
pivots (`tradeentry.snapshot.read_market_numbers`). The worst case of both over every moment
is what a store must hold for a decision and its plan never to lack a candle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from infra.settings import Settings
from mtf.rules.compiler import ProfileError
from mtf.rules.profile import CompiledProfile, load_profile
from providers.timeframes import Timeframe
from tradeentry import metrics as tm
from tradeentry.config import TradeEntryConfig, TradeEntryConfigError, load_trade_entry
from tradeentry.snapshot import PIVOT_HOURS

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


def plan_needs(config: TradeEntryConfig, execution: Iterable[Timeframe]) -> dict[Timeframe, int]:
    """The most candles a plan reads per timeframe (worst case over moments)."""
    out: dict[Timeframe, int] = {}

    def need(tf: Timeframe, count: int) -> None:
        out[tf] = max(out.get(tf, 0), count)

    atr = tm.atr_settle()
    for tf in execution:
        need(config.stop.atr_timeframe or tf, tm.settled_window(tf.ms, atr))
    zone = config.entry_zone.timeframe
    need(zone, tm.settled_window(zone.ms, atr))
    need(zone, tm.settled_window(zone.ms, tm.SMA21_SETTLE))
    need(zone, DAY_MS // zone.ms)
    need(Timeframe.H1, PIVOT_HOURS + 24)
    return out


def profile_needs(
    profile: CompiledProfile, config: TradeEntryConfig | None
) -> dict[Timeframe, int]:
    """Per timeframe, the most candles a decision of `profile` and a plan of `config` read."""
    out = {tf: profile.minimum_candles(tf) for tf in profile.timeframes}
    if config is not None:
        for tf, count in plan_needs(config, profile.execution).items():
            out[tf] = max(out.get(tf, 0), count)
    return out


def history_needs(names: Iterable[str]) -> dict[Timeframe, int]:
    """The union of `profile_needs` over profiles named like their validation and trade-entry
    files; a profile that cannot be loaded is skipped with a warning (the cycle reports it)."""
    out: dict[Timeframe, int] = {}
    for name in names:
        try:
            profile = load_profile(name)
        except ProfileError as exc:
            log.warning("history of profile %s unknown: %s", name, exc)
            continue
        try:
            config: TradeEntryConfig | None = load_trade_entry(name)
        except TradeEntryConfigError:
            config = None
        for tf, count in profile_needs(profile, config).items():
            out[tf] = max(out.get(tf, 0), count)
    return out


def synced_profiles(settings: Settings) -> list[str]:
    """The profiles whose history the store keeps: the scheduled ones and the default one."""
    return list(dict.fromkeys([*settings.schedule_profiles, settings.profile]))
