"""The scalping cycle as Celery tasks.

    run_cycle(**request)                       validate, take the profile's overlap lock
      └─ chain(resolve_symbols, fan_out)
            fan_out: chord([validate_batch(symbols[i:j]) ...], reduce_run)
                                                summary, persistence, orders, TP/SL, lock release

`validate_symbol` is the per-symbol unit of logic and result; `validate_batch` carries several
symbols in one message (one chord member costs milliseconds of broker and backend work, so
single-symbol members would cost more than the validation itself). Nothing here replaces itself,
so the embedded mode runs the same tasks eagerly.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from celery import Task, chain, chord

from infra import clock
from infra.logging import bind
from infra.models import RunRow, ScheduleRow
from infra.settings import get_settings
from mtf.celery_app import app
from mtf.context import RunContext
from mtf.report import build_response, compact_result, decision_key, symbol_stats
from mtf.request import RunRequestError, parse_request
from mtf.rules.compiler import ProfileError
from mtf.rules.profile import load_profile
from mtf.runs import WAITING, jsonable
from mtf.services import EXCHANGES, Services, services
from mtf.staleness import run_deadline, stale_after_ms
from mtf.summary import compact_summary
from mtf.tasks.lifecycle import (
    BROKER_DOWN,
    DB_DOWN,
    RunGone,
    guard,
    is_db_down,
    outcome_response,
    publish_outcome,
)
from mtf.tasks.orders import place_order
from mtf.tasks.tpsl import recalc_tpsl
from mtf.universe import resolve
from mtf.validator import validate_many
from mtf.validator import validate_symbol as validate_one
from mtf.versions import check_run, entry_version
from providers.bitmart import Credentials as BitmartCredentials
from providers.port import AuthError, ExchangeError
from providers.timeframes import floor_minute, from_ms, to_ms
from tradeentry.ledger import Decision

log = logging.getLogger("mtf.run")
MAX_BATCH = 50


class InvalidRunRequest(ValueError):
    """Raised by run_cycle for a request it refuses (the message says why)."""


#: How long run_cycle keeps retrying while the database is unreachable: long enough to record
#: a lost minute once it is back, not forever.
DB_RETRY_WINDOW_MS = 600_000
INTERNAL_PREFIX = "_mtf_"


def _now_ms() -> int:
    return clock.now_ms()


def _as_of_ms(task: Task, requested: datetime | None, scheduled: datetime | None) -> int:
    if requested is not None:
        return to_ms(requested)
    if scheduled is not None:
        return to_ms(floor_minute(scheduled))
    # An ETA (countdown) names the minute the caller meant, even if a worker picks it up late.
    eta = getattr(task.request, "eta", None)
    moment = datetime.fromisoformat(eta) if isinstance(eta, str) else clock.now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(floor_minute(moment))


def build_context(
    task: Task,
    raw: dict[str, Any],
    *,
    requested_ms: int | None = None,
    run: RunRow | None = None,
    schedule: ScheduleRow | None = None,
) -> RunContext:
    """Validate a raw request into a run context; raises InvalidRunRequest."""
    settings = services().settings
    try:
        request = parse_request(raw)
        profile = load_profile(request.profile or settings.profile)
    except (RunRequestError, ProfileError) as exc:
        raise InvalidRunRequest(str(exc)) from None
    if request.current_tf is not None and request.current_tf not in profile.execution:
        allowed = ", ".join(tf.value for tf in profile.execution)
        raise InvalidRunRequest(
            f"invalid run request: current_tf {request.current_tf} is not an execution timeframe "
            f"of {profile.name}; allowed: {allowed}"
        )
    exchange = request.exchange or settings.exchange
    if exchange not in EXCHANGES:
        raise InvalidRunRequest(
            f"invalid run request: exchange {exchange!r} is not available; "
            f"available: {', '.join(EXCHANGES)}"
        )
    if exchange == "bitmart":
        try:
            BitmartCredentials.from_settings(settings)  # some keys set, not all: refuse now
        except AuthError as exc:
            raise InvalidRunRequest(f"invalid run request: {exc}") from None
    scheduled = run.scheduled_for if run is not None else None
    as_of_ms = _as_of_ms(task, request.as_of, scheduled)
    current_tf = request.current_tf.value if request.current_tf else None
    # Staleness counts from the scheduled time, else from the request. A replay (an explicit
    # as_of) is about the past by design: it is validated and recorded, and its decisions carry
    # no deadline, so `place_order` judges them by their own minute: on a real exchange a past
    # minute is stale and nothing is sent; the paper exchange trades in the replay's time.
    due_ms: int | None
    if scheduled is not None:
        due_ms = to_ms(scheduled)
    elif request.as_of is not None:
        due_ms = None
    else:
        due_ms = requested_ms if requested_ms is not None else _now_ms()
    stale_after = (
        None
        if due_ms is None
        else stale_after_ms(
            settings,
            profile.name,
            current_tf=current_tf,
            override_seconds=schedule.stale_after_seconds if schedule is not None else None,
        )
    )
    return RunContext(
        run_id=str(task.request.id or ""),
        profile=profile.name,
        as_of_ms=as_of_ms,
        dry_run=settings.dry_run if request.dry_run is None else request.dry_run,
        exchange=exchange,
        started_ms=_now_ms(),
        skip_context=request.skip_context,
        current_tf=current_tf,
        validation_mode=request.validation_mode,
        force_run=request.force_run,
        skip_open_state_filter=request.skip_open_state_filter,
        sync_tables=request.sync_tables,
        process_tp_sl=request.process_tp_sl,
        symbols=tuple(request.symbols),
        profile_digest=profile.digest,
        entry_digest=entry_version(profile.name),
        due_ms=due_ms,
        stale_after_ms=stale_after,
        schedule=run.schedule if run is not None else None,
    )


# A refused request is an expected outcome: logged in one line, without a traceback. The task's
# own result is not stored: the run's final response is, under the same id, when it ends.
@app.task(
    name="mtf.run_cycle",
    bind=True,
    throws=(InvalidRunRequest,),
    ignore_result=True,
    store_errors_even_if_ignored=True,
    soft_time_limit=20,
    time_limit=30,
)
def run_cycle(self: Task, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Start one cycle. Keyword arguments are the run request (see `mtf.request`)."""
    if args:
        raise InvalidRunRequest(
            "invalid run request: positional arguments are not accepted; pass parameters by name, "
            'e.g. celery -A mtf call mtf.run_cycle --kwargs \'{"profile": "scalper_micro"}\''
        )
    internal = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith(INTERNAL_PREFIX)}
    requested = internal.get("_mtf_requested_ms") or getattr(self.request, "mtf_requested_ms", None)
    requested_ms = int(requested) if requested else _now_ms()
    try:
        return _start(self, kwargs, requested_ms)
    except BROKER_DOWN as exc:
        if self.request.is_eager:
            raise
        log.warning("run %s: broker unreachable (%s); retrying", self.request.id, exc)
        raise self.retry(
            kwargs={**kwargs, "_mtf_requested_ms": requested_ms}, countdown=2, max_retries=None
        ) from None
    except Exception as exc:
        if self.request.is_eager or not is_db_down(exc):
            raise
        waited = _now_ms() - requested_ms
        if waited > DB_RETRY_WINDOW_MS:
            log.error(
                "run %s given up: the database was unreachable for %d s (%s)",
                self.request.id,
                waited // 1000,
                type(exc).__name__,
            )
            return {"run_id": self.request.id, "status": "lost", "detail": "database unreachable"}
        countdown = min(2 ** min(self.request.retries, 3), 5)
        log.warning(
            "run %s: database unreachable (%s); retrying in %d s",
            self.request.id,
            type(exc).__name__,
            countdown,
        )
        raise self.retry(
            kwargs={**kwargs, "_mtf_requested_ms": requested_ms},
            countdown=countdown,
            max_retries=None,
            exc=exc,
        ) from None


