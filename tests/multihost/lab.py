"""Several "hosts" on one machine: a network namespace per host, joined to this one by a veth
link, with a clock of its own (libfaketime), and the cluster's Redis and PostgreSQL listening
on the first link's address here.

Only the links created here carry traffic: each namespace has its loopback and its veth end,
and a route to the services' address alone. Everything is removed on exit, also after a
failure, and namespaces left by a test run that died are removed by the next one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.workers import CELERY, REPO, Cluster
from tests.servers import PostgresServer, RedisServer

PREFIX = "mtfmh"  # namespace names: mtfmh-<pid>-<host>
FAKETIME_DIRS = ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime")


def faketime_library() -> str | None:
    """libfaketime's multithreaded variant (Debian package `libfaketime`), if installed."""
    for folder in FAKETIME_DIRS:
        candidate = Path(folder) / "libfaketimeMT.so.1"
        if candidate.is_file():
            return str(candidate)
    return None


def unavailable() -> str | None:
    """Why this machine cannot host the lab (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if faketime_library() is None:
        return "libfaketime is not installed (Debian package faketime)"
    probe = f"{PREFIX}-probe-{os.getpid()}"
    done = _ip("netns", "add", probe, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def _in_ns(ns: str, *args: str) -> None:
    _ip("netns", "exec", ns, "ip", *args)


@dataclass
class Host:
    """One machine: its namespace, its address, and how far its clock is off."""

    name: str
    ns: str
    veth: str  # the end of the link on this side
    address: str  # the host's address (its end of the link)
    gateway: str  # this side's address on the link
    skew_s: float = 0.0
    workdir: Path = field(default_factory=Path)


def _free_block() -> ipaddress.IPv4Network:
    """A /24 in 10.213.0.0/16 that no address or route of this machine touches."""
    seen = _ip("-4", "route", "show", "table", "all").stdout + _ip("-4", "addr").stdout
    taken = [
        ipaddress.ip_network(token, strict=False)
        for token in re.findall(r"\d+\.\d+\.\d+\.\d+(?:/\d+)?", seen)
    ]
    for third in random.Random(os.getpid()).sample(range(256), 256):
        block = ipaddress.ip_network(f"10.213.{third}.0/24")
        if not any(block.overlaps(t) for t in taken if t.prefixlen > 0):
            return block
    raise RuntimeError("no free 10.213.x.0/24 block for the test links")


def remove_stale() -> None:
    """Remove namespaces and links of test runs whose process is gone."""
    listing = _ip("netns", "list", check=False).stdout
    for name in re.findall(rf"^({PREFIX}-(\d+)-\w+)", listing, flags=re.M):
        ns, pid = name
        if not Path(f"/proc/{pid}").exists():
            _kill_ns_processes(ns)
            _ip("netns", "del", ns, check=False)
    links = _ip("-o", "link", check=False).stdout
    for veth, pid in re.findall(r"\d+: (m(\d+)[a-z]0)@", links):
        if not Path(f"/proc/{pid}").exists():
            _ip("link", "del", veth, check=False)


def _kill_ns_processes(ns: str) -> None:
    pids = _ip("netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


class Network:
    """Hosts linked to this machine; `service_address` is where the shared services listen."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.block = _free_block()
        self.hosts: dict[str, Host] = {}

    @property
    def service_address(self) -> str:
        return next(iter(self.hosts.values())).gateway

    def add(self, name: str, skew_s: float = 0.0) -> Host:
        index = len(self.hosts)
        base = self.block.network_address + 4 * index
        gateway, address = str(base + 1), str(base + 2)
        pid = os.getpid()
        host = Host(
            name=name,
            ns=f"{PREFIX}-{pid}-{name}",
            veth=f"m{pid}{name}0",
            address=address,
            gateway=gateway,
            skew_s=skew_s,
            workdir=self.root / f"host-{name}",
        )
        host.workdir.mkdir(parents=True, exist_ok=True)
        self.hosts[name] = host  # registered first: `close` removes whatever was made
        inner = f"m{pid}{name}1"
        _ip("netns", "add", host.ns)
        _in_ns(host.ns, "link", "set", "lo", "up")
        _ip("link", "add", host.veth, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", host.ns)
        _ip("addr", "add", f"{gateway}/30", "dev", host.veth)
        _ip("link", "set", host.veth, "up")
        _in_ns(host.ns, "addr", "add", f"{address}/30", "dev", inner)
        _in_ns(host.ns, "link", "set", inner, "up")
        return host

    def route_to_services(self) -> None:
        """Each host reaches the services' address through its own link, and nothing else."""
        target = self.service_address
        for host in self.hosts.values():
            if host.gateway != target:
                _in_ns(host.ns, "route", "add", f"{target}/32", "via", host.gateway)

    def close(self) -> None:
        for host in self.hosts.values():
            _kill_ns_processes(host.ns)
            _ip("netns", "del", host.ns, check=False)
            _ip("link", "del", host.veth, check=False)  # gone with its peer, normally
        self.hosts.clear()


@dataclass
class HostProcesses(Cluster):
    """Celery processes of one host: run in its namespace, on its clock, in its folder."""

    host: Host = field(default_factory=lambda: Host("", "", "", "", 0.0))

    def env(self) -> dict[str, str]:
        return {**super().env(), **skewed_clock(self.host.skew_s)}

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.host.ns, *args]

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed by the process
        proc = subprocess.Popen(
            self.command(CELERY, "-A", "mtf", *args),
            cwd=self.host.workdir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    def run(
        self, *argv: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A command in this host, to its end (`env` replaces the cluster's variables)."""
        chosen = self.env() if env is None else {**_base_env(), **env}
        return subprocess.run(
            self.command(*argv),
            cwd=self.host.workdir,
            env=chosen,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def refusal(self, env: dict[str, str], skew_s: float = 0.0) -> tuple[int, list[str]]:
        """Start a worker here with only `env`; its exit code and its refusal lines."""
        done = self.run(
            CELERY, "-A", "mtf", "worker", "-c", "1", env={**env, **skewed_clock(skew_s)}
        )
        lines = [line for line in done.stderr.splitlines() if "refusing to start" in line]
        return done.returncode, lines


def skewed_clock(skew_s: float) -> dict[str, str]:
    """The environment that runs a process `skew_s` seconds off (libfaketime). Its monotonic
    clock moves by the same constant, which changes no duration: shifting only the wall clock
    makes libfaketime's `clock_nanosleep` fail, and with it `time.sleep`."""
    if not skew_s:
        return {}
    library = faketime_library()
    assert library is not None
    return {"LD_PRELOAD": library, "FAKETIME": f"{skew_s:+.0f}"}


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MTF_", "CELERY_"))}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(REPO)
    return env


def call(redis_base: str, task: str, kwargs_json: str, queue: str | None = None) -> str:
    """`celery call` from this machine (the operator's side); returns the task id."""
    env = {
        **_base_env(),
        "CELERY_BROKER_URL": f"{redis_base}/0",
        "CELERY_RESULT_BACKEND": f"{redis_base}/1",
    }
    argv = [CELERY, "-A", "mtf", "call", task, "--kwargs", kwargs_json]
    if queue:
        argv += ["--queue", queue]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    done.check_returncode()
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Lab:
    network: Network
    redis: RedisServer
    postgres: PostgresServer

    @property
    def redis_base(self) -> str:
        return self.redis.url


@contextlib.contextmanager
def lab(root: Path, skews: dict[str, float]) -> Iterator[Lab]:
    """The hosts of `skews` (name -> clock offset in seconds), and the cluster's Redis and
    PostgreSQL on the first link's address of this machine."""
    remove_stale()
    network = Network(root)
    try:
        for name, skew in skews.items():
            network.add(name, skew)
        network.route_to_services()
        address = network.service_address
        with contextlib.ExitStack() as stack:
            redis_server = RedisServer(address).start()
            stack.callback(redis_server.close)
            postgres = PostgresServer(address)
            with open(postgres.data / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {network.block} trust\n")
            stack.callback(postgres.close)
            postgres.start()
            yield Lab(network, redis_server, postgres)
    finally:
        network.close()


def wait_until_second(low: int, high: int) -> None:
    """Sleep until the second of the minute (real time) is in [low, high]."""
    while not low <= time.time() % 60 <= high:
        time.sleep(0.2)
