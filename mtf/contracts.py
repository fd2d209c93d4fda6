"""Contract sync: the exchange's contract specifications into the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra import clock
from mtf.tradable import tradable_universe

if TYPE_CHECKING:
    from mtf.services import Services


def sync_contracts(svc: Services, exchange: str) -> dict[str, Any]:
    """Upsert every contract the exchange lists (delisted ones keep their new status)."""
    specs = svc.exchange(exchange).contracts()
    for spec in specs:
        svc.contracts.upsert(spec, source=exchange)
    universe, _ = tradable_universe(svc, clock.now_ms())
    return {
        "exchange": exchange,
        "upserted": len(specs),
        "trading": sum(1 for s in specs if s.is_trading),
        "universe": len(universe),
    }


def ensure_contracts(svc: Services, exchange: str) -> bool:
    """Sync the exchange's contracts when the store has none from it (its candles are fetched
    only for contracts it listed); True when a sync ran. Exchange errors propagate."""
    if exchange == "paper" or svc.contracts.has_source(exchange):
        return False
    sync_contracts(svc, exchange)
    return True
