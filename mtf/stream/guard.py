"""Account safety run by the stream leader: the dead-man switch heartbeat and the
position-mode check.

Dead-man switch: while live trading is on, every symbol with a live entry resting at Bitmart
whose trade-entry profile sets `dead_man_switch_seconds` gets `cancel-all-after` re-armed every
`dead_man_refresh_seconds`. The refresh comes from the stream leader, alive only while the
engine is: if it dies (and no standby takes over), the exchange cancels those entries when the
timer runs out. A symbol whose entries are done is disarmed (timeout 0), so the timer never
outlives the entries and never reaches for what protects an open position.

Position mode: the account's mode (one-way or hedge) is read at start and compared with
`MTF_POSITION_MODE`; on a mismatch the engine refuses new entries (one-line error naming the
setting). The side codes the engine sends mean what it intends only in the configured mode.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.settings import Settings
from providers.port import Exchange, ExchangeError
from tradeentry.config import TradeEntryConfigError, load_trade_entry
from tradeentry.ledger import OrderLedger

log = logging.getLogger("mtf.stream")

EXCHANGE = "bitmart"
MODE_TTL_S = 600.0
_checked: weakref.WeakKeyDictionary[Any, tuple[float, str, str | None]] = (
    weakref.WeakKeyDictionary()
)


def position_mode_error(exchange: Exchange, expected: str) -> str | None:
    """None when the account's position mode is `expected` (or the exchange has no modes);
    else the one-line refusal naming the setting."""
    read = getattr(exchange, "position_mode", None)
    if read is None:
        return None
    actual = read().position_mode
    if actual == expected:
        return None
    return (
        f"the Bitmart account is in {actual} but MTF_POSITION_MODE={expected}: no new entries; "
        f"set MTF_POSITION_MODE={actual} or switch the account to {expected}"
    )


def check_position_mode(exchange: Exchange, expected: str) -> str | None:
    """`position_mode_error`, read once per process (again after `MODE_TTL_S`). A failed read
    raises (`ExchangeError`): the caller retries or refuses, nothing is traded on a guess."""
    cached = _checked.get(exchange)
    if cached is not None and cached[1] == expected and time.monotonic() - cached[0] < MODE_TTL_S:
        return cached[2]
    error = position_mode_error(exchange, expected)
    if error:
        log.error("%s", error)
    _checked[exchange] = (time.monotonic(), expected, error)
    return error


@dataclass
class DeadManSwitch:
    ledger: OrderLedger
    settings: Settings
    exchange: Callable[[], Exchange]
    armed: dict[str, int] = field(default_factory=dict)
    beats: int = 0

    def seconds_for(self, profile: str) -> int:
        try:
            return load_trade_entry(profile).dead_man_switch_seconds
        except TradeEntryConfigError:
            return 0

    def beat(self) -> dict[str, Any]:
        """One refresh: arm what rests, disarm what no longer does."""
        want: dict[str, int] = {}
        if self.settings.live_trading:
            for row in self.ledger.followed(EXCHANGE):
                if row.dry_run:
                    continue
                seconds = self.seconds_for(row.profile)
                if seconds > 0:
                    want[row.symbol] = max(want.get(row.symbol, 0), seconds)
        venue = self.exchange() if (want or self.armed) else None
        arm = getattr(venue, "cancel_all_after", None)
        if arm is None:
            return {"armed": {}, "disarmed": []}
        for symbol, seconds in sorted(want.items()):
            # Recorded before the call: a failed arm may have armed it all the same (a lost
            # answer), and whatever may be armed is disarmed once its entries are done.
            self.armed[symbol] = seconds
            try:
                arm(symbol, seconds)
            except ExchangeError as exc:
                log.error("dead-man switch of %s not refreshed: %s", symbol, exc)
        disarmed = []
        for symbol in sorted(set(self.armed) - set(want)):
            try:
                arm(symbol, 0)
                del self.armed[symbol]
                disarmed.append(symbol)
            except ExchangeError as exc:
                log.warning("dead-man switch of %s not disarmed: %s", symbol, exc)
        self.beats += 1
        return {"armed": dict(self.armed), "disarmed": disarmed}
