"""Worker-side bookkeeping of the multiprocess metrics: a pool process that exits drops its live
gauges (its counters stay in the folder, so totals never go down)."""

from __future__ import annotations

from typing import Any

from celery import signals

from infra import telemetry


@signals.worker_process_shutdown.connect
def _pool_process_exits(**_: Any) -> None:
    telemetry.process_exited()


@signals.worker_shutdown.connect
def _worker_exits(**_: Any) -> None:
    telemetry.process_exited()