def _start(task: Task, kwargs: dict[str, Any], requested_ms: int) -> dict[str, Any]:
    svc = services()
    run_id = str(task.request.id or "")
    run = svc.runs.get(run_id) if run_id else None
    if run is not None and run.status not in WAITING:
        log.info("run %s is already %s: duplicate delivery ignored", run_id, run.status)
        return {"run_id": run_id, "status": run.status, "duplicate": True}
    schedule = svc.runs.schedule(run.schedule) if run is not None and run.schedule else None
    try:
        ctx = build_context(task, kwargs, requested_ms=requested_ms, run=run, schedule=schedule)
    except InvalidRunRequest as exc:
        if run_id:  # recorded under what the request would have run with
            named = kwargs.get("profile") or kwargs.get("mtf_profile")
            svc.runs.record_outcome(
                run_id,
                profile=str(named or svc.settings.profile)[:80],
                status="rejected",
                detail=str(exc),
                request=kwargs,
                dry_run=True,
                exchange=str(kwargs.get("exchange") or svc.settings.exchange)[:20],
                as_of_ms=None,
            )
        log.error("run rejected: %s", exc)
        raise

    with bind(run_id=ctx.run_id, profile=ctx.profile):
        age = ctx.staleness(_now_ms())
        if age is not None:
            detail = (
                f"stale before it started: {age / 1000:.1f} s after its time "
                f"(stale after {(ctx.stale_after_ms or 0) / 1000:.0f} s); nothing validated, "
                "no entry"
            )
            return _end_early(svc, ctx, kwargs, "stale", detail)
        lock = svc.run_lock(ctx.profile)
        acquired, holder = lock.acquire(ctx.run_id)
        if not acquired and svc.runs.reap():
            acquired, holder = lock.acquire(ctx.run_id)  # the holder was a dead run
        if not acquired:
            assert holder is not None
            detail = (
                f"run {holder.holder} of {ctx.profile} still holds the overlap lease "
                f"(since {holder.acquired_at:%H:%M:%S}, renewed until {holder.expires_at:%H:%M:%S})"
            )
            if schedule is not None and schedule.overlap == "buffer_one":
                waiting = svc.runs.buffered(ctx.profile)
                if waiting is None or waiting.run_id == ctx.run_id:
                    svc.runs.buffer(ctx.run_id, f"buffered: {detail}")
                    if not lock.acquire(ctx.run_id)[0]:  # the holder may just have finished
                        log.info("run buffered: %s", detail)
                        return {"run_id": ctx.run_id, "status": "buffered", "detail": detail}
                else:
                    return _end_early(
                        svc,
                        ctx,
                        kwargs,
                        "skipped",
                        f"{detail}; run {waiting.run_id} already waits in the buffer",
                    )
            else:
                return _end_early(svc, ctx, kwargs, "skipped", detail)
        deadline = (
            run.deadline_at
            if run is not None and run.deadline_at is not None
            else run_deadline(
                svc.settings,
                from_ms(ctx.due_ms if ctx.due_ms is not None else ctx.started_ms),
                ctx.stale_after_ms,
            )
        )
        lateness = None
        if run is not None and run.scheduled_for is not None and schedule is not None:
            intended = to_ms(run.scheduled_for) + int(schedule.offset_seconds * 1000)
            lateness = ctx.started_ms - intended
        if not svc.runs.start(ctx, kwargs, deadline=deadline, lateness_ms=lateness):
            log.info("run %s was started by another delivery", ctx.run_id)
            return {"run_id": ctx.run_id, "status": "running", "duplicate": True}
        data = ctx.to_dict()
        try:
            chain(resolve_symbols.s(data), fan_out.s(data)).apply_async(
                link_error=[run_failed.s(data)]
            )
        except BROKER_DOWN:
            # Nothing was sent: the run waits again and frees its lease, so the retry starts
            # it instead of taking it for a duplicate of itself (which left it `running`,
            # holding the profile's lease, until the reaper abandoned it).
            svc.runs.unstart(ctx.run_id)
            lock.release(ctx.run_id)
            raise
        return {
            "run_id": ctx.run_id,
            "status": "started",
            "profile": ctx.profile,
            "as_of": ctx.as_of_iso,
            "dry_run": ctx.dry_run,
            "exchange": ctx.exchange,
        }


