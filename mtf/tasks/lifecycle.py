"""What every step of a run checks and how a run ends, shared by the cycle tasks.

* `guard` renews the run's overlap lease (the run's heartbeat) and stops a run that is over:
  ended by the reaper, or whose lease was taken by another run after it stopped renewing.
* `publish_outcome` puts a run's final response in the result backend under the run id, so the
  id `celery call` prints leads to it (`celery -A mtf result <id>`, `mtf runs wait <id>`).
* `outcome_response` is the response of a run that ended before validating anything.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, states
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from infra import clock
from mtf.context import RunContext
from mtf.services import Services

log = logging.getLogger("mtf.run")

#: The database is unreachable (the step retries; the reaper accounts for what is lost).
DB_DOWN: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
#: The broker refused a publish (Redis away): the step retries with its message.
BROKER_DOWN: tuple[type[Exception], ...] = (KombuOperationalError,)

#: Run statuses stored as a task failure in the result backend.
FAILED = ("failed", "abandoned", "rejected")


class RunGone(Exception):
    """The run is over (or lost its lease): this step must do nothing more."""


class RunOutcomeError(Exception):
    """A run ended without completing (stored as the failure of its task id)."""


def is_db_down(exc: BaseException) -> bool:
    return isinstance(exc, DB_DOWN) or (
        isinstance(exc, DBAPIError) and bool(getattr(exc, "connection_invalidated", False))
    )


def guard(svc: Services, ctx: RunContext) -> None:
    """Renew the run's overlap lease; raise `RunGone` if the run must stop."""
    lock = svc.run_lock(ctx.profile)
    if lock.renew(ctx.run_id):
        return
    row = svc.runs.get(ctx.run_id)
    if row is not None and row.status != "running":
        raise RunGone(f"run {ctx.run_id} is already {row.status}")
    # The lease expired without being taken (renewals were held up, e.g. by a database
    # outage): take it again. Held by another run: this one lost its exclusivity and stops.
    acquired, holder = lock.acquire(ctx.run_id)
    if acquired:
        log.warning("run %s took its overlap lease again after it expired", ctx.run_id)
        return
    detail = (
        f"lost its overlap lease to run {holder.holder if holder else '?'} after it stopped "
        "renewing it; nothing more is placed for it"
    )
    svc.runs.fail(ctx.run_id, detail, status="abandoned")
    raise RunGone(detail)


def outcome_response(ctx: RunContext, status: str, detail: str) -> dict[str, Any]:
    """The response of a run that ended before validating anything (stale, skipped...)."""
    return {
        "status": status,
        "message": detail,
        "detail": detail,
        "run_id": ctx.run_id,
        "profile": ctx.profile,
        "as_of": ctx.as_of_iso,
        "run": {
            "run_id": ctx.run_id,
            "profile": ctx.profile,
            "as_of": ctx.as_of_iso,
            "dry_run": ctx.dry_run,
            "exchange": ctx.exchange,
            "schedule": ctx.schedule,
            "symbols_requested": len(ctx.symbols),
            "symbols_processed": 0,
            "ready": 0,
            "invalid": 0,
            "skipped": 0,
            "errors": 0,
            "ready_pct": 0.0,
            "duration_s": round((clock.now_ms() - ctx.started_ms) / 1000, 3),
        },
        "orders": {"count": 0, "enqueued": []},
    }


def publish_outcome(app: Celery, run_id: str, status: str, response: dict[str, Any]) -> None:
    """Store the run's final response under its id in the result backend (best effort: the
    database keeps it whatever happens here)."""
    if not run_id or app.conf.task_always_eager:
        return
    backend = app.backend
    if type(backend).__name__ == "DisabledBackend":
        return
    # One attempt, without the backend's retry loop: a Redis outage must not hold a worker
    # process (or beat) for the length of the retries over a convenience copy.
    try:
        if status in FAILED:
            message = response.get("message") or response.get("detail") or status
            backend._store_result(
                run_id, RunOutcomeError(f"run {status}: {message}"), states.FAILURE
            )
        else:
            backend._store_result(run_id, response, states.SUCCESS)
    except Exception as exc:  # the result backend is a convenience, never a reason to fail
        log.warning(
            "run %s: outcome not stored in the result backend (%s)", run_id, type(exc).__name__
        )
