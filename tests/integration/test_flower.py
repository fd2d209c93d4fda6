"""Flower as `mtf flower` starts it: refused without real credentials; its /metrics behind the
same basic auth as its pages; task events from the workers themselves (Flower here never
switches them on) so every task shows up."""

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

from tests.integration.support import prepare_cluster
from tests.integration.workers import REPO, Cluster, cluster, wait_for
from tests.servers import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

CREDENTIALS = ("ops", "a-long-flower-password")
MTF = str(Path(sys.executable).with_name("mtf"))


@pytest.fixture
def live(pg_database: str, tmp_path: Path) -> Iterator[Cluster]:
    env = prepare_cluster(pg_database, tmp_path)
    env["MTF_SYNTHETIC_SYMBOLS"] = "2"
    with cluster(pg_database, tmp_path, extra_env=env) as c:
        yield c


def test_flower_refuses_to_start_without_real_credentials(live: Cluster) -> None:
    for value in ("", "admin:change-me-now", "ops:short", "no-colon"):
        env = {**live.env(), "FLOWER_BASIC_AUTH": value}
        out = subprocess.run(
            [MTF, "flower", "--port", str(free_port())],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2, (value, out.stderr)
        assert "FLOWER_BASIC_AUTH" in out.stderr
        assert out.stderr.count("\n") == 1, "one line"


def test_flower_guards_its_metrics_and_sees_tasks_from_workers_events(live: Cluster) -> None:
    port = free_port()
    env = {**live.env(), "FLOWER_BASIC_AUTH": ":".join(CREDENTIALS)}
    log = open(live.logs / "flower.log", "wb")  # noqa: SIM115 - closed below
    flower = subprocess.Popen(
        [MTF, "flower", "--port", str(port), "--enable_events=False"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthcheck", timeout=5).text == "OK"
            except httpx.HTTPError:
                return False

        wait_for(up, 60, what="flower up")
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/metrics", auth=CREDENTIALS).status_code == 200
        assert httpx.get(f"{base}/api/tasks").status_code == 401

        live.worker(queues="mtf")
        task_id = live.call("mtf.run_cycle", json.dumps({"symbols": ["BTCUSDT"]}))

        def seen() -> bool:
            tasks = httpx.get(f"{base}/api/tasks", auth=CREDENTIALS, timeout=10).json()
            return task_id in tasks and tasks[task_id]["state"] == "SUCCESS"

        wait_for(seen, 90, what="the run's task in Flower")
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        flower.wait(timeout=20)
        log.close()
