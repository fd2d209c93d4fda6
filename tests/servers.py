"""Private service instances for tests and benchmarks: a Redis server and a PostgreSQL cluster
of their own, on free loopback ports, in temporary folders.

Tests that restart or stop a service use these, never the machine's shared servers; tests that
only need a Redis use the session's private one (`redis_server` fixture), so two test runs on
one machine never flush each other's keys.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_port(host: str, port: int, timeout: float, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} not {'up' if up else 'down'} after {timeout}s")


class RedisServer:
    """A `redis-server` of its own on a fixed port; stop/start keep the port, so clients that
    reconnect find it again (what a Redis restart looks like to the engine)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.host = host
        self.port = port or free_port(host)
        self.dir = Path(tempfile.mkdtemp(prefix="mtf-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def start(self) -> RedisServer:
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--databases",
                "16",
                # Bound to a test link's address (not loopback): let the test's hosts in.
                "--protected-mode",
                "no" if self.host != "127.0.0.1" else "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_port(self.host, self.port, 10)
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server (SIGKILL by default: nothing saved, like a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        self.proc = None
        _wait_port(self.host, self.port, 10, up=False)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A PostgreSQL cluster of its own (`initdb` into a temporary folder, trust auth), run as
    the `postgres` system user when the tests run as root."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.bin = _pg_bin()
        self.host = host
        self.port = port or free_port(host)
        self.dir = Path(tempfile.mkdtemp(prefix="mtf-pg-"))
        self.data = self.dir / "data"
        self._as_user: str | None = "postgres" if os.geteuid() == 0 else None
        if self._as_user is not None:
            pw = pwd.getpwnam(self._as_user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '{host}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
            )

    def _run(self, cmd: list[str]) -> None:
        if self._as_user is not None:
            cmd = ["runuser", "-u", self._as_user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def start(self) -> PostgresServer:
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "pg.log"),
                "-w",
                "start",
            ]
        )
        _wait_port(self.host, self.port, 30)
        return self

    def stop(self, mode: str = "immediate") -> None:
        """Stop the cluster (`immediate`: connections cut, like a crash)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
        _wait_port(self.host, self.port, 30, up=False)

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin() -> Path:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.glob("*/bin/initdb")) if root.is_dir() else []
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found is None:
        raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
    return Path(found).parent


@contextlib.contextmanager
def private_redis(host: str = "127.0.0.1") -> Iterator[RedisServer]:
    server = RedisServer(host).start()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def private_postgres(host: str = "127.0.0.1") -> Iterator[PostgresServer]:
    server = PostgresServer(host).start()
    try:
        yield server
    finally:
        server.close()
