"""Which rate limiter a process gets: never a private budget where the budget is shared."""

from __future__ import annotations

import pytest

from infra.settings import Settings
from mtf.services import make_limiter
from providers.bitmart import InMemoryRateLimiter, RedisRateLimiter
from providers.bitmart.ratelimit import limiter_state
from tests.servers import free_port


@pytest.fixture
def nowhere() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/2"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_worker_never_paces_itself(nowhere: str) -> None:
    limiter = make_limiter(settings(redis_url=nowhere), "shared")
    assert isinstance(limiter, RedisRateLimiter), "even on SQLite, with Redis unreachable"
    assert limiter.unavailable_wait_s == 10.0
    assert limiter_state()["mode"] == "shared"


def test_the_embedded_mode_paces_itself(nowhere: str) -> None:
    assert isinstance(make_limiter(settings(redis_url=nowhere), "local"), InMemoryRateLimiter)
    assert limiter_state()["mode"] == "local"


def test_a_command_on_sqlite_without_redis_is_alone_on_its_machine(nowhere: str) -> None:
    limiter = make_limiter(settings(redis_url=nowhere, database_url="sqlite:///x.db"), "auto")
    assert isinstance(limiter, InMemoryRateLimiter)


def test_a_command_on_a_shared_database_shares_the_budget(nowhere: str) -> None:
    s = settings(
        redis_url=nowhere,
        database_url="postgresql+psycopg://postgres@db.invalid/mtf",
        limiter_wait_seconds=3,
    )
    limiter = make_limiter(s, "auto")
    assert isinstance(limiter, RedisRateLimiter) and limiter.unavailable_wait_s == 3
