"""Joining a cluster: layout, identity and clock checks, and the worker that refuses to start."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from infra import clock
from infra.cluster import (
    IDENTITY_KEY,
    ClusterError,
    check,
    clock_problems,
    is_local,
    layout_problems,
    url_host,
)
from infra.settings import Settings
from tests.servers import RedisServer, free_port

REPO = Path(__file__).resolve().parents[2]
#: TEST-NET-1: an address that is certainly not this host (nothing is ever sent to it).
REMOTE = "192.0.2.10"
ENV_VARS = (
    "CELERY_BROKER_URL",
    "MTF_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "MTF_RESULT_BACKEND",
    "MTF_REDIS_URL",
    "REDIS_URL",
    "DATABASE_URL",
    "MTF_DATABASE_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    clock.reset()
    yield
    clock.reset()


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# --- settings ---------------------------------------------------------------------------------


def test_redis_urls_default_to_the_brokers_redis() -> None:
    s = settings(broker_url=f"redis://:pw@{REMOTE}:6380/0")
    assert s.result_backend == f"redis://:pw@{REMOTE}:6380/1"
    assert s.redis_url == f"redis://:pw@{REMOTE}:6380/2"
    given = settings(broker_url=f"redis://{REMOTE}/0", redis_url="redis://other:6379/5")
    assert given.redis_url == "redis://other:6379/5", "an explicit value is kept"
    amqp = settings(broker_url=f"amqp://guest@{REMOTE}//")
    assert amqp.redis_url == "redis://127.0.0.1:6379/2", "no Redis to follow"


# --- layout -----------------------------------------------------------------------------------


def test_what_is_local() -> None:
    assert is_local("127.0.0.1") and is_local("localhost") and is_local("::1")
    assert is_local(""), "a Unix socket or a file is on this host"
    assert not is_local(REMOTE)
    assert url_host("sqlite:///mtf.db") == ""
    assert url_host("postgresql+psycopg://u@db.example:5432/x") == "db.example"
    assert url_host("postgresql+psycopg://u@/x?host=/run/postgresql") == ""
    assert url_host("memory://localhost/") is None


def test_a_local_broker_allows_any_layout() -> None:
    assert layout_problems(settings()) == [], "the single-machine defaults"
    assert layout_problems(settings(database_url="sqlite:///x.db")) == []


def test_broker_elsewhere_and_sqlite_is_refused_naming_the_variable() -> None:
    [problem] = layout_problems(settings(broker_url=f"redis://{REMOTE}:6379/0"))
    assert problem.startswith("DATABASE_URL (unset, so sqlite:///mtf.db) is a SQLite file")
    assert f"CELERY_BROKER_URL) is on {REMOTE}" in problem


def test_broker_elsewhere_and_local_services_are_refused() -> None:
    problems = layout_problems(
        settings(
            broker_url=f"redis://{REMOTE}:6379/0",
            database_url="postgresql+psycopg://postgres@127.0.0.1:5432/mtf",
            redis_url="redis://127.0.0.1:6379/2",
        )
    )
    assert [p.split("=", 1)[0] for p in problems] == ["DATABASE_URL", "MTF_REDIS_URL"]
    assert "set MTF_REDIS_URL to the cluster's Redis" in problems[1]


def test_broker_elsewhere_with_the_clusters_services_passes() -> None:
    s = settings(
        broker_url=f"redis://{REMOTE}:6379/0",
        database_url=f"postgresql+psycopg://postgres@{REMOTE}:5432/mtf",
    )
    assert layout_problems(s) == [], "the limiter and results follow the broker"
    rabbit = settings(
        broker_url=f"amqp://guest@{REMOTE}//",
        database_url=f"postgresql+psycopg://postgres@{REMOTE}:5432/mtf",
    )
    problems = layout_problems(rabbit)
    assert problems[0].startswith("CELERY_RESULT_BACKEND (unset, so redis://127.0.0.1:6379/1)")
    assert problems[1].startswith("MTF_REDIS_URL (unset, so redis://127.0.0.1:6379/2)")
    rabbit = settings(
        broker_url=f"amqp://guest@{REMOTE}//",
        database_url=f"postgresql+psycopg://postgres@{REMOTE}:5432/mtf",
        result_backend=f"redis://{REMOTE}:6379/1",
    )
    [problem] = layout_problems(rabbit)
    assert problem.startswith("MTF_REDIS_URL (unset, so redis://127.0.0.1:6379/2)")


# --- clock ------------------------------------------------------------------------------------


def test_a_skew_beyond_the_bound_is_refused() -> None:
    ok = clock.Measurement(-4_000.0, 1.0, "postgresql", 0)
    assert clock_problems(settings(max_clock_skew_seconds=5), ok) == []
    far = clock.Measurement(-75_000.0, 1.0, "postgresql", 0)
    [problem] = clock_problems(settings(max_clock_skew_seconds=5), far)
    assert problem.startswith("this host's clock is 75.000 s ahead of the database's")
    assert "MTF_MAX_CLOCK_SKEW_SECONDS=5" in problem


# --- identity (a private Redis, the session's PostgreSQL database) ------------------------------


def services_on(redis_base: str, database_url: str, **values: Any) -> Settings:
    chosen: dict[str, Any] = {
        "broker_url": f"{redis_base}/0",
        "result_backend": f"{redis_base}/1",
        "redis_url": f"{redis_base}/2",
        "database_url": database_url,
        "cluster_wait_seconds": 1,
    }
    return settings(**{**chosen, **values})


@pytest.mark.services
def test_the_first_process_writes_the_identity_everywhere(
    redis_server: RedisServer, pg_database: str
) -> None:
    redis.Redis.from_url(redis_server.url).flushall()
    report = check(services_on(redis_server.url, pg_database))
    for db in (0, 1, 2):
        held = redis.Redis.from_url(f"{redis_server.url}/{db}").get(IDENTITY_KEY)
        assert held is not None and held.decode() == report.cluster_id
    again = check(services_on(redis_server.url, pg_database))
    assert again.cluster_id == report.cluster_id, "written once"
    assert again.clock is not None and abs(again.clock.offset_ms) < 2_000
    assert "joined cluster" in again.summary()


@pytest.mark.services
def test_a_redis_of_another_cluster_is_refused(redis_server: RedisServer, pg_database: str) -> None:
    redis.Redis.from_url(redis_server.url).flushall()
    ours = check(services_on(redis_server.url, pg_database)).cluster_id
    other = uuid.uuid4().hex
    redis.Redis.from_url(f"{redis_server.url}/3").set(IDENTITY_KEY, other)
    with pytest.raises(ClusterError) as refused:
        check(services_on(redis_server.url, pg_database, redis_url=f"{redis_server.url}/3"))
    [line] = refused.value.lines
    assert line.startswith(f"MTF_REDIS_URL={redis_server.url}/3 belongs to cluster {other[:12]}")
    assert f"to cluster {ours[:12]}" in line and "DATABASE_URL" in line


@pytest.mark.services
def test_a_database_of_another_cluster_is_refused(
    redis_server: RedisServer, pg_database: str, tmp_path: Path
) -> None:
    redis.Redis.from_url(redis_server.url).flushall()
    check(services_on(redis_server.url, pg_database))
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"  # a ledger of its own
    with pytest.raises(ClusterError) as refused:
        check(services_on(redis_server.url, elsewhere))
    variables = [line.split("=", 1)[0] for line in refused.value.lines]
    assert variables == ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MTF_REDIS_URL"]


@pytest.mark.services
def test_a_skewed_host_is_measured_and_refused(
    redis_server: RedisServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis.Redis.from_url(redis_server.url).flushall()
    monkeypatch.setattr(clock, "time", SimpleNamespace(time=lambda: time.time() + 30))
    with pytest.raises(ClusterError) as refused:
        check(services_on(redis_server.url, pg_database, max_clock_skew_seconds=10))
    [line] = refused.value.lines
    assert "ahead of the database's" in line and "MTF_MAX_CLOCK_SKEW_SECONDS=10" in line
    report = check(services_on(redis_server.url, pg_database, max_clock_skew_seconds=60))
    assert report.clock is not None and abs(report.clock.offset_ms + 30_000) < 1_000
    assert abs(clock.now_ms() - time.time() * 1000) < 1_000, "the clock is corrected"


@pytest.mark.services
def test_an_unreachable_redis_is_waited_for_then_refused(pg_database: str) -> None:
    closed = f"redis://127.0.0.1:{free_port()}"
    s = services_on(closed, pg_database, cluster_wait_seconds=0.6)
    started = time.monotonic()
    with pytest.raises(ClusterError) as refused:
        check(s)
    assert time.monotonic() - started >= 0.3, "it waited before refusing"
    [line] = refused.value.lines
    assert line.startswith(f"cannot reach CELERY_BROKER_URL={closed}/0")
