"""The dead-man switch's bookkeeping against an exchange that fails: a symbol it may have armed
is always disarmed once its entries are done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.db import get_engine
from infra.settings import Settings
from mtf.stream.guard import DeadManSwitch
from providers.port import TransientError
from tradeentry.ledger import Decision, OrderLedger

KEY = "BTCUSDT:1m:1690891140000"


@dataclass
class Venue:
    """Records cancel-all-after calls; fails the next `failures` of them."""

    calls: list[tuple[str, int]] = field(default_factory=list)
    failures: int = 0

    def cancel_all_after(self, symbol: str, timeout_s: int) -> Any:
        self.calls.append((symbol, timeout_s))
        if self.failures:
            self.failures -= 1
            raise TransientError("timed out: the answer was lost")
        return None


def resting(ledger: OrderLedger, key: str = KEY) -> None:
    symbol = key.split(":")[0]
    decision = Decision(key, "run", "p", symbol, "long", "1m", 1, "bitmart", False, 1)
    ledger.claim(decision, "mtf" + key.replace(":", "")[-20:])
    ledger.update(key, status="submitted", plan={})


def switch(db_url: str, venue: Venue) -> tuple[DeadManSwitch, OrderLedger]:
    ledger = OrderLedger(get_engine(db_url))
    settings = Settings(database_url=db_url, live_trading=True)
    guard = DeadManSwitch(ledger, settings, lambda: venue)  # type: ignore[arg-type, return-value]
    guard.seconds_for = lambda profile: 300  # type: ignore[method-assign]
    return guard, ledger


def test_an_arm_whose_answer_was_lost_is_disarmed_when_the_entry_ends(db_url: str) -> None:
    venue = Venue(failures=1)
    guard, ledger = switch(db_url, venue)
    resting(ledger)
    guard.beat()  # the exchange may have armed it: its answer never came
    assert venue.calls == [("BTCUSDT", 300)]
    ledger.update(KEY, status="filled")
    guard.beat()
    assert venue.calls[-1] == ("BTCUSDT", 0), "disarmed: the timer must not outlive the entry"
    assert guard.armed == {}


def test_a_new_leader_disarms_what_its_predecessor_left_armed(db_url: str) -> None:
    """The entry filled while leadership changed hands: the old leader's timer still runs and
    would cancel the position's orders; the new leader, which never armed it, disarms it."""
    venue = Venue()
    old, ledger = switch(db_url, venue)
    resting(ledger)
    resting(ledger, "ETHUSDT:1m:1690891140000")
    old.beat()
    assert sorted(venue.calls) == [("BTCUSDT", 300), ("ETHUSDT", 300)]
    ledger.update(KEY, status="filled")  # the old leader dies before its next beat
    venue.calls.clear()
    new, _ = switch(db_url, venue)
    new.beat()
    assert sorted(venue.calls) == [("BTCUSDT", 0), ("ETHUSDT", 300)]
    assert new.armed == {"ETHUSDT": 300}
    venue.calls.clear()
    new.beat()
    assert venue.calls == [("ETHUSDT", 300)], "disarmed once"
