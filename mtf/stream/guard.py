"""Account safety run by the stream leader: the dead-man switch heartbeat and the
position-mode check.

Dead-man switch: while live trading is on, every symbol with a live entry resting at Bitmart
whose trade-entry profile sets `dead_man_switch_seconds` gets `cancel-all-after` re-armed every
`dead_man_refresh_seconds`. The refresh comes from the stream leader, alive only while the
engine is: if it dies (and no standby takes over), the exchange cancels those entries when the
timer runs out. A symbol whose entries are done is disarmed (timeout 0), so the timer never
outlives the entries and never reaches for what protects an open position. A leader that takes
over also disarms the symbols whose entries ended while a previous leader's timer may still run.

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
from datetime import timedelta
from typing import Any

from infra import clock
from infra.settings import Settings
from providers.port import Exchange, ExchangeError
from tradeentry.config import TradeEntryConfigError, load_trade_entry
from tradeentry.ledger import OrderLedger

log = logging.getLogger("mtf.stream")

EXCHANGE = "bitmart"
MODE_TTL_S = 600.0
#: How far back a new leader looks for ended entries whose symbol may still be armed.
MAX_INHERIT_S = 3600
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
    # Set when leadership starts: another leader may have armed symbols whose entries ended
    # since, and only the ledger can tell which.
    inherit: bool = True

    def take_over(self) -> None:
        """Leadership (re)starts: the next beat also disarms what a previous leader may have
        left armed."""
        self.inherit = True

    def _inherited(self) -> dict[str, int]:
        """Symbols whose live entries ended recently enough for a previous leader's timer to
        be still running (its length plus one refresh): they may still be armed."""
        now = clock.now()
        refresh = self.settings.dead_man_refresh_seconds
        since = now - timedelta(seconds=max(MAX_INHERIT_S, refresh))
        out: dict[str, int] = {}
        seconds_of: dict[str, int] = {}
        for row in self.ledger.ended_since(EXCHANGE, since):
            if row.profile not in seconds_of:
                seconds_of[row.profile] = self.seconds_for(row.profile)
            seconds = seconds_of[row.profile]
            if seconds > 0 and row.updated_at >= now - timedelta(seconds=seconds + refresh):
                out[row.symbol] = 0
        return out

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
        if self.inherit:
            for symbol, seconds in self._inherited().items():
                self.armed.setdefault(symbol, seconds)
            self.inherit = False
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
