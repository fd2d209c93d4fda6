"""Faults injected into a real engine (workers, beats, a private Redis and database), and what
the engine's records say afterwards. Shared by the chaos tests and `benchmarks/bench_faults.py`.

A scenario runs a cycle schedule every few seconds (`@every 5s`, so a fault spans several
scheduled times in seconds rather than minutes) next to a paused one, lets it complete a few
runs, injects its fault, waits for runs to complete again, pauses the schedule and waits until
no run is in flight. The `Report` then holds what every assertion is about:

* every scheduled time of the active period has exactly one run, and an outcome;
* no run is left open (`scheduled`, `queued`, `running`, `buffered`);
* every order decision belongs to a completed run and was recorded before its deadline;
* the schedules (definition, pause and its note) are as the operator left them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from infra.db import dispose_engines, engine_session, get_engine
from infra.models import OrderRow, PaperOrderRow, RunRow, ScheduleRow
from tests.helpers import ALWAYS_LONG
from tests.integration.support import prepare_cluster
from tests.integration.workers import Cluster, cluster, wait_for
from tests.servers import PostgresServer, RedisServer

SCHEDULE = "chaos"
HELD = "held"
EVERY_S = 5
STALE_AFTER_S = 20
CATCHUP_S = 15
OPEN = ("scheduled", "queued", "running", "buffered")
ENTRY_STATUSES = ("simulated", "submitted", "fallback_submitted", "filled", "expired")


@dataclass
class Report:
    fault: str
    expected: list[datetime] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    paper_entries: Counter[str] = field(default_factory=Counter)
    schedules: dict[str, ScheduleRow] = field(default_factory=dict)
    fault_started: datetime | None = None
    held_paused_at: datetime | None = None
    fault_cleared: datetime | None = None
    recovered_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def of(self, schedule: str) -> list[RunRow]:
        return [r for r in self.runs if r.schedule == schedule]

    @property
    def by_time(self) -> dict[datetime, list[RunRow]]:
        out: dict[datetime, list[RunRow]] = {}
        for r in self.of(SCHEDULE):
            assert r.scheduled_for is not None
            out.setdefault(r.scheduled_for, []).append(r)
        return out

    @property
    def unaccounted(self) -> list[datetime]:
        seen = self.by_time
        return [t for t in self.expected if t not in seen]

    @property
    def doubled_runs(self) -> int:
        return sum(1 for rows in self.by_time.values() if len(rows) > 1)

    @property
    def doubled_orders(self) -> int:
        keys = Counter(o.decision_key for o in self.orders)
        return sum(1 for n in keys.values() if n > 1) + sum(
            1 for n in self.paper_entries.values() if n > 1
        )

    @property
    def left_open(self) -> list[RunRow]:
        return [r for r in self.runs if r.status in OPEN]

    @property
    def missed(self) -> list[RunRow]:
        return [r for r in self.of(SCHEDULE) if r.status != "completed"]

    def stale_entries(self) -> list[str]:
        """Order decisions recorded by a run that did not complete, or after their deadline."""
        runs = {r.run_id: r for r in self.runs}
        bad = []
        for o in self.orders:
            if o.status not in ENTRY_STATUSES:
                continue
            run = runs.get(o.run_id or "")
            if run is None or run.status != "completed" or run.due_at is None:
                bad.append(f"{o.decision_key}: run {o.run_id} is {run.status if run else '?'}")
                continue
            deadline = run.due_at + timedelta(seconds=STALE_AFTER_S)
            if o.created_at > deadline:
                bad.append(f"{o.decision_key}: recorded {o.created_at} after {deadline}")
        return bad

    @property
    def recovery_s(self) -> float | None:
        if self.fault_cleared is None or self.recovered_at is None:
            return None
        return max(0.0, (self.recovered_at - self.fault_cleared).total_seconds())

    def summary(self) -> dict[str, Any]:
        statuses = Counter(r.status for r in self.of(SCHEDULE))
        return {
            "fault": self.fault,
            "scheduled_times": len(self.expected),
            "outcomes": dict(statuses),
            "minutes_missed": len(self.missed),
            "unaccounted": len(self.unaccounted),
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 1),
            "runs_doubled": self.doubled_runs,
            "orders_doubled": self.doubled_orders,
            "stale_entries": len(self.stale_entries()),
            "left_running": len(self.left_open),
        }

    def check(self) -> None:
        """The guarantees every fault must leave intact (assertion messages name the breach)."""
        assert not self.unaccounted, f"unaccounted times: {self.unaccounted}"
        assert self.doubled_runs == 0, "a scheduled time ran twice"
        assert not self.left_open, [(r.run_id, r.status, r.schedule) for r in self.left_open]
        assert self.stale_entries() == [], self.stale_entries()
        assert self.doubled_orders == 0, "an order was placed twice"
        held = self.schedules[HELD]
        assert held.paused and held.note == "held by the operator", (held.paused, held.note)
        assert self.held_paused_at is not None
        after = [
            r
            for r in self.of(HELD)
            if r.scheduled_for and r.scheduled_for > self.held_paused_at + timedelta(seconds=1)
        ]
        assert not after, f"a paused schedule ran: {[r.scheduled_for for r in after]}"
        chaos = self.schedules[SCHEDULE]
        assert (chaos.cadence, chaos.profile, chaos.version) == (
            f"@every {EVERY_S}s",
            "always_long",
            2,
        ), chaos.version
        assert self.recovered_at is not None, "no run completed after the fault"


@dataclass
class Engine:
    """One engine under test: its cluster, its private Redis (and database server)."""

    cluster: Cluster
    redis: RedisServer
    postgres: PostgresServer | None
    beats: list[Any] = field(default_factory=list)
    worker: Any = None

    @property
    def url(self) -> str:
        return self.cluster.database_url

    def mtf(self, *args: str) -> Any:
        out = self.cluster.mtf(*args)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out

    def start_worker(self, name: str = "worker") -> Any:
        self.worker = self.cluster.worker(concurrency=2, name=name)
        return self.worker

    def start_beat(self, name: str) -> Any:
        proc = self.cluster.start("beat", "--loglevel", "INFO", name=name)
        self.beats.append(proc)
        return proc

    def leader(self) -> str | None:
        """The live beat that took the lead last, by its log (None if none leads)."""
        best: tuple[datetime, str] | None = None
        for i, proc in enumerate(self.beats):
            if proc.poll() is not None:
                continue
            name = f"beat{i}"
            led, stood = _last_line_time(self.cluster.log(name), " leads (lock", " is standby")
            if (
                led is not None
                and (stood is None or led > stood)
                and (best is None or led > best[0])
            ):
                best = (led, name)
        return best[1] if best else None

    def led_at(self, name: str) -> datetime | None:
        return _last_line_time(self.cluster.log(name), " leads (lock", "\0")[0]

    def runs(self) -> list[RunRow]:
        with engine_session(get_engine(self.url)) as s:
            return list(s.scalars(select(RunRow).order_by(RunRow.started_at)))

    def completed_after(self, moment: datetime) -> RunRow | None:
        done = [
            r
            for r in self.runs()
            if r.schedule == SCHEDULE
            and r.status == "completed"
            and r.scheduled_for is not None
            and r.scheduled_for >= moment
        ]
        return min(done, key=lambda r: r.scheduled_for or moment) if done else None

    def wait_completed(self, count: int, after: datetime, timeout: float = 120) -> None:
        def enough() -> bool:
            return (
                sum(
                    1
                    for r in self.runs()
                    if r.schedule == SCHEDULE
                    and r.status == "completed"
                    and (r.scheduled_for or after) >= after
                )
                >= count
            )

        wait_for(enough, timeout, interval=0.5, what=f"{count} completed runs after {after}")


@contextlib.contextmanager
def engine(
    tmp_path: Path, database_url: str | None, *, private_pg: bool = False
) -> Iterator[Engine]:
    """A private Redis (restartable), a database (a private PostgreSQL cluster when asked),
    the always-long profile, the `chaos` schedule every 5 s and the `held` one (paused by the
    scenario)."""
    with contextlib.ExitStack() as stack:
        redis = RedisServer().start()
        stack.callback(redis.close)
        postgres = None
        if private_pg:
            postgres = PostgresServer().start()
            stack.callback(postgres.close)
            database_url = postgres.create_database("chaos")
        assert database_url is not None
        env = prepare_cluster(database_url, tmp_path)
        profiles = tmp_path / "profiles"
        profiles.mkdir(exist_ok=True)
        (profiles / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
        env.update(
            {
                "MTF_PROFILES_DIR": str(profiles),
                "MTF_SYNTHETIC_SYMBOLS": "4",
                "MTF_VALIDATE_PARALLELISM": "2",
                "MTF_RUN_DEADLINE_GRACE_SECONDS": "5",
                "MTF_VISIBILITY_TIMEOUT_SECONDS": "30",
                "MTF_HEALTH_DIR": str(tmp_path),
            }
        )
        c = stack.enter_context(
            cluster(database_url, tmp_path, redis_base=redis.url, extra_env=env)
        )
        stack.callback(dispose_engines)
        e = Engine(c, redis, postgres)
        e.mtf(
            "schedules",
            "create",
            SCHEDULE,
            "--profile",
            "always_long",
            "--cadence",
            f"@every {EVERY_S}s",
            "--offset",
            "0",
            "--stale-after",
            str(STALE_AFTER_S),
            "--catchup-window",
            str(CATCHUP_S),
            "--note",
            "chaos schedule",
        )
        e.mtf(
            "schedules",
            "create",
            HELD,
            "--profile",
            "scalper_micro",
            "--cadence",
            "@every 5s",
            "--offset",
            "0",
        )
        yield e


Fault = Callable[[Engine, Report], None]


def run_scenario(e: Engine, name: str, fault: Fault, *, beats: int = 1) -> Report:
    """Start a worker and a beat; the operator pauses `held` once it has run, then the other
    beats start; runs complete, `fault` is injected, runs complete again; the schedule is paused
    and everything settles; the report is collected."""
    report = Report(fault=name)
    e.start_worker()
    e.start_beat("beat0")
    wait_for(e.leader, 60, what="a leading beat")
    wait_for(lambda: any(r.schedule == HELD for r in e.runs()), 60, what="the held schedule ran")
    e.mtf("schedules", "pause", HELD, "--note", "held by the operator")
    report.held_paused_at = _now()
    for i in range(1, beats):
        e.start_beat(f"beat{i}")  # a beat that starts after the pause must not undo it
    e.wait_completed(2, report.held_paused_at, timeout=120)
    # A change made at run time is part of "schedules intact": version 2 must survive.
    e.mtf(
        "schedules",
        "update",
        SCHEDULE,
        "--note",
        "before the fault",
        "--catchup-window",
        str(CATCHUP_S + 1),
    )
    report.fault_started = _now()
    fault(e, report)
    if report.fault_cleared is None:
        report.fault_cleared = _now()
    cleared = report.fault_cleared
    e.wait_completed(3, cleared, timeout=150)
    first = e.completed_after(cleared)
    report.recovered_at = first.finished_at if first is not None else None
    paused_at = _now()
    e.mtf("schedules", "pause", SCHEDULE, "--note", "end of scenario")
    wait_for(
        lambda: not [r for r in e.runs() if r.status in OPEN],
        120,
        interval=0.5,
        what="every run ended",
    )
    _collect(e, report, paused_at)
    return report


def _collect(e: Engine, report: Report, paused_at: datetime) -> None:
    engine_ = get_engine(e.url)
    with engine_session(engine_) as s:
        report.runs = list(s.scalars(select(RunRow)))
        report.orders = list(s.scalars(select(OrderRow)))
        report.schedules = {r.name: r for r in s.scalars(select(ScheduleRow))}
        entries = s.scalars(
            select(PaperOrderRow.client_order_id).where(
                PaperOrderRow.kind == "normal", PaperOrderRow.reduce_only.is_(False)
            )
        )
        report.paper_entries = Counter(str(c) for c in entries if c)
    # The schedule's second pause is the scenario's end: compare with the version before it.
    chaos = report.schedules[SCHEDULE]
    chaos.version -= 1
    history = json.loads(e.mtf("schedules", "describe", SCHEDULE, "--json").stdout)["changes"]
    created = next(c for c in history if c["action"] == "created")
    start = datetime.fromisoformat(created["at"])
    from schedules.cadence import parse_cadence

    cadence = parse_cadence(f"@every {EVERY_S}s")
    report.expected = [t for t in cadence.times(start, paused_at) if t < paused_at]


def _last_line_time(log: str, *needles: str) -> tuple[datetime | None, ...]:
    """The time stamp of the last log line holding each needle."""
    out: list[datetime | None] = []
    for needle in needles:
        at = log.rfind(needle)
        if at < 0:
            out.append(None)
            continue
        line = log[log.rfind("\n", 0, at) + 1 : at]
        try:  # Celery stamps its log lines in local time
            moment = datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").astimezone()
        except ValueError:
            out.append(None)
            continue
        out.append(moment.astimezone(_utc()))
    return tuple(out)


def _now() -> datetime:
    from infra import clock

    return clock.now()


def _utc() -> Any:
    from datetime import UTC

    return UTC


# --- the faults ----------------------------------------------------------------------------


def restart_redis(e: Engine, report: Report) -> None:
    """Kill Redis (nothing saved: queues, RedBeat entries, the lock and results are lost) while
    a run is in flight, keep it down for a while, start it again."""
    _wait_in_flight(e)
    e.redis.stop()
    time.sleep(12)
    e.redis.start()
    report.fault_cleared = _now()


def stop_database(e: Engine, report: Report) -> None:
    """Stop PostgreSQL (immediate: connections cut) while a run is in flight, then start it."""
    assert e.postgres is not None
    _wait_in_flight(e)
    e.postgres.stop()
    time.sleep(12)
    e.postgres.start()
    report.fault_cleared = _now()


def kill_worker(e: Engine, report: Report) -> None:
    """SIGKILL the worker's main process while a run is in flight; start a new worker."""
    _wait_in_flight(e)
    with contextlib.suppress(ProcessLookupError):
        os.kill(e.worker.pid, signal.SIGKILL)  # the main process only, as a crash would
    e.worker.wait(timeout=20)
    e.cluster.processes.remove(e.worker)
    e.start_worker("worker2")
    report.fault_cleared = _now()


