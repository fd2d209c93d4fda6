"""Database engine, sessions and schema migration.

One engine per URL per process. Worker processes forked by Celery call `dispose_engines()` so a
child never reuses its parent's connections. `ensure_schema()` brings a database to the newest
Alembic revision; it is safe to call from several processes at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from infra.settings import get_settings

_MIGRATIONS = Path(__file__).with_name("migrations")
_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: settings.database_url)."""
    url = normalize_url(url or get_settings().database_url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                path = make_url(url).database
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
            _engines[url] = engine
        return engine


@contextlib.contextmanager
def engine_session(engine: Engine) -> Iterator[Session]:
    """A session on `engine` that commits on success and rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Drop inherited connections (call in a freshly forked process)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def ensure_schema(url: str | None = None) -> None:
    """Upgrade the database to the newest migration (once per process and URL)."""
    url = normalize_url(url or get_settings().database_url)
    if url in _migrated:
        return
    engine = get_engine(url)
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        lock_path = f"{path}.migrate.lock" if path and path != ":memory:" else None
        with _file_lock(lock_path):
            _upgrade(engine, url)
    else:
        with engine.connect() as conn:
            # Serialise concurrent upgrades from several workers.
            conn.execute(text("SELECT pg_advisory_lock(727271)"))
            try:
                _upgrade(engine, url)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(727271)"))
                conn.commit()
    _migrated.add(url)


def _upgrade(engine: Engine, url: str) -> None:
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextlib.contextmanager
def _file_lock(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def forget_migrations() -> None:
    """Make the next `ensure_schema` run the upgrade again (tests recreate databases)."""
    _migrated.clear()
