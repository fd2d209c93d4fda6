"""The tradable universe: which contracts a cycle considers, from their specs alone.

Filters (all configurable, `UniverseFilter`):

* quote currency (USDT) and status `Trading`;
* 24 h turnover at least `min_turnover` (USDT), and at most the `top_n` by turnover;
* listed at least `min_age_hours` ago (a fresh listing's candles are too short and erratic);
* not expiring within `expiry_margin_hours` (perpetuals have none).

Symbols without a known turnover pass the turnover floor only when it is zero: a store of
imported or synthetic contracts has no market statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from providers.types import ContractSpec

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class UniverseFilter:
    quote: str = "USDT"
    min_turnover: Decimal = Decimal(0)
    top_n: int = 0  # 0: no cap
    min_age_hours: float = 0.0
    expiry_margin_hours: float = 24.0


@dataclass(frozen=True)
class Exclusion:
    symbol: str
    reason: str


def select_universe(
    specs: list[ContractSpec], rules: UniverseFilter, now_ms: int
) -> tuple[list[str], list[Exclusion]]:
    """(selected symbols, most liquid first; every excluded symbol with its reason)."""
    kept: list[ContractSpec] = []
    excluded: list[Exclusion] = []
    for spec in specs:
        reason = _rejection(spec, rules, now_ms)
        if reason:
            excluded.append(Exclusion(spec.symbol, reason))
        else:
            kept.append(spec)
    kept.sort(key=lambda s: (-(s.turnover_24h or Decimal(0)), s.symbol))
    if rules.top_n and len(kept) > rules.top_n:
        excluded.extend(
            Exclusion(s.symbol, f"outside the top {rules.top_n} by 24h turnover")
            for s in kept[rules.top_n :]
        )
        kept = kept[: rules.top_n]
    return [s.symbol for s in kept], excluded


def _rejection(spec: ContractSpec, rules: UniverseFilter, now_ms: int) -> str | None:
    if spec.quote_currency != rules.quote:
        return f"quote {spec.quote_currency}, not {rules.quote}"
    if not spec.is_trading:
        return f"status {spec.status}"
    if rules.min_turnover > 0:
        turnover = spec.turnover_24h
        if turnover is None:
            return "no 24h turnover known"
        if turnover < rules.min_turnover:
            return f"24h turnover {turnover:.0f} below {rules.min_turnover:.0f}"
    if rules.min_age_hours > 0:
        if spec.open_timestamp_ms is None:
            return "listing time unknown"
        age_hours = (now_ms - spec.open_timestamp_ms) / HOUR_MS
        if age_hours < rules.min_age_hours:
            return f"listed {age_hours:.0f} h ago, under {rules.min_age_hours:.0f} h"
    if spec.expire_timestamp_ms:
        left = (spec.expire_timestamp_ms - now_ms) / HOUR_MS
        if left < rules.expiry_margin_hours:
            return f"expires in {max(left, 0):.0f} h"
    return None
