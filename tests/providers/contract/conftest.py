"""Fixtures of the contract suite: a database per module, a market and an exchange per test.

`db` runs every module on SQLite and on PostgreSQL: a throw-away database created through the
server's `test` database (MTF_TEST_PG_URL overrides its URL), skipped when the server is
unreachable unless MTF_REQUIRE_SERVICES=1, which makes it fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from infra.db import ensure_schema, get_engine
from providers.port import Exchange
from providers.types import OpenType
from tests.providers.bitmart.adapter import bitmart_client
from tests.providers.bitmart.fake.market import BitmartFakeMarket

from .market import Market, PaperMarket, btc_spec

PG_SERVER = os.environ.get("MTF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADAPTERS = ["paper", "bitmart"]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)],
)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty, migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'exchange.db'}"
        ensure_schema(url)
        yield url
        get_engine(url).dispose()
        return
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    name = f"mtf_paper_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        PG_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {PG_SERVER}: {exc.orig}"
        if os.environ.get("MTF_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (MTF_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        ensure_schema(url)
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=ADAPTERS)
def market(request: pytest.FixtureRequest, db: str) -> Iterator[Market]:
    if request.param == "paper":
        built: Market = PaperMarket(db)
    elif request.param == "bitmart":
        built = BitmartFakeMarket(db, bitmart_client)
    else:
        raise AssertionError(f"no market for adapter {request.param}")
    yield built
    built.close()


@pytest.fixture
def exchange(market: Market) -> Exchange:
    return market.exchange


@pytest.fixture
def btc(market: Market) -> str:
    """BTCUSDT listed, 30 minutes of history at 40000, leverage 10 isolated; its symbol."""
    spec = btc_spec()
    market.list(spec)
    market.history(spec.symbol, 40_000.0)
    market.exchange.set_leverage(spec.symbol, 10, OpenType.ISOLATED)
    return spec.symbol
