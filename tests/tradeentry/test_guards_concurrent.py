"""Two sweeps of one position recording their verdicts at once (PostgreSQL): the later one
waits for the earlier and records its own verdict instead of failing on the row the other
just wrote."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import text

from infra.db import get_engine
from tradeentry.guard import PROTECTED, UNKNOWN, Guard, PositionGuards


def verdict(status: str, now: int) -> Guard:
    return Guard("bitmart", "BTCUSDT", "long", status, Decimal(5), Decimal(1), None, now)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_sweeps_of_one_position_both_record_their_verdict(db_url: str) -> None:
    engine = get_engine(db_url)
    guards = PositionGuards(engine)
    guards.record("bitmart", [verdict(UNKNOWN, 1)], symbol="BTCUSDT", now_ms=1)
    errors: list[BaseException] = []

    def second() -> None:
        try:
            guards.record("bitmart", [verdict(PROTECTED, 3)], symbol="BTCUSDT", now_ms=3)
        except BaseException as exc:
            errors.append(exc)

    # The first sweep's transaction replaces the row and has not committed yet.
    with engine.connect() as first:
        first.execute(text("DELETE FROM position_guards WHERE symbol = 'BTCUSDT'"))
        first.execute(
            text(
                "INSERT INTO position_guards (exchange, symbol, side, status, checked_ms) "
                "VALUES ('bitmart', 'BTCUSDT', 'long', 'unprotected', 2)"
            )
        )
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second waits on the first's rows
        first.commit()
    thread.join(10)
    assert not thread.is_alive()
    assert errors == []
    [row] = guards.all("bitmart")
    assert (row.status, row.checked_ms) == (PROTECTED, 3)


def test_a_closed_position_loses_its_verdict_and_other_symbols_keep_theirs(db_url: str) -> None:
    guards = PositionGuards(get_engine(db_url))
    other = Guard("bitmart", "ETHUSDT", "short", PROTECTED, Decimal(1), Decimal(9), None, 1)
    guards.record("bitmart", [verdict(UNKNOWN, 1), other], symbol=None, now_ms=1)
    guards.record("bitmart", [], symbol="BTCUSDT", now_ms=2)
    assert [(g.symbol, g.status) for g in guards.all("bitmart")] == [("ETHUSDT", PROTECTED)]
    guards.record("bitmart", [verdict(PROTECTED, 3)], symbol=None, now_ms=3)
    assert [(g.symbol, g.status) for g in guards.all("bitmart")] == [("BTCUSDT", PROTECTED)]
