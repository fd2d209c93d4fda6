"""Real Celery processes for integration tests and benchmarks: workers, beat, `celery call`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.servers import private_redis

REPO = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


@dataclass
class Cluster:
    """Environment shared by the processes of one test: Redis databases, database URL."""

    database_url: str
    redis_base: str
    broker_db: int = 0
    backend_db: int = 1
    beat_db: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    logs: Path = field(default_factory=lambda: Path("/tmp"))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MTF_", "CELERY_"))}
        env.update(
            {
                "CELERY_BROKER_URL": f"{self.redis_base}/{self.broker_db}",
                "CELERY_RESULT_BACKEND": f"{self.redis_base}/{self.backend_db}",
                "MTF_REDIS_URL": f"{self.redis_base}/{self.beat_db}",
                "DATABASE_URL": self.database_url,
                "MTF_SCHEDULE_PROFILES": "",
                "PYTHONPATH": str(REPO),
            }
        )
        env.update(self.extra_env)
        return env

    def flush(self) -> None:
        for db in (self.broker_db, self.backend_db, self.beat_db):
            redis.Redis.from_url(f"{self.redis_base}/{db}").flushdb()

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed by the process
        proc = subprocess.Popen(
            [CELERY, "-A", "mtf", *args],
            cwd=REPO,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    def worker(
        self,
        *,
        queues: str = "mtf,orders,tpsl,maintenance",
        concurrency: int = 2,
        name: str = "worker",
        extra: tuple[str, ...] = (),
    ) -> subprocess.Popen[bytes]:
        proc = self.start(
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            *extra,
            name=name,
        )
        self.wait_ready(name, proc)
        return proc

    def wait_ready(self, name: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        path = self.logs / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and b"ready." in path.read_bytes():
                return
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}"
                )
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.log(name)[-3000:]}")

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start(
            "beat", "--loglevel", "INFO", "-s", str(self.logs / "beat-schedule"), name="beat"
        )

    def call(self, task: str, kwargs_json: str) -> str:
        """`celery -A mtf call TASK --kwargs JSON`; returns the task id."""
        out = subprocess.run(
            [CELERY, "-A", "mtf", "call", task, "--kwargs", kwargs_json],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            timeout=60,
            check=True,
        )
        return out.stdout.decode().strip().splitlines()[-1]

    def mtf(self, *args: str) -> subprocess.CompletedProcess[str]:
        exe = str(Path(sys.executable).with_name("mtf"))
        return subprocess.run(
            [exe, *args], cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=60
        )

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.processes.clear()


@contextlib.contextmanager
def cluster(
    database_url: str, logs: Path, redis_base: str | None = None, **kwargs: object
) -> Iterator[Cluster]:
    """Processes of one test or benchmark; with no `redis_base`, on a Redis server of their own
    (started here and removed afterwards), so nothing else on the machine is touched."""
    with contextlib.ExitStack() as stack:
        if redis_base is None:
            redis_base = stack.enter_context(private_redis()).url
        c = Cluster(database_url=database_url, redis_base=redis_base, logs=logs, **kwargs)  # type: ignore[arg-type]
        c.flush()
        try:
            yield c
        finally:
            c.stop()
            c.flush()


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout}s")