def _end_early(
    svc: Services, ctx: RunContext, request: dict[str, Any], status: str, detail: str
) -> dict[str, Any]:
    """A run that ends before validating: recorded, its outcome published."""
    svc.runs.record_outcome(
        ctx.run_id,
        profile=ctx.profile,
        status=status,
        detail=detail,
        request=request,
        dry_run=ctx.dry_run,
        exchange=ctx.exchange,
        as_of_ms=ctx.as_of_ms,
    )
    log.warning("run %s: %s", status, detail)
    response = outcome_response(ctx, status, detail)
    publish_outcome(app, ctx.run_id, status, response)
    return response


def start_buffered(svc: Services, profile: str) -> str | None:
    """Send the run of `profile` waiting in the overlap buffer, once the lease is free."""
    row = svc.runs.release_buffered(profile)
    if row is None:
        return None
    run_cycle.apply_async(kwargs=dict(row.request or {}), task_id=row.run_id, queue="mtf")
    log.info("run %s leaves the overlap buffer", row.run_id)
    return row.run_id


# Steps after run_cycle retry while the database is unreachable, within the run's life (the
# reaper accounts for the run if the outage outlasts it).
DB_RETRY: dict[str, Any] = {
    "autoretry_for": DB_DOWN,
    "retry_backoff": 1,
    "retry_backoff_max": 8,
    "retry_jitter": False,
    "max_retries": 6,
}
# Steps that publish (the chord, the orders) also retry a refused publish: each is idempotent
# (batch ids are fixed, the reducer rewrites the same rows, orders are unique per decision).
INFRA_RETRY: dict[str, Any] = {
    **DB_RETRY,
    "autoretry_for": (*DB_DOWN, *BROKER_DOWN),
}


