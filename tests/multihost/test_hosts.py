"""Many machines, one engine: workers on other "hosts" (network namespaces joined by veth links,
clocks skewed with libfaketime) behave like local ones, or refuse to start.

Hosts: `a` runs 59 s ahead, `b` 25 s behind, `c` 150 s ahead (each past the 10 s default bound:
the workers are started with `MTF_MAX_CLOCK_SKEW_SECONDS=300` to show that decisions follow the
database's clock; the refusal at the default bound is shown too). Redis and PostgreSQL listen on
the address of host `a`'s link on this machine.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import redis
import yaml
from sqlalchemy import func, select

from infra.db import dispose_engines, engine_session, ensure_schema, get_engine
from infra.models import KlineRow, OrderRow, RunRow
from mtf.lock import LeaseLock, run_lock_name
from mtf.rules.profile import load_profile_file
from providers.candles import Candles
from providers.contracts import ContractStore
from providers.timeframes import Timeframe
from tests.conftest import need_service
from tests.helpers import permissive_trade_entry
from tests.integration.support import BTC_SPEC
from tests.integration.workers import wait_for
from tests.multihost.lab import HostProcesses, Lab, call, lab, unavailable, wait_until_second
from tests.providers.bitmart.fake import FakeBitmart

pytestmark = [pytest.mark.services, pytest.mark.slow]

SKEWS = {"a": 59.0, "b": -25.0, "c": 150.0}
ALWAYS_LONG = {
    "name": "always_long",
    "context_timeframes": ["5m"],
    "execution_timeframes": ["1m"],
    "history_bars": 60,
    "timeframes": {
        "5m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
        "1m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
    },
}
KLINE = "/contract/public/kline"


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = unavailable()
    if reason:
        need_service("network namespaces", reason)
    with lab(tmp_path_factory.mktemp("multihost"), SKEWS) as built:
        yield built
    dispose_engines()


@pytest.fixture
def database(hosts: Lab) -> str:
    """A new database of the cluster (and its Redis emptied): one per test."""
    redis.Redis.from_url(hosts.redis_base).flushall()
    url = hosts.postgres.create_database(f"mh_{uuid.uuid4().hex[:10]}")
    ensure_schema(url)
    return url


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """Profiles and the permissive trade-entry profile, as every host is given them."""
    profiles, entries = tmp_path / "profiles", tmp_path / "trade_entry"
    profiles.mkdir()
    entries.mkdir()
    (profiles / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    (entries / "always_long.yaml").write_text(yaml.safe_dump(permissive_trade_entry("always_long")))
    return {"profiles": profiles, "entries": entries}


Start = Callable[..., HostProcesses]


@pytest.fixture
def on_host(hosts: Lab, database: str, folders: dict[str, Path], tmp_path: Path) -> Iterator[Start]:
    """Processes on a host of the lab, configured as the cluster's (stopped after the test)."""
    started: list[HostProcesses] = []

    def start(name: str, **env: str) -> HostProcesses:
        base = {
            "MTF_PROFILES_DIR": str(folders["profiles"]),
            "MTF_TRADE_ENTRY_DIR": str(folders["entries"]),
            "MTF_SYNTHETIC_SYMBOLS": "6",
            "MTF_MAX_CLOCK_SKEW_SECONDS": "300",
        }
        logs = tmp_path / f"logs-{name}-{len(started)}"
        logs.mkdir()
        procs = HostProcesses(
            database_url=database,
            redis_base=hosts.redis_base,
            logs=logs,
            extra_env={**base, **env},
            host=hosts.network.hosts[name],
        )
        started.append(procs)
        return procs

    yield start
    for procs in started:
        procs.stop()


def run_row(url: str, run_id: str) -> RunRow | None:
    with engine_session(get_engine(url)) as s:
        row = s.get(RunRow, run_id)
        return row if row is not None and row.status != "running" else None


def newest_open(url: str, timeframe: Timeframe) -> int | None:
    with engine_session(get_engine(url)) as s:
        value = s.scalar(
            select(func.max(KlineRow.open_time_ms)).where(KlineRow.timeframe == timeframe.value)
        )
    return None if value is None else int(value)


def no_private_ledger(hosts: Lab) -> None:
    for host in hosts.network.hosts.values():
        assert not (host.workdir / "mtf.db").exists(), f"host {host.name} wrote a ledger of its own"


