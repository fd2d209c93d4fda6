"""A run's life through the real tasks (eagerly, SQLite and PostgreSQL): staleness at every
step, scheduled runs, duplicate deliveries, the overlap buffer, the reaper and the errback."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from infra import clock
from infra.db import engine_session
from infra.models import OrderRow, PaperOrderRow, RunResultRow, RunRow
from mtf.context import RunContext
from mtf.summary import compact_summary
from schedules.store import ScheduleSpec, ScheduleStore
from tests.mtf.test_pipeline_embedded import profiles_dir, run, stored_response

__all__ = ["profiles_dir"]


def orders(svc: Any) -> list[OrderRow]:
    with engine_session(svc.engine) as s:
        return list(s.scalars(select(OrderRow)))


def results(svc: Any, run_id: str) -> list[RunResultRow]:
    with engine_session(svc.engine) as s:
        return list(s.scalars(select(RunResultRow).where(RunResultRow.run_id == run_id)))


def test_a_run_stale_before_it_starts_validates_and_places_nothing(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    svc = make_services(db_url, synthetic_symbols=3)
    out = run(profile="always_long", _mtf_requested_ms=clock.now_ms() - 6 * 60_000)
    assert out["status"] == "stale" and "stale before it started" in out["detail"]
    row = svc.runs.get(out["run_id"])
    assert row.status == "stale" and row.finished_at is not None
    assert results(svc, out["run_id"]) == [] and orders(svc) == []
    assert svc.run_lock("always_long").holder() is None, "a stale run takes no lease"


def test_a_run_gone_stale_by_its_reduce_records_ready_symbols_stale(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = make_services(db_url, synthetic_symbols=3)
    import mtf.tasks.cycle as cycle

    real = cycle.validate_many

    def slow_validation(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        clock.set_offset_ms(clock.offset_ms() + 3 * 60_000)  # the validation "took" 3 minutes
        return out

    monkeypatch.setattr(cycle, "validate_many", slow_validation)
    try:
        out = run(profile="always_long")
    finally:
        clock.set_offset_ms(0)
    row = svc.runs.get(out["run_id"])
    response = stored_response(svc, out["run_id"])
    assert row.status == "stale", row.detail
    stale = response["stale"]["symbols"]
    assert stale, "the batch validated before the clock moved had READY symbols"
    assert response["stale"]["age_s"] > response["stale"]["stale_after_s"] == 30
    assert response["orders"]["count"] == 0 and orders(svc) == []
    # READY symbols are recorded stale; the batch that started after the deadline validated
    # nothing
    statuses = {r.symbol: (r.status, r.reason) for r in results(svc, out["run_id"])}
    assert {statuses[s] for s in stale} == {("STALE", "stale")}
    others = {v for k, v in statuses.items() if k not in stale}
    assert others <= {("SKIPPED", "stale_run")}
    assert "STALE:" in compact_summary(response)


def test_place_order_refuses_a_decision_past_its_deadline(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    from mtf.tasks.orders import place_order

    svc = make_services(db_url, synthetic_symbols=2)
    minute = clock.now_ms() // 60_000 * 60_000

    def decision(symbol: str, deadline: int) -> dict[str, Any]:
        return {
            "decision_key": f"{symbol}:1m:{minute - 60_000}",
            "run_id": None,
            "profile": "always_long",
            "symbol": symbol,
            "side": "long",
            "timeframe": "1m",
            "candle_open_ms": minute - 60_000,
            "exchange": "paper",
            "dry_run": False,
            "as_of_ms": minute,
            "deadline_ms": deadline,
        }

    run(profile="always_long", dry_run=True)  # contracts and candles exist from here on
    late = place_order.apply(kwargs={"decision": decision("BTCUSDT", clock.now_ms() - 1)})
    assert late.result["status"] == "stale", late.result
    assert "past its deadline" in late.result["detail"]
    fresh = place_order.apply(kwargs={"decision": decision("ETHUSDT", clock.now_ms() + 60_000)})
    assert fresh.result["status"] in ("submitted", "filled"), fresh.result
    with engine_session(svc.engine) as s:
        sent = {r.client_order_id for r in s.scalars(select(PaperOrderRow))}
        ledger = {r.symbol: r.status for r in s.scalars(select(OrderRow).where(~OrderRow.dry_run))}
    assert ledger == {"BTCUSDT": "stale", "ETHUSDT": fresh.result["status"]}
    assert len([c for c in sent if c]) >= 1
    assert not any("BTCUSDT" in str(c) for c in sent)


def _schedule(svc: Any, name: str = "micro", **kw: Any) -> ScheduleStore:
    store = ScheduleStore(svc.engine)
    store.create(ScheduleSpec(name=name, profile="always_long", offset_seconds=0, **kw), actor="t")
    return store


def _claim(svc: Any, schedule: str = "micro", seconds_ago: float = 1.0) -> str:
    run_id = str(uuid.uuid4())
    scheduled = clock.now() - timedelta(seconds=seconds_ago)
    assert svc.runs.claim_scheduled(
        run_id,
        schedule=schedule,
        scheduled_for=scheduled,
        profile="always_long",
        request={"profile": "always_long"},
        deadline=scheduled + timedelta(seconds=45),
    )
    svc.runs.mark_queued(run_id)
    return run_id


def test_a_scheduled_run_completes_once_whatever_the_deliveries(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    from mtf.tasks.cycle import run_cycle

    svc = make_services(db_url, synthetic_symbols=2)
    _schedule(svc)
    run_id = _claim(svc)
    first = run_cycle.apply(kwargs={"profile": "always_long"}, task_id=run_id)
    assert first.result["status"] == "started", first.result
    row = svc.runs.get(run_id)
    assert row.status == "completed" and row.schedule == "micro"
    assert row.lateness_ms is not None and 0 < row.lateness_ms < 30_000
    assert row.as_of == row.scheduled_for.replace(second=0, microsecond=0)
    placed = len(orders(svc))
    again = run_cycle.apply(kwargs={"profile": "always_long"}, task_id=run_id)
    assert again.result == {"run_id": run_id, "status": "completed", "duplicate": True}
    assert len(orders(svc)) == placed


def test_buffer_one_waits_for_the_holder_and_keeps_one(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    from mtf.tasks.cycle import run_cycle, start_buffered

    svc = make_services(db_url, synthetic_symbols=2)
    _schedule(svc, overlap="buffer_one")
    lock = svc.run_lock("always_long")
    assert lock.acquire("holder")[0]
    first, second = _claim(svc, seconds_ago=2), _claim(svc, seconds_ago=1)
    assert run_cycle.apply(kwargs={"profile": "always_long"}, task_id=first).result["status"] == (
        "buffered"
    )
    out = run_cycle.apply(kwargs={"profile": "always_long"}, task_id=second).result
    assert out["status"] == "skipped" and "already waits in the buffer" in out["detail"]
    assert svc.runs.get(first).status == "buffered"
    # the holder ends: the buffered run starts (eagerly here)
    lock.release("holder")
    assert start_buffered(svc, "always_long") == first
    assert svc.runs.get(first).status == "completed"
    assert lock.holder() is None


def test_the_reaper_ends_overdue_runs_frees_their_lease_and_pauses_on_failure(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    svc = make_services(db_url, synthetic_symbols=2)
    store = _schedule(svc, pause_on_failure=True)
    stuck, lost = _claim(svc, seconds_ago=100), _claim(svc, seconds_ago=50)
    ctx = RunContext(
        run_id=stuck,
        profile="always_long",
        as_of_ms=clock.now_ms(),
        dry_run=True,
        exchange="paper",
        started_ms=clock.now_ms(),
        schedule="micro",
    )
    assert svc.runs.start(ctx, {}, deadline=clock.now() - timedelta(seconds=1))
    assert svc.run_lock("always_long").acquire(stuck)[0]
    with engine_session(svc.engine) as s:
        s.get(RunRow, lost).deadline_at = clock.now() - timedelta(seconds=1)  # type: ignore[union-attr]
    reaped = {r.run_id: r for r in svc.runs.reap()}
    assert reaped[stuck].status == "abandoned" and reaped[lost].status == "missed"
    assert svc.runs.get(stuck).status == "abandoned"
    assert "not started by its deadline" in (svc.runs.get(lost).detail or "")
    assert svc.run_lock("always_long").holder() is None, "the dead run's lease is freed"
    schedule = store.require("micro")
    assert schedule.paused and stuck in (schedule.note or "")
    assert store.history("micro")[0].action == "paused"
    assert svc.runs.reap() == [], "idempotent"


def test_a_chord_error_reaches_the_errback_and_fails_the_run(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    """A chord member killed by its hard time limit fails the chord; the errback must be a list
    of signatures there, or the worker receives a task named 'task' and the run stays running."""
    from celery.backends.cache import CacheBackend
    from celery.exceptions import ChordError

    from mtf.tasks.cycle import reduce_run, run_failed

    svc = make_services(db_url, synthetic_symbols=2)
    now = clock.now_ms()
    ctx = RunContext(
        run_id=str(uuid.uuid4()),
        profile="always_long",
        as_of_ms=now,
        dry_run=True,
        exchange="paper",
        started_ms=now,
    )
    svc.runs.start(ctx, {})
    assert svc.run_lock("always_long").acquire(ctx.run_id)[0]
    body = reduce_run.s(ctx.to_dict(), {})
    body.link_error(run_failed.s(ctx.to_dict()))  # as fan_out builds it
    assert isinstance(body.options["link_error"], list)
    backend = CacheBackend(app=eager_app, backend="memory")
    try:  # the backend reports the error from the current exception, as in a worker
        raise ChordError("Dependency x raised TimeLimitExceeded('Time limit (60s) exceeded')")
    except ChordError as exc:
        backend.chord_error_from_stack(body, exc)
    row = svc.runs.get(ctx.run_id)
    assert row.status == "failed" and "TimeLimitExceeded" in (row.detail or "")
    assert svc.run_lock("always_long").holder() is None


def test_a_run_whose_chain_the_broker_refused_starts_on_its_retry(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker refuses the chain after the run was recorded `running`: the retry (same
    task id) must start the run, not drop it as a duplicate while it holds the lease."""
    from kombu.exceptions import OperationalError as KombuOperationalError

    import mtf.tasks.cycle as cycle

    svc = make_services(db_url, synthetic_symbols=2)
    _schedule(svc)
    run_id = _claim(svc)
    real_chain = cycle.chain

    class RefusedChain:
        def __init__(self, *args: Any) -> None:
            pass

        def apply_async(self, **kwargs: Any) -> None:
            raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(cycle, "chain", RefusedChain)
    with pytest.raises(KombuOperationalError):
        cycle.run_cycle.apply(kwargs={"profile": "always_long"}, task_id=run_id, throw=True)
    assert svc.runs.get(run_id).status == "queued"
    assert svc.run_lock("always_long").holder() is None
    monkeypatch.setattr(cycle, "chain", real_chain)
    retried = cycle.run_cycle.apply(kwargs={"profile": "always_long"}, task_id=run_id)
    assert retried.result["status"] == "started", retried.result
    assert svc.runs.get(run_id).status == "completed"


