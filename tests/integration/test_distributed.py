"""Real worker and beat processes against the machine's Redis and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from infra.db import engine_session, get_engine
from infra.models import OrderRow, RunResultRow, RunRow
from tests.integration.support import prepare_cluster
from tests.integration.workers import Cluster, cluster, wait_for

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


def test_beat_produces_cycles(live: Cluster) -> None:
    live.worker()
    enabled = live.mtf("schedules", "enable", "always_long", "--every", "3")
    assert enabled.returncode == 0, enabled.stderr
    listing = live.mtf("schedules", "list", "--json")
    entries = [json.loads(line) for line in listing.stdout.splitlines()]
    assert {"name": "cycle:always_long", "enabled": True}.items() <= next(
        e for e in entries if e["name"] == "cycle:always_long"
    ).items()
    live.beat()

    def two_completed() -> list[RunRow] | None:
        done = [r for r in runs(live.database_url) if r.status == "completed"]
        return done if len(done) >= 2 else None

    done = wait_for(two_completed, 90, what="two beat cycles")
    assert all(r.profile == "always_long" for r in done)
    disabled = live.mtf("schedules", "disable", "always_long")
    assert disabled.returncode == 0, disabled.stderr