def test_one_ledger_and_one_clock_across_hosts(hosts: Lab, database: str, on_host: Start) -> None:
    """The cycle starts on host a (59 s ahead), validates on host b (25 s behind), and its
    orders are placed by host a: the run, its results and its orders are in the one database,
    decided on the minute that has closed, on candles that have closed."""
    a, b = on_host("a"), on_host("b")
    a.worker(queues="only-a,orders,tpsl", name="a")
    b.worker(queues="mtf", name="b")
    # A host 59 s ahead that trusted its own clock would decide the next minute from here on.
    wait_until_second(3, 40)
    sent_ms = int(time.time() * 1000)
    run_id = call(hosts.redis_base, "mtf.run_cycle", '{"profile": "always_long"}', "only-a")
    row = wait_for(lambda: run_row(database, run_id), 120, what="the run recorded")
    done_ms = int(time.time() * 1000)
    assert row.status == "completed", row.detail
    assert row.as_of is not None
    as_of_ms = int(row.as_of.timestamp() * 1000)
    assert as_of_ms == sent_ms - sent_ms % 60_000, "the minute that has just closed"
    assert (row.response or {})["run"]["ready"] == 6

    def orders() -> list[OrderRow]:
        with engine_session(get_engine(database)) as s:
            rows = list(s.scalars(select(OrderRow).where(OrderRow.run_id == run_id)))
        return rows if len(rows) == 6 and all(r.status != "claimed" for r in rows) else []

    placed = wait_for(orders, 90, what="orders placed by host a")
    assert {r.status for r in placed} == {"simulated"}
    assert all(r.candle_open_ms == as_of_ms - 60_000 for r in placed)
    for tf in (Timeframe.M1, Timeframe.M5):
        newest = newest_open(database, tf)
        assert newest is not None and newest + tf.ms <= done_ms, f"a forming {tf} candle stored"
    assert "mtf.place_order" in a.log("a") and "mtf.validate_batch" in b.log("b")
    no_private_ledger(hosts)


def fake_exchange(symbols: int) -> FakeBitmart:
    """Bitmart with `symbols` contracts and 200 closed 1m and 5m candles each, its market clock
    running with real time (the forming candle included in answers)."""
    fake = FakeBitmart(rate_limits=True)
    now = int(time.time() * 1000)
    rng = np.random.default_rng(3)
    for i in range(symbols):
        symbol = f"C{i:02d}USDT"
        fake.list_contract(
            replace(
                BTC_SPEC,
                symbol=symbol,
                base_currency=f"C{i:02d}",
                turnover_24h=Decimal(50_000_000),
                open_timestamp_ms=now - 400 * 86_400_000,
            )
        )
        for tf in (Timeframe.M1, Timeframe.M5):
            last = tf.last_closed_open_ms(now)
            opens = last - tf.ms * np.arange(199, -1, -1)
            close = 60_000 + np.cumsum(rng.normal(0, 20, 200))
            rows = np.column_stack([opens, close, close + 5, close - 5, close, np.full(200, 3.0)])
            fake.put_candles(Candles.from_rows(symbol, tf, rows))
    fake.clock.set(int(time.time() * 1000))
    fake.clock.run(1.0)
    return fake


def sync_done(log: str) -> bool:
    return any("mtf.sync_klines" in line and "succeeded" in line for line in log.splitlines())


def busiest(stamps: list[int], window_ms: int) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window_ms:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_one_rate_budget_across_hosts(hosts: Lab, database: str, on_host: Start) -> None:
    """Host a (1m candles) and host b (5m candles) sync from Bitmart at the same time: together
    they stay within the documented public limit of 12 requests per 2 s (one budget for the
    cluster, not one per host), and host a, 59 s ahead, stores no forming candle."""
    fake = fake_exchange(12)
    with fake.serve(hosts.network.service_address) as url:
        env = {
            "MTF_BITMART_BASE_URL": url,
            "MTF_UNIVERSE_MIN_TURNOVER": "0",
            "MTF_UNIVERSE_MIN_AGE_HOURS": "0",
        }
        a, b = on_host("a", **env), on_host("b", **env)
        a.worker(queues="only-a", name="a", concurrency=1)
        b.worker(queues="only-b", name="b", concurrency=1)
        call(hosts.redis_base, "mtf.sync_contracts", '{"exchange": "bitmart"}', "only-a")
        contracts = ContractStore(get_engine(database))
        wait_for(lambda: len(contracts.by_source().get("bitmart", [])) == 12, 60, what="contracts")
        wait_until_second(2, 30)
        before = len(fake.requests(KLINE))
        for queue, tf in (("only-a", "1m"), ("only-b", "5m")):
            call(
                hosts.redis_base,
                "mtf.sync_klines",
                json.dumps({"timeframes": [tf], "bars": 100}),
                queue,
            )

        def synced() -> bool:
            return all(sync_done(p.log(n)) for p, n in ((a, "a"), (b, "b")))

        try:
            wait_for(synced, 120, what="both hosts synced their candles")
        except TimeoutError:
            pytest.fail(f"a:\n{a.log('a')[-3000:]}\nb:\n{b.log('b')[-3000:]}")
        done_ms = int(time.time() * 1000)
    seen = fake.requests(KLINE)[before:]
    assert len(seen) >= 24, "each host asked for each of its 12 symbols"
    assert busiest([s.wall_ms for s in seen], 2_000) <= 12
    assert fake.rate_limited == 0 and fake.errors == []
    newest = newest_open(database, Timeframe.M1)
    assert newest is not None and newest + 60_000 <= done_ms, "a forming 1m candle stored"
    fake.close()


