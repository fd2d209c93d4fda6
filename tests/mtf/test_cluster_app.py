"""The Celery app as a member of a cluster: a worker or beat that refuses to start, and task
ETAs and expiries read on the cluster's clock."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import mtf.tasks.cycle  # noqa: F401 - registers the tasks
from infra import clock

REPO = Path(__file__).resolve().parents[2]
REMOTE = "192.0.2.10"  # TEST-NET-1: certainly not this host; nothing is sent to it


@pytest.fixture(autouse=True)
def fresh_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


def celery(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MTF_", "CELERY_"))}
    base.pop("DATABASE_URL", None)
    base["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [str(Path(sys.executable).with_name("celery")), "-A", "mtf", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [("worker", "-c", "1"), ("beat",)])
def test_a_process_given_only_the_broker_refuses_to_start(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    done = celery(*command, env={"CELERY_BROKER_URL": f"redis://{REMOTE}:6379/0"}, cwd=tmp_path)
    assert done.returncode == 2
    refusals = [line for line in done.stderr.splitlines() if "refusing to start" in line]
    assert len(refusals) == 1 and "DATABASE_URL (unset, so sqlite:///mtf.db)" in refusals[0]
    assert not (tmp_path / "mtf.db").exists(), "nothing was written to a private ledger"


def test_eta_and_expiry_are_read_on_the_clusters_clock() -> None:
    from celery.contrib.testing.mocks import TaskMessage

    from mtf.celery_app import ReferenceClockRequest, app

    clock.set_offset_ms(-150_000)  # this host is 150 s ahead of the cluster
    assert abs((app.now() - datetime.now(UTC)).total_seconds() + 150) < 1
    expires = datetime(2026, 1, 1, 12, 0, 50, tzinfo=UTC)
    eta = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)
    message = TaskMessage("mtf.run_cycle", expires=expires.isoformat(), eta=eta.isoformat())
    request = ReferenceClockRequest(message, app=app, task=app.tasks["mtf.run_cycle"])
    # 12:00:50 on the cluster's clock is 12:03:20 on this host's.
    assert request.expires == expires + timedelta(seconds=150)
    assert request.eta == eta + timedelta(seconds=150)
