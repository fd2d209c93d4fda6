"""Rate limits (reference §5): sliding windows per endpoint, keyed by IP, API key or account.

Each path has its own window: the documented table gives one limit per endpoint, so two
endpoints of the same row do not share a budget. A rejected request is not counted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum


class Target(Enum):
    IP = "ip"
    KEY = "key"
    UID = "uid"


@dataclass(frozen=True)
class Rule:
    limit: int
    window_ms: int
    target: Target

    @property
    def window_s(self) -> int:
        return self.window_ms // 1000


def _rule(limit: int, target: Target, window_ms: int = 2000) -> Rule:
    return Rule(limit, window_ms, target)


PUBLIC = _rule(12, Target.IP)
#: Paths outside the table (unknown ones included) are held to the public budget.
DEFAULT = PUBLIC

_PUBLIC = "/contract/public/"
_PRIVATE = "/contract/private/"

RULES: dict[str, Rule] = {
    **{
        _PUBLIC + name: PUBLIC
        for name in (
            "details",
            "depth",
            "funding-rate",
            "funding-rate-history",
            "kline",
            "markprice-kline",
            "leverage-bracket",
            "market-trade",
        )
    },
    _PUBLIC + "open-interest": _rule(2, Target.IP),
    _PRIVATE + "submit-order": _rule(24, Target.KEY),
    _PRIVATE + "cancel-order": _rule(40, Target.KEY),
    _PRIVATE + "cancel-orders": _rule(2, Target.KEY),
    _PRIVATE + "submit-plan-order": _rule(24, Target.UID),
    _PRIVATE + "cancel-plan-order": _rule(40, Target.UID),
    **{
        _PRIVATE + name: _rule(24, Target.UID)
        for name in (
            "submit-tp-sl-order",
            "modify-plan-order",
            "modify-preset-plan-order",
            "modify-tp-sl-order",
            "modify-limit-order",
            "submit-trail-order",
            "cancel-trail-order",
        )
    },
    _PRIVATE + "cancel-all-after": _rule(4, Target.UID),
    _PRIVATE + "set-position-mode": _rule(2, Target.KEY),
    _PRIVATE + "get-position-mode": _rule(2, Target.KEY),
    **{
        _PRIVATE + name: _rule(50, Target.KEY)
        for name in ("get-open-orders", "order", "current-plan-order")
    },
    **{
        _PRIVATE + name: _rule(6, Target.KEY)
        for name in ("order-history", "trades", "transaction-history", "position", "position-v2")
    },
    _PRIVATE + "assets-detail": _rule(12, Target.KEY),
    _PRIVATE + "position-risk": _rule(24, Target.KEY),
    _PRIVATE + "submit-leverage": _rule(24, Target.KEY),
    _PRIVATE + "trade-fee-rate": _rule(2, Target.KEY),
    "/account/v1/transfer-contract": _rule(1, Target.KEY),
    "/account/v1/transfer-contract-list": _rule(1, Target.KEY),
    "/system/time": _rule(10, Target.IP, 1000),
    "/system/service": _rule(10, Target.IP, 1000),
}


def rule_for(path: str) -> Rule:
    return RULES.get(path, DEFAULT)


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass and what the rate-limit headers say."""

    allowed: bool
    used: int
    rule: Rule

    def headers(self) -> dict[str, str]:
        # "Remaining" is the number already used, as Bitmart sends it.
        return {
            "X-BM-RateLimit-Remaining": str(self.used),
            "X-BM-RateLimit-Limit": str(self.rule.limit),
            "X-BM-RateLimit-Reset": str(self.rule.window_s),
        }


class Limiter:
    """Sliding windows of accepted request times per (path, target value)."""

    def __init__(self, *, enforce: bool = True) -> None:
        self.enforce = enforce
        self.rejected = 0
        self._windows: dict[tuple[str, str], deque[int]] = {}

    def hit(self, path: str, who: str, now_ms: int) -> Verdict:
        """Count a request at `now_ms` unless its window is full."""
        rule = rule_for(path)
        window = self._windows.setdefault((path, who), deque())
        while window and window[0] <= now_ms - rule.window_ms:
            window.popleft()
        if self.enforce and len(window) >= rule.limit:
            self.rejected += 1
            return Verdict(False, len(window), rule)
        window.append(now_ms)
        return Verdict(True, len(window), rule)

    def reset(self) -> None:
        self._windows.clear()
        self.rejected = 0
