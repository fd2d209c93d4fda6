"""Exactly one order per decision when the worker process placing it is killed (SIGKILL) in
the middle of `mtf.place_order`.

A real Celery worker (acks_late, reject_on_worker_lost) places live orders on the fake Bitmart
served over HTTP. The fake holds one request of each trial unanswered (a slow exchange) while
the test kills the pool process waiting on it; Celery then redelivers the message to a new
process. Three places to die, several trials each:

* `leverage`: before the entry is sent (the leverage call hangs);
* `sent`: the exchange accepted the entry but its answer never arrived;
* `lost`: the entry request hung before the exchange acted on it.

Whatever the place, the exchange ends with exactly one order carrying the decision's client
order id, and the ledger records that order as submitted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from infra.db import engine_session, get_engine
from infra.models import OrderRow, PaperOrderRow
from providers.synthetic import SyntheticMarket
from providers.timeframes import Timeframe
from tests.integration.support import prepare_cluster
from tests.integration.workers import Cluster, cluster, wait_for
from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart, Fault
from tests.providers.bitmart.fake.shapes import wire_id
from tests.providers.bitmart.fake.venue import Terms
from tradeentry.ids import client_order_id

pytestmark = [pytest.mark.services, pytest.mark.slow]

LEVERAGE = "/contract/private/submit-leverage"
SUBMIT = "/contract/private/submit-order"
TRIALS_PER_PLACE = 4
HANG_S = 60.0  # longer than the test waits: only the kill ends a held request
MINUTE = 60_000


@dataclass(frozen=True)
class Place:
    name: str
    path: str
    executed: bool  # the exchange acts on the held request before holding its answer
    submits: int  # entry requests the exchange should see in the trial


PLACES = (
    Place("leverage", LEVERAGE, executed=True, submits=1),
    Place("sent", SUBMIT, executed=True, submits=1),
    Place("lost", SUBMIT, executed=False, submits=2),
)
# One symbol per trial (the risk limits refuse a second entry on a symbol), plus a warm-up.
SYMBOLS = SyntheticMarket(7).universe(1 + len(PLACES) * TRIALS_PER_PLACE)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeBitmart, str]]:
    """The fake Bitmart on the wall clock, with two days of synthetic candles per symbol (and
    the next quarter hour, served as each candle closes)."""
    exchange = FakeBitmart(
        f"sqlite:///{tmp_path / 'bitmart.db'}", terms=Terms(initial_balance=Decimal(1_000_000))
    )
    market = SyntheticMarket(7)
    now = exchange.now()
    for symbol in SYMBOLS:
        exchange.list_contract(market.spec(symbol, as_of_ms=now))
        for tf, days in ((Timeframe.M1, 2), (Timeframe.H1, 4)):
            start = tf.floor_ms(now - days * 24 * 60 * MINUTE)
            end = tf.floor_ms(now) + 16 * MINUTE
            exchange.put_candles(market.candles(symbol, tf, start, end))
    exchange.clock.run()
    with exchange.serve() as url:
        yield exchange, url
    exchange.close()


@pytest.fixture
def live(pg_database: str, tmp_path: Path, fake: tuple[FakeBitmart, str]) -> Iterator[Cluster]:
    env = prepare_cluster(pg_database, tmp_path)
    env.update(
        {
            "MTF_EXCHANGE": "bitmart",
            "MTF_BITMART_BASE_URL": fake[1],
            "MTF_LIVE_TRADING": "true",
            "BITMART_API_KEY": TEST_CREDENTIALS.api_key,
            "BITMART_SECRET_KEY": TEST_CREDENTIALS.secret,
            "BITMART_API_MEMO": TEST_CREDENTIALS.memo,
        }
    )
    with cluster(pg_database, tmp_path, extra_env=env) as c:
        yield c


def pool_children(worker_pid: int) -> list[int]:
    """The worker's pool processes (children of its main process)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == worker_pid:
                children.append(int(entry.name))
    return children


