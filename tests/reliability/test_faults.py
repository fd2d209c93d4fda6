"""Chaos suite: real worker and beat processes, a private Redis and database, one fault each.

Each fault leaves the same guarantees (`Report.check`): every scheduled time accounted for, none
run twice, no order decision from a stale run, no run left open, schedules and pauses intact,
and runs completing again after the fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.chaos import (
    SCHEDULE,
    Engine,
    engine,
    kill_leading_beat,
    kill_worker,
    restart_redis,
    run_scenario,
    stop_database,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def shared_pg(pg_database: str, tmp_path: Path) -> Iterator[Engine]:
    with engine(tmp_path, pg_database) as e:
        yield e


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[Engine]:
    try:
        cm = engine(tmp_path, None, private_pg=True)
        e = cm.__enter__()
    except (RuntimeError, OSError) as exc:
        from tests.conftest import need_service

        need_service("PostgreSQL server binaries", str(exc))
        raise
    try:
        yield e
    finally:
        cm.__exit__(None, None, None)


def test_redis_restart_mid_cycle(shared_pg: Engine) -> None:
    report = run_scenario(shared_pg, "redis restart", restart_redis)
    report.check()
    # The worker survived the restart (the kombu restore crash is avoided) and beat too.
    assert "Unrecoverable error" not in shared_pg.cluster.log("worker")
    assert shared_pg.worker.poll() is None and shared_pg.beats[0].poll() is None
    beat_log = shared_pg.cluster.log("beat0")
    assert "beat: redis unreachable" in beat_log and "beat: redis reachable again" in beat_log
    # one line per attempt, not a traceback per tick
    assert beat_log.count("Traceback") == 0, beat_log[-3000:]
    # and their healthchecks say so
    for kind in ("beat", "worker"):
        checked = shared_pg.cluster.mtf("health", kind)
        assert checked.returncode == 0, checked.stderr


def test_database_down_mid_cycle(private_pg: Engine) -> None:
    report = run_scenario(private_pg, "database down", stop_database)
    report.check()
    beat_log = private_pg.cluster.log("beat0")
    assert "beat: database unreachable" in beat_log and "database reachable again" in beat_log
    assert private_pg.worker.poll() is None and private_pg.beats[0].poll() is None
    fault_times = [
        r
        for r in report.of(SCHEDULE)
        if report.fault_started
        and r.scheduled_for
        and r.scheduled_for >= report.fault_started
        and report.fault_cleared
        and r.scheduled_for <= report.fault_cleared
    ]
    assert fault_times, "the outage's scheduled times are accounted for"


def test_worker_sigkill_mid_cycle(shared_pg: Engine) -> None:
    report = run_scenario(shared_pg, "worker SIGKILL", kill_worker)
    report.check()
    abandoned = [r for r in report.of(SCHEDULE) if r.status == "abandoned"]
    for run in abandoned:  # declared within the minute of its time
        assert run.finished_at and run.scheduled_for
        assert (run.finished_at - run.scheduled_for).total_seconds() < 60, run.detail


def test_leading_beat_sigkill_with_a_standby(shared_pg: Engine) -> None:
    report = run_scenario(shared_pg, "leading beat SIGKILL", kill_leading_beat, beats=2)
    report.check()
    takeover = float(report.notes[0].split()[2])
    assert takeover < 15, report.notes  # the lock timeout (10 s) plus a tick
