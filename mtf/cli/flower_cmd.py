"""`mtf flower`: Flower, refusing to start unprotected.

* `FLOWER_BASIC_AUTH` (user:password[,user:password...]) is required: no default password, and
  the well-known placeholders are refused. Flower reads it from the environment, so it never
  shows in the process list.
* Flower's own `/metrics` answers without authentication; here it asks for the same
  credentials as every other page (`/healthcheck` stays open for probes).
* It listens on 127.0.0.1 unless told otherwise (`--address`).
"""

from __future__ import annotations

import os
import sys

import click

from mtf.cli.common import fail

#: Placeholders seen in examples: refused as passwords.
WEAK_PASSWORDS = frozenset(
    {"", "admin", "secret", "password", "change-me", "change-me-now", "flower"}
)
MIN_PASSWORD = 8


def check_basic_auth(value: str) -> str | None:
    """Why `value` is not acceptable as FLOWER_BASIC_AUTH, or None."""
    if not value.strip():
        return (
            "FLOWER_BASIC_AUTH is not set: Flower shows every task's arguments and results, "
            "it does not start without user:password"
        )
    for entry in value.split(","):
        user, sep, password = entry.partition(":")
        if not sep or not user:
            return "FLOWER_BASIC_AUTH must be user:password (several separated by commas)"
        if password.lower() in WEAK_PASSWORDS or len(password) < MIN_PASSWORD:
            return (
                f"FLOWER_BASIC_AUTH: the password of {user!r} is a placeholder or shorter than "
                f"{MIN_PASSWORD} characters; choose a real one"
            )
    return None


def protect_flower_metrics() -> None:
    """Flower's `/metrics` behind its basic auth, like its other pages."""
    from flower.views import monitor
    from tornado import web

    get = monitor.Metrics.get
    if not getattr(get, "_mtf_protected", False):
        protected = web.authenticated(get)
        protected._mtf_protected = True  # type: ignore[attr-defined]
        monitor.Metrics.get = protected


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--address", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", type=int, default=5555, show_default=True)
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
def flower(address: str, port: int, flower_args: tuple[str, ...]) -> None:
    """Run Flower on this app's broker, behind FLOWER_BASIC_AUTH (required).

    Extra arguments go to Flower (e.g. --persistent=True --db=/data/flower)."""
    if any(a.startswith("--basic-auth") or a.startswith("--basic_auth") for a in flower_args):
        fail("pass the credentials in FLOWER_BASIC_AUTH, not on the command line", code=2)
    problem = check_basic_auth(os.environ.get("FLOWER_BASIC_AUTH", ""))
    if problem:
        fail(problem, code=2)
    protect_flower_metrics()
    from celery.bin.celery import main as celery_main

    sys.argv = [
        "celery",
        "-A",
        "mtf",
        "flower",
        f"--address={address}",
        f"--port={port}",
        *flower_args,
    ]
    celery_main()
