"""The documented rate limits (reference §5): requests per window, per IP, API key or account.

Endpoints listed together in one row of the documentation share one group here, so the
client never exceeds a row's limit whether Bitmart counts per row or per endpoint. Account
(UID) limits are counted per API key: the client does not know the account, and one key per
account is how the engine runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Target(StrEnum):
    """Who a limit counts: the source address, one API key, or the account (all its keys)."""

    IP = "ip"
    KEY = "key"
    UID = "uid"


@dataclass(frozen=True)
class Limit:
    max_requests: int
    window_s: float
    target: Target

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.window_s <= 0:
            raise ValueError(f"a rate limit needs max_requests >= 1 and window_s > 0, got {self}")


def _per_2s(n: int, target: Target) -> Limit:
    return Limit(n, 2.0, target)


LIMITS: Mapping[str, Limit] = MappingProxyType(
    {
        # details, depth, kline, markprice-kline, funding-rate(-history), leverage-bracket,
        # market-trade
        "public": _per_2s(12, Target.IP),
        "open-interest": _per_2s(2, Target.IP),
        "system": Limit(10, 1.0, Target.IP),
        "submit-order": _per_2s(24, Target.KEY),
        "cancel-order": _per_2s(40, Target.KEY),
        "cancel-orders": _per_2s(2, Target.KEY),
        "submit-plan-order": _per_2s(24, Target.UID),
        "cancel-plan-order": _per_2s(40, Target.UID),
        # submit-tp-sl-order and the modify-*/trail endpoints
        "tp-sl": _per_2s(24, Target.UID),
        "cancel-all-after": _per_2s(4, Target.UID),
        # set-position-mode, get-position-mode
        "position-mode": _per_2s(2, Target.KEY),
        # get-open-orders, order, current-plan-order
        "order-query": _per_2s(50, Target.KEY),
        # order-history, trades, transaction-history
        "order-history": _per_2s(6, Target.KEY),
        "assets-detail": _per_2s(12, Target.KEY),
        # position, position-v2
        "position": _per_2s(6, Target.KEY),
        "position-risk": _per_2s(24, Target.KEY),
        "submit-leverage": _per_2s(24, Target.KEY),
        "trade-fee-rate": _per_2s(2, Target.KEY),
        "transfer": _per_2s(1, Target.KEY),
    }
)
