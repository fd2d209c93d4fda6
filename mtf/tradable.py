"""The tradable universe: every stored contract passing the selection filters
(`providers.universe`), and why the others are left out."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from infra.settings import Settings
from providers.universe import UniverseFilter, select_universe

if TYPE_CHECKING:
    from mtf.services import Services


def universe_filter(settings: Settings) -> UniverseFilter:
    return UniverseFilter(
        quote=settings.universe_quote,
        min_turnover=Decimal(str(settings.universe_min_turnover)),
        top_n=settings.universe_top_n,
        min_age_hours=settings.universe_min_age_hours,
        expiry_margin_hours=settings.universe_expiry_margin_hours,
    )


def tradable_universe(svc: Services, now_ms: int) -> tuple[list[str], dict[str, str]]:
    """Tradable symbols and why the others are left out. Market-statistics filters (turnover,
    listing age, top-N) apply to contracts synced from an exchange, which carry them; synthetic
    and imported contracts are only checked for quote currency and status."""
    rules = universe_filter(svc.settings)
    sources = {s: src for src, symbols in svc.contracts.by_source().items() for s in symbols}
    specs = svc.contracts.all()
    synced = [s for s in specs if sources.get(s.symbol) not in ("synthetic", "import")]
    local = [s for s in specs if sources.get(s.symbol) in ("synthetic", "import")]
    chosen, excluded = select_universe(synced, rules, now_ms)
    basic = UniverseFilter(quote=rules.quote, expiry_margin_hours=rules.expiry_margin_hours)
    local_chosen, local_excluded = select_universe(local, basic, now_ms)
    reasons = {e.symbol: e.reason for e in [*excluded, *local_excluded]}
    return [*chosen, *sorted(local_chosen)], reasons


def not_contracts(svc: Services, symbols: Iterable[str]) -> dict[str, str]:
    """Symbols the contract store does not hold, each with why and the closest names (nothing
    when the store is empty: it cannot tell)."""
    known = sorted(s for names in svc.contracts.by_source().values() for s in names)
    if not known:
        return {}
    out = {}
    for symbol in symbols:
        if symbol in known:
            continue
        # Compared without the quote currency, which every name shares.
        quote = svc.settings.universe_quote
        bases = {k.removesuffix(quote): k for k in known}
        near = difflib.get_close_matches(symbol.removesuffix(quote), list(bases), n=3, cutoff=0.6)
        close = [bases[b] for b in near]
        shown = ", ".join(known[:8]) + (f" +{len(known) - 8} more" if len(known) > 8 else "")
        hint = f"close: {', '.join(close)}" if close else f"known contracts: {shown}"
        out[symbol] = f"not a contract ({hint})"
    return out