def test_a_late_redelivered_reducer_changes_nothing_and_sends_nothing_again(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reducer's message is delivered again minutes after the run completed (its worker
    died before the ack): the run stays completed, and no order or TP/SL sweep is sent again."""
    import mtf.tasks.cycle as cycle

    svc = make_services(db_url, synthetic_symbols=2, tpsl_every_minutes=1)
    real_build = cycle.build_response
    seen: dict[str, Any] = {}

    def build_response(ctx: RunContext, results: Any, resolved: Any, **kwargs: Any) -> Any:
        seen.update(data=ctx.to_dict(), batches=[list(results)], resolved=dict(resolved))
        return real_build(ctx, results, resolved, **kwargs)

    monkeypatch.setattr(cycle, "build_response", build_response)
    out = run(profile="always_long")
    before = svc.runs.get(out["run_id"])
    assert before.status == "completed"
    placed = len(orders(svc))
    assert placed, "the completed run placed its READY decisions"
    sent: list[str] = []
    monkeypatch.setattr(cycle.place_order, "apply_async", lambda *a, **k: sent.append("order"))
    monkeypatch.setattr(cycle.recalc_tpsl, "apply_async", lambda *a, **k: sent.append("tpsl"))
    clock.set_offset_ms(clock.offset_ms() + 3 * 60_000)  # redelivered 3 minutes later: stale
    try:
        again = cycle.reduce_run.apply(args=(seen["batches"], seen["data"], seen["resolved"]))
    finally:
        clock.set_offset_ms(0)
    assert again.successful(), again.result
    after = svc.runs.get(out["run_id"])
    assert (after.status, after.finished_at, after.response) == (
        "completed",
        before.finished_at,
        before.response,
    )
    assert {r.status for r in results(svc, out["run_id"])} != {"STALE"}
    assert sent == [] and len(orders(svc)) == placed


def test_a_reducer_retried_after_a_refused_order_still_sends_it(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run is recorded completed, then the broker refuses its order: the retry of the
    reducer finds the run ended but not yet followed up, and sends the order."""
    from kombu.exceptions import OperationalError as KombuOperationalError

    import mtf.tasks.cycle as cycle

    svc = make_services(db_url, synthetic_symbols=1)
    sent: list[str] = []

    def refuse_once(*args: Any, kwargs: dict[str, Any], **options: Any) -> None:
        if not sent:
            sent.append("refused")
            raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379")
        sent.append(kwargs["decision"]["symbol"])

    monkeypatch.setattr(cycle.place_order, "apply_async", refuse_once)
    out = run(profile="always_long")
    row = svc.runs.get(out["run_id"])
    assert row.status == "completed" and row.dispatched_at is not None
    assert sent == ["refused", "BTCUSDT"]
