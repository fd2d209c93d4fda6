"""Real worker and beat processes against the machine's Redis and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from infra.db import engine_session, get_engine
from infra.models import OrderRow, RunResultRow, RunRow
from tests.integration.support import prepare_cluster
from tests.integration.workers import CELERY, REPO, Cluster, cluster, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

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


@pytest.fixture
def live(pg_database: str, tmp_path: Path) -> Iterator[Cluster]:
    env = prepare_cluster(pg_database, tmp_path)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    env.update(
        {
            "MTF_PROFILES_DIR": str(profiles),
            "MTF_SYNTHETIC_SYMBOLS": "12",
            "MTF_VALIDATE_PARALLELISM": "3",
        }
    )
    with cluster(pg_database, tmp_path, extra_env=env) as c:
        yield c


def runs(url: str) -> list[RunRow]:
    with engine_session(get_engine(url)) as s:
        return list(s.scalars(select(RunRow).order_by(RunRow.started_at)))


def finished(url: str, run_id: str) -> RunRow | None:
    with engine_session(get_engine(url)) as s:
        row = s.get(RunRow, run_id)
        return row if row is not None and row.status != "running" else None


def test_celery_call_runs_a_cycle_through_the_chord(live: Cluster) -> None:
    live.worker()
    task_id = live.call("mtf.run_cycle", json.dumps({"profile": "always_long"}))
    row = wait_for(lambda: finished(live.database_url, task_id), 90, what="run completed")
    assert row.status == "completed", row.detail
    response: dict[str, Any] = row.response or {}
    assert response["run"]["symbols_processed"] == 12 and response["run"]["ready"] == 12
    assert response["performance"]["batches"] == 3, "12 symbols travel in 3 chord members"
    with engine_session(get_engine(live.database_url)) as s:
        assert (
            len(s.scalars(select(RunResultRow).where(RunResultRow.run_id == task_id)).all()) == 12
        )

    def orders() -> list[OrderRow]:
        with engine_session(get_engine(live.database_url)) as s:
            rows = list(s.scalars(select(OrderRow).where(OrderRow.run_id == task_id)))
        return rows if len(rows) == 12 and all(r.status != "claimed" for r in rows) else []

    placed = wait_for(orders, 60, what="orders placed by the orders queue")
    assert {r.status for r in placed} == {"simulated"}, [
        (r.symbol, r.detail) for r in placed if r.status != "simulated"
    ]
    assert {r.decision_key for r in placed} == {
        o["decision_key"] for o in response["orders"]["enqueued"]
    }
    assert "mtf.place_order" in live.log("worker")
    # the id `celery call` printed leads to the run's full response
    waited = live.mtf("runs", "wait", task_id, "--json", "--timeout", "30")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["run"]["ready"] == 12
    result = subprocess.run(
        [CELERY, "-A", "mtf", "result", task_id],
        cwd=REPO,
        env=live.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "summary_by_tf" in result.stdout and "'ready': 12" in result.stdout
    log = live.log("worker")
    assert "[success] always_long run" in log, "the compact summary is logged"


def test_bad_call_is_refused_with_a_clear_error(live: Cluster) -> None:
    live.worker(queues="mtf")
    task_id = live.call(
        "mtf.run_cycle", json.dumps({"profile": "always_long", "dry_run": "perhaps"})
    )
    row = wait_for(lambda: finished(live.database_url, task_id), 60, what="rejection recorded")
    assert row.status == "rejected" and "dry_run" in (row.detail or "")
    wait_for(lambda: "InvalidRunRequest" in live.log("worker"), 20, what="error logged")


def test_beat_runs_a_schedule_and_a_pause_holds(live: Cluster) -> None:
    live.worker()
    created = live.mtf(
        "schedules",
        "create",
        "fast",
        "--profile",
        "always_long",
        "--cadence",
        "@every 5s",
        "--offset",
        "0",
        "--stale-after",
        "60",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["state"] == "active"
    live.beat()

    def completed() -> list[RunRow] | None:
        done = [r for r in runs(live.database_url) if r.status == "completed"]
        return done if len(done) >= 2 else None

    done = wait_for(completed, 120, what="two scheduled cycles")
    assert all(r.profile == "always_long" and r.schedule == "fast" for r in done)
    times = [r.scheduled_for for r in done]
    assert len(set(times)) == len(times), "no scheduled time runs twice"
    assert all(t is not None and t.timestamp() % 5 == 0 for t in times)
    assert all(r.lateness_ms is not None and r.lateness_ms < 30_000 for r in done)

    paused = live.mtf("schedules", "pause", "fast", "--note", "maintenance")
    assert paused.returncode == 0, paused.stderr
    wait_for(
        lambda: all(
            r.status not in ("scheduled", "queued", "running") for r in runs(live.database_url)
        ),
        60,
        what="runs in flight ended",
    )
    count = len(runs(live.database_url))
    described = json.loads(live.mtf("schedules", "describe", "fast", "--json").stdout)
    assert described["paused"] and described["note"] == "maintenance"
    assert [c["action"] for c in described["changes"]][:2] == ["paused", "created"]
    import time

    time.sleep(12)
    assert len(runs(live.database_url)) == count, "a paused schedule does not run"