def decision(symbol: str) -> dict[str, object]:
    candle = (int(time.time() * 1000) // MINUTE - 1) * MINUTE
    return {
        "decision_key": f"{symbol}:1m:{candle}",
        "run_id": f"kill-{uuid.uuid4().hex[:8]}",
        "profile": "always_long",
        "symbol": symbol,
        "side": "long",
        "timeframe": "1m",
        "candle_open_ms": candle,
        "exchange": "bitmart",
        "dry_run": False,
        "as_of_ms": candle + MINUTE,
        # a trial may outlast the default staleness of a 1m decision (30 s after its minute);
        # what it tests is redelivery, so its decision stays fresh for the whole trial
        "deadline_ms": int(time.time() * 1000) + 10 * MINUTE,
    }


def ledger_row(url: str, key: str) -> OrderRow | None:
    with engine_session(get_engine(url)) as s:
        return s.scalar(select(OrderRow).where(OrderRow.decision_key == key))


def settled(url: str, key: str) -> Callable[[], OrderRow | None]:
    """A probe for `wait_for`: the ledger row once it has left `claimed`."""

    def probe() -> OrderRow | None:
        row = ledger_row(url, key)
        return row if row is not None and row.status != "claimed" else None

    return probe


def held(exchange: FakeBitmart, path: str) -> int:
    """Requests to `path` the fake has held unanswered so far."""
    return sum(1 for seen in exchange.requests(path) if seen.fault)


def orders_at_exchange(exchange: FakeBitmart, cid: str) -> list[PaperOrderRow]:
    with engine_session(exchange.engine) as s:
        return list(s.scalars(select(PaperOrderRow).where(PaperOrderRow.client_order_id == cid)))


def kill_mid_placement(
    live: Cluster, exchange: FakeBitmart, worker_pid: int, place: Place, symbol: str
) -> None:
    """Place one decision, kill the pool process while the exchange holds `place`'s request,
    then check the redelivered task's outcome."""
    d = decision(symbol)
    key = str(d["decision_key"])
    cid = client_order_id(key)
    submits_before = len(exchange.requests(SUBMIT))
    held_before = held(exchange, place.path)
    exchange.faults.add(
        Fault.timeout(HANG_S, executed=place.executed), path=place.path, method="POST"
    )
    (child,) = pool_children(worker_pid)
    live.call("mtf.place_order", json.dumps({"decision": d}))
    wait_for(
        lambda: held(exchange, place.path) > held_before, 60, what=f"{place.name}: held request"
    )
    os.kill(child, signal.SIGKILL)
    final = wait_for(
        settled(live.database_url, key), 90, what=f"{place.name}: redelivered {key} settled"
    )
    at_exchange = orders_at_exchange(exchange, cid)
    submits = len(exchange.requests(SUBMIT)) - submits_before
    # submitted, or already seen filled by the watcher (the entry is a market order)
    assert final.status in ("submitted", "filled"), (place.name, final.detail)
    assert len(at_exchange) == 1, (place.name, key, len(at_exchange))
    assert final.exchange_order_id == str(wire_id(at_exchange[0].order_id))
    assert submits == place.submits, (place.name, submits)
    assert pool_children(worker_pid) != [child], "the killed process was replaced"


def test_a_killed_worker_never_places_an_order_twice(
    live: Cluster, fake: tuple[FakeBitmart, str]
) -> None:
    exchange, _ = fake
    worker = live.worker(queues="orders", concurrency=1, extra=("--prefetch-multiplier", "1"))
    # One undisturbed order first: it syncs the contracts (none are stored yet) and candles.
    warm = decision(SYMBOLS[0])
    live.call("mtf.place_order", json.dumps({"decision": warm}))
    row = wait_for(
        settled(live.database_url, str(warm["decision_key"])), 90, what="the first order placed"
    )
    assert row.status in ("submitted", "filled"), row.detail

    symbols = iter(SYMBOLS[1:])
    for place in PLACES:
        for _ in range(TRIALS_PER_PLACE):
            kill_mid_placement(live, exchange, worker.pid, place, next(symbols))

    # across every trial: one entry order per decision, nothing else
    with engine_session(exchange.engine) as s:
        entries = s.scalar(
            select(func.count())
            .select_from(PaperOrderRow)
            .where(PaperOrderRow.kind == "normal", PaperOrderRow.reduce_only.is_(False))
        )
    assert entries == len(SYMBOLS)
    assert "WorkerLostError" in live.log("worker")
