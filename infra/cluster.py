"""Joining a cluster: what a worker, beat or stream process checks before it does anything.

Several hosts are one engine only if they share one ledger (the database), one broker, one
result backend and one rate limiter (Redis), and agree on the time. A process that joins checks
that, and refuses to start with one line per problem, naming the variable to fix:

* layout — with the broker on another host, a SQLite file or a database or Redis on this host
  cannot be the cluster's: it would be a private ledger or a private rate budget;
* identity — the cluster's id is written once in the database (`cluster_identity`) and into
  every Redis the process uses; a database, broker, result backend or limiter that holds
  another id belongs to another cluster;
* time — the offset of this host's clock from the database's is measured (`infra.clock`),
  reported, used for every shared decision, and refused beyond `MTF_MAX_CLOCK_SKEW_SECONDS`.

The embedded mode (`mtf run`: SQLite, in-process tasks) never joins a cluster and checks none
of this. A RabbitMQ broker cannot hold the id: only its layout is checked.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import redis
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from infra import clock
from infra.db import ensure_schema, get_engine
from infra.models import ClusterIdentityRow, table_of
from infra.settings import Settings, env_name, mask_url_password

log = logging.getLogger("infra.cluster")

IDENTITY_KEY = "mtf:cluster:id"
_T = table_of(ClusterIdentityRow)
R = TypeVar("R")


class ClusterError(Exception):
    """This process must not join: one line per problem, each naming its variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class JoinReport:
    """What a joining process found (printed by `mtf cluster check`, logged by workers)."""

    role: str
    cluster_id: str = ""
    database: str = ""
    broker: str = ""
    redis: dict[str, str] = field(default_factory=dict)  # variable -> masked URL
    clock: clock.Measurement | None = None

    def summary(self) -> str:
        time_line = self.clock.describe() if self.clock else "clock not measured"
        return (
            f"{self.role} joined cluster {self.cluster_id[:12]} (database {self.database}, "
            f"broker {self.broker}); {time_line}"
        )


# --- where things are ----------------------------------------------------------------------


def url_host(url: str) -> str | None:
    """The host a service URL points at ("" for a local socket or file; None: no network)."""
    if url.startswith("sqlite"):
        return ""
    if "://" not in url:
        return None
    scheme = url.split("://", 1)[0]
    if scheme in ("memory", "disabled", "cache+memory"):
        return None
    if scheme.startswith("postgres"):
        parsed = make_url(url)
        host = parsed.host or str(parsed.query.get("host") or "")
        return "" if host.startswith("/") else host
    return urlsplit(url).hostname or ""


def is_local(host: str) -> bool:
    """True when `host` is this machine: a loopback address, a Unix socket ("") or an address
    of one of this host's interfaces (binding to it succeeds)."""
    if host in ("", "localhost"):
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False  # unknown here: certainly not this host
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if ip.is_loopback:
            return True
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((str(address), 0))
                return True
            except OSError:
                continue
    return False


def _redis_urls(settings: Settings) -> dict[str, str]:
    """Every Redis the process uses, by the variable that names it."""
    urls = {}
    for name in ("broker_url", "result_backend", "redis_url"):
        url = str(getattr(settings, name))
        if url.split("://", 1)[0] in ("redis", "rediss"):
            urls[env_name(name)] = url
    return urls


def _shown(settings: Settings, name: str) -> str:
    """`VARIABLE=value` (password masked), or that it is unset and what it defaulted to."""
    value = mask_url_password(str(getattr(settings, name)))
    if name in settings.model_fields_set:
        return f"{env_name(name)}={value}"
    return f"{env_name(name)} (unset, so {value})"


def layout_problems(settings: Settings) -> list[str]:
    """With the broker on another host, every shared service must be reachable from the others:
    no SQLite file, no database or Redis on this host."""
    broker_host = url_host(settings.broker_url)
    if broker_host is None or is_local(broker_host):
        return []
    where = f"the broker ({env_name('broker_url')}) is on {broker_host}"
    problems = []
    if settings.is_sqlite:
        problems.append(
            f"{_shown(settings, 'database_url')} is a SQLite file of this host but {where}: "
            f"set {env_name('database_url')} to the cluster's PostgreSQL"
        )
    elif is_local(url_host(settings.database_url) or ""):
        problems.append(
            f"{_shown(settings, 'database_url')} is a database on this host but {where}: set "
            f"{env_name('database_url')} to the cluster's PostgreSQL"
        )
    for name in ("result_backend", "redis_url"):
        host = url_host(str(getattr(settings, name)))
        if host is not None and is_local(host):
            problems.append(
                f"{_shown(settings, name)} is a Redis on this host but {where}: set "
                f"{env_name(name)} to the cluster's Redis"
            )
    return problems


