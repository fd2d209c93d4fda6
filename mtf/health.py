"""Liveness files of workers and beat, for container healthchecks (`mtf health worker|beat`).

Each process rewrites a small JSON file from its own main loop: a process whose loop is stuck
stops rewriting it, and the healthcheck sees the file grow old. A process waiting for Redis or
the database to come back keeps its loop, so it stays healthy: it recovers by itself, and a
restart would not help.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from celery import bootsteps

from infra.settings import get_settings

WORKER_EVERY_S = 10.0


def _path(kind: str, name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name)
    return Path(get_settings().health_dir) / f"mtf-{kind}-{safe}.health"


def write(kind: str, name: str, **info: Any) -> None:
    """Record that this process is alive (atomically: a reader never sees half a file)."""
    path = _path(kind, name)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"ts": time.time(), "pid": os.getpid(), "name": name, **info}))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk must not stop the process it watches


def check(kind: str, max_age_s: float, name: str | None = None) -> tuple[bool, str]:
    """(healthy, one line): the newest liveness file of `kind` (on this host) is fresh."""
    folder = Path(get_settings().health_dir)
    pattern = f"mtf-{kind}-{name}.health" if name else f"mtf-{kind}-*.health"
    newest: dict[str, Any] | None = None
    for path in folder.glob(pattern):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if newest is None or info.get("ts", 0) > newest.get("ts", 0):
            newest = info
    if newest is None:
        return False, f"no {kind} liveness file in {folder} (is the {kind} running here?)"
    age = time.time() - float(newest.get("ts", 0))
    extra = ", ".join(f"{k}={v}" for k, v in newest.items() if k not in ("ts", "pid", "name"))
    line = f"{kind} {newest.get('name')} (pid {newest.get('pid')}) seen {age:.0f} s ago"
    line += f" ({extra})" if extra else ""
    if age > max_age_s:
        return False, f"{line}: older than {max_age_s:.0f} s"
    return True, line


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Rewrites the worker's liveness file every few seconds from its event loop's timer."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        name = str(getattr(worker, "hostname", None) or socket.gethostname())
        write("worker", name, state="started")
        self.tref = worker.timer.call_repeatedly(
            WORKER_EVERY_S, write, ("worker", name), {"state": "running"}
        )

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