@app.task(
    name="mtf.resolve_symbols", ignore_result=True, soft_time_limit=50, time_limit=60, **DB_RETRY
)
def resolve_symbols(data: dict[str, Any]) -> dict[str, Any]:
    """The symbols to validate: given ones, or the tradable universe, minus exclusions."""
    ctx = RunContext.from_dict(data)
    svc = services()
    with bind(run_id=ctx.run_id, profile=ctx.profile):
        try:
            guard(svc, ctx)
        except RunGone as gone:
            return {"gone": str(gone), "symbols": []}
        check_run(ctx)
        started = time.perf_counter()
        resolved = resolve(ctx, svc)
        resolved["resolve_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return resolved


def batch_size(count: int, configured: int = 0, parallelism: int = 2) -> int:
    """Symbols per validation message: at least one message per worker process, and at most
    MAX_BATCH symbols in one, so messages are big enough to amortise their cost (a few ms of
    broker and backend work each) and many enough to balance the processes."""
    if configured:
        return configured
    if count <= 0:
        return 1
    batches = max(math.ceil(count / MAX_BATCH), min(parallelism, count))
    return math.ceil(count / batches)


def _batches(symbols: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(symbols), size):
        yield symbols[i : i + size]


def batch_ids(run_id: str, count: int) -> list[str]:
    """Task ids of a run's validation batches, known in advance so the reducer can drop their
    results from the backend once it has them."""
    return [f"{run_id}-v{i:04d}" for i in range(count)]


@app.task(name="mtf.fan_out", bind=True, ignore_result=True, **INFRA_RETRY)
def fan_out(self: Task, resolved: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Start the chord of validation batches whose reducer is `reduce_run`."""
    if resolved.get("gone"):
        log.info("run %s: %s", data["run_id"], resolved["gone"])
        return {"batches": 0, "gone": resolved["gone"]}
    ctx = RunContext.from_dict(data)
    svc = services()
    try:
        guard(svc, ctx)
    except RunGone as gone:
        return {"batches": 0, "gone": str(gone)}
    check_run(ctx)
    age = ctx.staleness(_now_ms())
    if age is not None:
        _end_stale_before_validation(svc, ctx, age)
        return {"batches": 0, "stale": True}
    symbols: list[str] = resolved["symbols"]
    settings = svc.settings
    size = batch_size(len(symbols), settings.validate_batch_size, settings.validate_parallelism)
    batches = list(_batches(symbols, size))
    ids = batch_ids(data["run_id"], len(batches))
    # Members and reducer need neither the requested nor the resolved symbol list: keep every
    # message small.
    data = {**data, "symbols": []}
    summary = {k: v for k, v in resolved.items() if k != "symbols"}
    summary.update(
        symbol_count=len(symbols), dispatched_ms=_now_ms(), batch_size=size, batch_ids=ids
    )
    header = [
        validate_batch.s(batch, data).set(task_id=task_id)
        for batch, task_id in zip(batches, ids, strict=True)
    ]
    # The errback as a list: a chord hands `link_error` to its error path as a list of
    # signatures, and a bare signature there is read as a list of its keys (the worker then
    # receives a task named 'task' and the run is never marked failed).
    body = reduce_run.s(data, summary)
    body.link_error(run_failed.s(data))
    if not header:
        reduce_run.apply_async(([], data, summary), link_error=[run_failed.s(data)])
        return {"batches": 0, "symbols": 0}
    chord(header)(body)
    return {"batches": len(header), "symbols": len(symbols), "batch_size": size}


def _end_stale_before_validation(svc: Services, ctx: RunContext, age_ms: int) -> None:
    detail = (
        f"stale before validation: {age_ms / 1000:.1f} s after its time (stale after "
        f"{(ctx.stale_after_ms or 0) / 1000:.0f} s); nothing validated, no entry"
    )
    response = outcome_response(ctx, "stale", detail)
    svc.run_lock(ctx.profile).release(ctx.run_id)
    status = svc.runs.finish(ctx, response, status="stale").status
    svc.runs.set_detail(ctx.run_id, detail)
    log.warning("run %s: %s", status, detail)
    start_buffered(svc, ctx.profile)
    publish_outcome(app, ctx.run_id, status, response)


def spread_lookup(svc: Services, ctx: RunContext) -> Callable[[str], float | None]:
    """Top-of-book spread in bps from the run's exchange (None if it cannot be read)."""

    def spread(symbol: str) -> float | None:
        try:
            return (
                svc.exchange(ctx.exchange, clock=lambda: ctx.as_of_ms)
                .top_of_book(symbol)
                .spread_bps
            )
        except ExchangeError:
            log.warning("no top of book for %s on %s", symbol, ctx.exchange, exc_info=True)
            return None

    return spread


@app.task(name="mtf.validate_symbol")
def validate_symbol(symbol: str, data: dict[str, Any]) -> dict[str, Any]:
    """Decide one symbol (READY / INVALID / SKIPPED / ERROR) as of the run's minute."""
    ctx = RunContext.from_dict(data)
    check_run(ctx)
    svc = services()
    return validate_one(symbol, ctx, svc.market, spread=spread_lookup(svc, ctx))


_LIMIT = get_settings().validate_time_limit_seconds


@app.task(
    name="mtf.validate_batch",
    track_started=False,  # a STARTED write per batch costs a backend round trip for no reader
    soft_time_limit=max(_LIMIT - 10, 1),
    time_limit=_LIMIT,
    **DB_RETRY,
)
def validate_batch(symbols: list[str], data: dict[str, Any]) -> list[dict[str, Any]]:
    """`validate_symbol` for several symbols in one message; each keeps its own result.

    The full results (with every rule's trace) are saved here, in parallel across workers;
    the reducer only receives their compact form. Each batch renews the run's lease; a batch
    of a run that is over, or already stale, validates nothing."""
    ctx = RunContext.from_dict(data)
    svc = services()
    try:
        guard(svc, ctx)
    except RunGone:
        return []
    check_run(ctx)
    if ctx.staleness(_now_ms()) is not None:
        return [
            {"symbol": s, "status": "SKIPPED", "reason": "stale_run", "detail": "run is stale"}
            for s in symbols
        ]
    results = validate_many(symbols, ctx, svc.market, spread_lookup(svc, ctx))
    svc.runs.save_results(ctx.run_id, results)
    return [compact_result(r) for r in results]


def _decision(ctx: RunContext, result: dict[str, Any]) -> Decision:
    return Decision(
        decision_key=decision_key(
            result["symbol"], result["execution_tf"], result["candle_open_ms"]
        ),
        run_id=ctx.run_id,
        profile=ctx.profile,
        symbol=result["symbol"],
        side=result["side"],
        timeframe=result["execution_tf"],
        candle_open_ms=int(result["candle_open_ms"]),
        exchange=ctx.exchange,
        dry_run=ctx.dry_run,
        as_of_ms=ctx.as_of_ms,
        entry_digest=ctx.entry_digest or None,
        deadline_ms=ctx.entry_deadline_ms,
    )


def tpsl_due(ctx: RunContext, every_minutes: int) -> bool:
    minute = (ctx.as_of_ms // 60_000) % 60
    return ctx.process_tp_sl and minute % every_minutes == 0


@app.task(
    name="mtf.reduce_run",
    bind=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
    **INFRA_RETRY,
)
def reduce_run(
    self: Task, batches: list[list[dict[str, Any]]], data: dict[str, Any], resolved: dict[str, Any]
) -> dict[str, Any]:
    """Build the run response, persist it, enqueue orders and the TP/SL sweep, free the lease.

    The response is the run's record in the database and its result under the run id in the
    result backend (what `celery call` printed); the batch results it carried are dropped.
    A run past its stale-after age places nothing: its READY symbols are recorded `stale`.
    The TP/SL sweep is never held back, whatever became of the run."""
    ctx = RunContext.from_dict(data)
    svc = services()
    started = time.perf_counter()
    with bind(run_id=ctx.run_id, profile=ctx.profile):
        results = [r for batch in batches for r in batch]
        profile = check_run(ctx)
        ready = [r for r in results if r["status"] == "READY"]
        age = ctx.staleness(_now_ms())
        stale: dict[str, Any] | None = None
        if age is not None:
            stale = {
                "age_s": round(age / 1000, 3),
                "stale_after_s": round((ctx.stale_after_ms or 0) / 1000, 3),
                "symbols": sorted(r["symbol"] for r in ready),
            }
            for r in ready:
                r["status"], r["reason"] = "STALE", "stale"
                r["detail"] = f"READY, but the run was {age / 1000:.1f} s old: no entry"
            ready = []
        decisions = [_decision(ctx, r) for r in ready]
        orders = [
            {
                "symbol": d.symbol,
                "side": d.side,
                "timeframe": d.timeframe,
                "decision_key": d.decision_key,
            }
            for d in decisions
        ]
        blocked = resolved.get("orders_blocked")
        if blocked:
            orders = []
        tpsl = None
        if tpsl_due(ctx, svc.settings.tpsl_every_minutes):
            tpsl = {"enqueued": True, "every_minutes": svc.settings.tpsl_every_minutes}
        dispatched = resolved.get("dispatched_ms") or ctx.started_ms
        performance = {
            "resolve_ms": resolved.get("resolve_ms", 0.0),
            "validate_ms": round(_now_ms() - dispatched, 3),
            "batches": len(resolved.get("batch_ids", [])),
            "per_symbol": symbol_stats(results),
        }
        response = build_response(
            ctx,
            results,
            resolved,
            timeframes=[tf.value for tf in profile.timeframes],
            performance=performance,
            orders=orders,
            tpsl=tpsl,
        )
        if blocked:
            response["status"] = "partial_success"
        if stale is not None:
            response["stale"] = stale
            response["message"] = (
                f"{ctx.profile} run as of {ctx.as_of_iso} was {stale['age_s']} s old at its end "
                f"(stale after {stale['stale_after_s']} s): "
                f"{len(stale['symbols'])} READY symbol(s) recorded stale, no entry"
            )
        performance["reduce_ms"] = round((time.perf_counter() - started) * 1000, 3)
        performance["total_ms"] = round(_now_ms() - ctx.started_ms, 3)
        response["run"]["duration_s"] = round(performance["total_ms"] / 1000, 3)
        # Free the profile before recording the run, so whoever sees it recorded can start the
        # next one.
        svc.run_lock(ctx.profile).release(ctx.run_id)
        ended = svc.runs.finish(ctx, response, status="stale" if stale else "completed")
        status = ended.status
        if ended.dispatched:
            log.warning(
                "run %s had already ended %s and sent what follows: nothing sent again",
                ctx.run_id,
                status,
            )
            return response
        if stale is not None and status == "stale":  # not a completed run seen late again
            svc.runs.mark_stale_results(ctx.run_id, stale["symbols"], response["message"])
        if status != "completed" and decisions and not blocked:
            log.warning(
                "run %s is %s: its %d decision(s) are not placed",
                ctx.run_id,
                status,
                len(decisions),
            )
        for decision in decisions if status == "completed" and not blocked else []:
            place_order.apply_async(kwargs={"decision": decision.to_dict()}, queue="orders")
        if tpsl:
            offset = ctx.as_of_ms - _now_ms() if ctx.exchange == "paper" else 0
            recalc_tpsl.apply_async(
                kwargs={
                    "exchange": ctx.exchange,
                    "run_id": ctx.run_id,
                    "clock_offset_ms": int(offset),
                },
                queue="tpsl",
            )
        if not self.request.is_eager:
            for task_id in resolved.get("batch_ids", []):
                self.backend.forget(task_id)
        start_buffered(svc, ctx.profile)
        publish_outcome(app, ctx.run_id, status, jsonable(response))
        svc.runs.mark_dispatched(ctx.run_id)
        log.info("%s", compact_summary(response))
        return response


@app.task(name="mtf.run_failed")
def run_failed(request: Any, exc: BaseException, traceback: Any, data: dict[str, Any]) -> None:
    """Errback of the cycle: mark the run failed and free the overlap lease. With the database
    unreachable the run stays open for the reaper, which ends it at its deadline."""
    ctx = RunContext.from_dict(data)
    detail = f"{type(exc).__name__}: {exc}"
    try:
        svc = services()
        failed = svc.runs.fail(ctx.run_id, detail)
        svc.run_lock(ctx.profile).release(ctx.run_id)
        start_buffered(svc, ctx.profile)
    except Exception as err:
        if not is_db_down(err):
            raise
        log.error(
            "run %s failed (%s) while the database is unreachable: the reaper ends it at its "
            "deadline",
            ctx.run_id,
            detail,
        )
        return
    if failed:
        log.error("run %s failed: %s", ctx.run_id, detail)
        publish_outcome(app, ctx.run_id, "failed", outcome_response(ctx, "failed", detail))