def test_a_live_lease_is_respected_and_scheduled_cycles_run_on_a_fast_host(
    hosts: Lab, database: str, on_host: Start
) -> None:
    """Host c runs 150 s ahead. A lease another run holds (120 s) is not taken over, and the
    cycles beat sends (from host b, 25 s behind) are not dropped as expired."""
    c = on_host("c")
    c.worker(queues="mtf,orders,tpsl", name="c")
    lease = LeaseLock(get_engine(database), run_lock_name("always_long"), 120)
    assert lease.acquire("run-held-elsewhere")[0]
    run_id = call(hosts.redis_base, "mtf.run_cycle", '{"profile": "always_long"}')
    row = wait_for(lambda: run_row(database, run_id), 90, what="the run recorded")
    assert row.status == "skipped" and "run-held-elsewhere" in (row.detail or "")
    holder = lease.holder()
    assert holder is not None and holder.holder == "run-held-elsewhere"
    assert lease.release("run-held-elsewhere")

    beat = on_host("b", MTF_SCHEDULE_PROFILES="always_long")
    beat.beat()

    def scheduled_run() -> RunRow | None:
        with engine_session(get_engine(database)) as s:
            return s.scalars(
                select(RunRow).where(RunRow.run_id != run_id, RunRow.status == "completed")
            ).first()

    done = wait_for(scheduled_run, 150, what="a cycle sent by beat, run on host c")
    assert done.profile == "always_long"
    assert "expired" not in c.log("c").lower()


def test_a_run_never_mixes_profile_versions(
    hosts: Lab, database: str, on_host: Start, tmp_path: Path
) -> None:
    """The run starts on host a; host b validates, but reads another version of the profile:
    the run fails and says so, nothing is decided."""
    versions = {}
    for name, bars in (("a", 60), ("b", 61)):
        folder = tmp_path / f"profiles-{name}"
        folder.mkdir()
        path = folder / "drifted.yaml"
        path.write_text(yaml.safe_dump({**ALWAYS_LONG, "name": "drifted", "history_bars": bars}))
        versions[name] = load_profile_file(path).digest
    a = on_host("a", MTF_PROFILES_DIR=str(tmp_path / "profiles-a"))
    b = on_host("b", MTF_PROFILES_DIR=str(tmp_path / "profiles-b"))
    a.worker(queues="only-a", name="a")
    b.worker(queues="mtf", name="b")
    run_id = call(hosts.redis_base, "mtf.run_cycle", '{"profile": "drifted"}', "only-a")
    row = wait_for(lambda: run_row(database, run_id), 90, what="the run recorded")
    assert row.status == "failed"
    detail = row.detail or ""
    assert detail.startswith("ProfileVersionMismatch: validation profile 'drifted'")
    assert f"started with version {versions['a']}" in detail
    assert f"reads version {versions['b']}" in detail
    with engine_session(get_engine(database)) as s:
        assert s.scalar(select(func.count()).select_from(OrderRow)) == 0


def test_a_misconfigured_worker_refuses_to_start(hosts: Lab, database: str, on_host: Start) -> None:
    """Host a checks its configuration as a tool would (`mtf cluster check`); on host b,
    workers given only the broker, another cluster's database, this host's Redis, or a clock
    10 minutes ahead all refuse to start, each with one line naming what to fix."""
    a, b = on_host("a"), on_host("b")
    tool = a.run(str(Path(sys.executable).with_name("mtf")), "cluster", "check", "--json")
    assert tool.returncode == 0, tool.stderr
    cluster_id = json.loads(tool.stdout)["cluster_id"]
    broker = f"{hosts.redis_base}/0"

    code, lines = b.refusal({"CELERY_BROKER_URL": broker})
    assert code == 2 and len(lines) == 1
    assert "DATABASE_URL (unset, so sqlite:///mtf.db) is a SQLite file of this host" in lines[0]

    elsewhere = hosts.postgres.create_database(f"other_{uuid.uuid4().hex[:8]}")
    code, lines = b.refusal({"CELERY_BROKER_URL": broker, "DATABASE_URL": elsewhere})
    assert code == 2
    assert [line.split(": ", 2)[2].split("=", 1)[0] for line in lines] == [
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "MTF_REDIS_URL",
    ]
    assert all(f"belongs to cluster {cluster_id[:12]}" in line for line in lines)

    code, lines = b.refusal(
        {
            "CELERY_BROKER_URL": broker,
            "DATABASE_URL": database,
            "MTF_REDIS_URL": "redis://127.0.0.1:6379/2",
        }
    )
    assert code == 2 and len(lines) == 1 and "MTF_REDIS_URL=redis://127.0.0.1:6379/2" in lines[0]

    code, lines = b.refusal({"CELERY_BROKER_URL": broker, "DATABASE_URL": database}, skew_s=600)
    assert code == 2 and len(lines) == 1
    assert "600.000 s ahead of the database's" in lines[0]
    assert "MTF_MAX_CLOCK_SKEW_SECONDS=10" in lines[0]
    no_private_ledger(hosts)
