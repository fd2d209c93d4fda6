"""Shared fixtures: databases (SQLite and PostgreSQL), services, real candles, service checks.

Service-backed tests skip with a reason when Redis/PostgreSQL are unreachable, unless
MTF_REQUIRE_SERVICES=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.servers import RedisServer

REPO = Path(__file__).resolve().parents[1]
KLINES_DIR = (REPO / ".." / "shared" / "data" / "klines").resolve()
PG_ADMIN_URL = os.environ.get(
    "MTF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def services_required() -> bool:
    return os.environ.get("MTF_REQUIRE_SERVICES") == "1"


def need_service(name: str, reason: str) -> None:
    """Skip (or fail under MTF_REQUIRE_SERVICES=1) because `name` is unavailable."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(f"{message} (MTF_REQUIRE_SERVICES=1 requires it)")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def klines_file(folder: str, name: str) -> Path:
    path = KLINES_DIR / folder / name
    if not path.is_file():
        pytest.skip(f"real candles not found at {path} (the shared data folder is absent)")
    return path


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server private to this test session (a free loopback port, nothing on disk):
    concurrent test runs on one machine never touch each other's keys."""
    try:
        server = RedisServer().start()
    except (RuntimeError, OSError, TimeoutError) as exc:
        need_service("Redis", f"cannot start a private redis-server: {exc}")
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """Database 0 of the session's private Redis, emptied before and after the test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield f"{redis_server.url}/0"
    client.flushall()
    client.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for the session."""
    if not port_open("127.0.0.1", 5432):
        need_service("PostgreSQL", "nothing listens on 127.0.0.1:5432")
    name = f"mtf_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        need_service("PostgreSQL", f"cannot create a test database: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    from infra.db import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    from infra.db import get_engine
    from infra.models import Base

    engine = get_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite file, then PostgreSQL."""
    from infra.db import ensure_schema

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mtf.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    ensure_schema(url)
    _truncate(url)
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    from infra.db import ensure_schema

    url = f"sqlite:///{tmp_path / 'mtf.db'}"
    ensure_schema(url)
    return url


@pytest.fixture
def make_services(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Build process services on a given database with extra settings, installed globally."""
    from infra.settings import Settings, reset_settings
    from mtf import services as services_mod

    built = []

    def make(database_url: str, **overrides: object):  # type: ignore[no-untyped-def]
        monkeypatch.setenv("DATABASE_URL", database_url)
        for key, value in overrides.items():
            monkeypatch.setenv(f"MTF_{key.upper()}", str(value))
        reset_settings()
        svc = services_mod.Services.build(Settings(), limiter_mode="local")
        services_mod.use(svc)
        built.append(svc)
        return svc

    yield make
    services_mod.reset()
    reset_settings()


@pytest.fixture
def eager_app():  # type: ignore[no-untyped-def]
    from mtf.celery_app import app, configure_embedded

    configure_embedded(app)
    return app