def kill_leading_beat(e: Engine, report: Report) -> None:
    """SIGKILL the leading beat while a standby runs (it started after `held` was paused); the
    standby takes over."""
    leader = e.leader()
    assert leader is not None
    proc = e.beats[int(leader.removeprefix("beat"))]
    killed = _now()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    successor = wait_for(
        lambda: (e.leader() or leader) if e.leader() not in (None, leader) else None,
        60,
        interval=0.2,
        what="a new leader",
    )
    led = e.led_at(successor) or _now()
    report.notes.append(f"takeover after {(led - killed).total_seconds():.1f} s")
    report.fault_cleared = led


def _wait_in_flight(e: Engine) -> None:
    """Until a run of the chaos schedule is running (so the fault hits one mid-cycle)."""
    with contextlib.suppress(TimeoutError):
        wait_for(
            lambda: any(r.schedule == SCHEDULE and r.status == "running" for r in e.runs()),
            15,
            interval=0.05,
            what="a run in flight",
        )


SCENARIOS: dict[str, tuple[Fault, dict[str, Any]]] = {
    "redis restart": (restart_redis, {}),
    "database down": (stop_database, {"private_pg": True}),
    "worker SIGKILL": (kill_worker, {}),
    "leading beat SIGKILL": (kill_leading_beat, {"beats": 2}),
}
