"""Alembic environment: migrations run on the connection `infra.db` hands over, or, from the
`alembic` command, on `-x url=...`, the ini's sqlalchemy.url, or DATABASE_URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

from infra.db import normalize_url
from infra.models import Base
from infra.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    given = context.get_x_argument(as_dictionary=True).get("url")
    return given or config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    if config.config_file_name is not None:
        # The standard `alembic` command: log as alembic.ini says.
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine(normalize_url(_url()))
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
