"""The entry zone: anchor ± clamp(k_atr·ATR, w_min·anchor, w_max·anchor), on the tick grid."""

from __future__ import annotations

from decimal import Decimal

from providers.types import ContractSpec, round_to_step
from tradeentry.config import EntryZoneConfig
from tradeentry.model import EntryZone, Skip, SkipReason


def half_width(atr: Decimal, anchor: Decimal, config: EntryZoneConfig) -> Decimal:
    narrowest = config.w_min_pct / 100 * anchor
    widest = config.w_max_pct / 100 * anchor
    return min(max(config.k_atr * atr, narrowest), widest)


def entry_zone(
    spec: ContractSpec,
    atr: Decimal | None,
    anchor: Decimal | None,
    anchor_kind: str,
    now_ms: int,
    config: EntryZoneConfig,
) -> EntryZone | Skip:
    """The zone, rounded outward so it never excludes a price the formula includes."""
    if atr is None or atr <= 0:
        return Skip(SkipReason.NO_ATR, f"ATR is {atr}; the entry zone has no width")
    if anchor is None or anchor <= 0 or anchor_kind == "none":
        return Skip(SkipReason.NO_ANCHOR, f"no entry-zone anchor ({anchor_kind}: {anchor})")
    half = half_width(atr, anchor, config)
    return EntryZone(
        low=spec.round_price(anchor - half, up=False),
        high=spec.round_price(anchor + half, up=True),
        # A reference price, shown as one: on the tick grid (the bounds use the exact value).
        anchor=round_to_step(anchor + spec.tick_size / 2, spec.tick_size, up=False),
        anchor_kind=anchor_kind,
        expires_ms=now_ms + config.ttl_seconds * 1000,
    )