# --- identity ------------------------------------------------------------------------------


def database_identity(engine: Engine) -> str:
    """The cluster id of the database, created by the first process that asks."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        conn.execute(
            insert(_T)
            .values(slot=1, cluster_id=uuid.uuid4().hex, created_at=clock.now())
            .on_conflict_do_nothing(index_elements=[_T.c.slot])
        )
        return str(conn.execute(select(_T.c.cluster_id).where(_T.c.slot == 1)).scalar_one())


def redis_identity(client: redis.Redis, cluster_id: str) -> str:
    """The cluster id a Redis holds; `cluster_id` is written first if it holds none (a new
    or flushed Redis)."""
    client.set(IDENTITY_KEY, cluster_id, nx=True)
    held = client.get(IDENTITY_KEY)
    return held.decode() if isinstance(held, bytes) else str(held)


def identity_problems(settings: Settings, cluster_id: str) -> list[str]:
    problems = []
    for variable, url in _redis_urls(settings).items():
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        try:
            held = redis_identity(client, cluster_id)
        finally:
            client.close()
        if held != cluster_id:
            problems.append(
                f"{variable}={mask_url_password(url)} belongs to cluster {held[:12]}, but "
                f"{env_name('database_url')}={mask_url_password(settings.database_url)} to "
                f"cluster {cluster_id[:12]}: point {variable} and {env_name('database_url')} at "
                "the same cluster's services"
            )
    return problems


# --- time ----------------------------------------------------------------------------------


def clock_problems(settings: Settings, found: clock.Measurement) -> list[str]:
    bound = settings.max_clock_skew_seconds
    if abs(found.offset_ms) <= bound * 1000:
        return []
    return [
        f"{found.describe()}, beyond {env_name('max_clock_skew_seconds')}={bound:g}: "
        "synchronise this host's clock (NTP)"
    ]


# --- joining -------------------------------------------------------------------------------


def _patiently(
    what: str, attempt: Callable[[], R], timeout_s: float, errors: tuple[type[BaseException], ...]
) -> R:
    """`attempt()` until it works or `timeout_s` passed (then `ClusterError` naming `what`)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            return attempt()
        except errors as exc:
            if time.monotonic() + delay > deadline:
                raise ClusterError([f"cannot reach {what}: {_first_line(exc)}"]) from None
            log.warning("waiting for %s: %s", what, _first_line(exc))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def check(settings: Settings, role: str = "worker") -> JoinReport:
    """Every check a joining process runs; raises `ClusterError` listing the problems.

    Waits up to `MTF_CLUSTER_WAIT_SECONDS` for the database and Redis to answer. Leaves this
    process's clock corrected by the measured offset."""
    unreachable_db = (OperationalError, InterfaceError)
    problems = layout_problems(settings)
    if problems:
        raise ClusterError(problems)
    report = JoinReport(
        role=role,
        database=mask_url_password(settings.database_url),
        broker=mask_url_password(settings.broker_url),
        redis={v: mask_url_password(u) for v, u in _redis_urls(settings).items()},
    )
    wait = settings.cluster_wait_seconds
    database = f"{env_name('database_url')}={report.database}"
    engine = get_engine(settings.database_url)

    def migrate_and_identify() -> str:
        ensure_schema(settings.database_url)
        return database_identity(engine)

    try:
        report.cluster_id = _patiently(database, migrate_and_identify, wait, unreachable_db)
        report.clock = _patiently(database, lambda: clock.sync_with(engine), wait, unreachable_db)
    except SQLAlchemyError as exc:  # reached, but refused (permissions, a broken schema)
        raise ClusterError([f"cannot use {database}: {_first_line(exc)}"]) from None
    problems = clock_problems(settings, report.clock)
    names = ", ".join(f"{v}={u}" for v, u in report.redis.items())
    redis_errors = (redis.ConnectionError, redis.TimeoutError)
    try:
        problems += _patiently(
            names, lambda: identity_problems(settings, report.cluster_id), wait, redis_errors
        )
    except redis.RedisError as exc:  # reached, but refused (authentication, protected mode)
        raise ClusterError([f"cannot use {names}: {_first_line(exc)}"]) from None
    if problems:
        raise ClusterError(problems)
    return report


def join_cluster(settings: Settings, role: str) -> JoinReport:
    """`check`, then keep this process's clock measured (`MTF_CLOCK_SYNC_SECONDS`)."""
    report = check(settings, role)
    url = settings.database_url
    clock.start_sync(
        lambda: get_engine(url), settings.clock_sync_seconds, settings.max_clock_skew_seconds
    )
    return report
