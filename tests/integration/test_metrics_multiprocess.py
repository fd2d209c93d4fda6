"""Metrics under the prefork pool: two pool processes of a real worker count into the
multiprocess folder, and `mtf metrics serve` (another process) adds them up, keeps them once
the worker is gone, and asks for its token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from infra.db import engine_session, get_engine
from infra.models import OrderRow, RunRow
from tests.helpers import ALWAYS_LONG
from tests.integration.support import prepare_cluster
from tests.integration.workers import REPO, Cluster, cluster, wait_for
from tests.servers import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

TOKEN = "integration-token"


@pytest.fixture
def live(pg_database: str, tmp_path: Path) -> Iterator[Cluster]:
    env = prepare_cluster(pg_database, tmp_path)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    env.update(
        {
            "MTF_PROFILES_DIR": str(profiles),
            "MTF_SYNTHETIC_SYMBOLS": "6",
            "MTF_VALIDATE_PARALLELISM": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "MTF_METRICS_TOKEN": TOKEN,
        }
    )
    with cluster(pg_database, tmp_path, extra_env=env) as c:
        yield c


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_pool_processes_count_into_one_endpoint(live: Cluster) -> None:
    worker = live.worker(concurrency=2)
    port = free_port()
    exe = str(Path(sys.executable).with_name("mtf"))
    server = subprocess.Popen(
        [exe, "metrics", "serve", "--port", str(port)],
        cwd=REPO,
        env=live.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        wait_for(lambda: _get(url, auth) is not None, 60, what="metrics endpoint up")
        assert httpx.get(url).status_code == 401, "the token is required"

        run_id = live.call("mtf.run_cycle", json.dumps({"profile": "always_long"}))
        engine = get_engine(live.database_url)

        def settled() -> bool:
            with engine_session(engine) as s:
                run = s.get(RunRow, run_id)
                rows = list(s.scalars(select(OrderRow).where(OrderRow.run_id == run_id)))
            done = run is not None and run.status == "completed"
            return done and len(rows) == 6 and all(r.status == "simulated" for r in rows)

        wait_for(settled, 120, what="run completed and its orders recorded")
        key = (("profile", "always_long"),)

        def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            text = _get(url, auth)
            got = samples(text) if text else {}
            orders = got.get(("mtf_orders_total", (("exchange", "paper"), ("status", "simulated"))))
            return got if orders == 6 else None

        got = wait_for(counted, 30, what="orders counted")
        assert got[("mtf_runs_total", (*key, ("status", "completed")))] == 1
        assert got[("mtf_symbols_total", (*key, ("status", "ready")))] == 6
        assert got[("mtf_cycle_duration_seconds_count", key)] == 1
        assert got[("mtf_state_up", ())] == 1
        assert got[("mtf_last_completed_run_timestamp_seconds", key)] > 0
        files = os.listdir(live.env()["PROMETHEUS_MULTIPROC_DIR"])
        assert len({f.rsplit("_", 1)[-1] for f in files if f.startswith("counter_")}) >= 2, (
            "the run's tasks were counted by more than one process"
        )

        # The worker stops: its counts stay.
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        after = samples(_get(url, auth) or "")
        assert after[("mtf_runs_total", (*key, ("status", "completed")))] == 1
        assert after[("mtf_orders_total", (("exchange", "paper"), ("status", "simulated")))] == 6
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def _get(url: str, headers: dict[str, str]) -> str | None:
    try:
        response = httpx.get(url, headers=headers, timeout=10)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None
