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
from sqlalchemy.exc import OperationalError

from infra import clock
from infra.logging import bind
from mtf.celery_app import app
from mtf.context import RunContext
from mtf.report import build_response, compact_result, decision_key, symbol_stats
from mtf.request import RunRequestError, parse_request
from mtf.rules.compiler import ProfileError
from mtf.rules.profile import load_profile
from mtf.services import EXCHANGES, Services, services
from mtf.summary import compact_summary
from mtf.tasks.orders import place_order
from mtf.tasks.tpsl import recalc_tpsl
from mtf.universe import resolve
from mtf.validator import validate_many
from mtf.validator import validate_symbol as validate_one
from mtf.versions import check_run, entry_version
from providers.bitmart import Credentials as BitmartCredentials
from providers.port import AuthError, ExchangeError
from providers.timeframes import floor_minute, to_ms
from tradeentry.ledger import Decision

log = logging.getLogger("mtf.run")
MAX_BATCH = 50


class InvalidRunRequest(ValueError):
    """Raised by run_cycle for a request it refuses (the message says why)."""


def _now_ms() -> int:
    return clock.now_ms()


def _as_of_ms(task: Task, requested: datetime | None) -> int:
    if requested is not None:
        return to_ms(requested)
    # A beat-sent cycle carries an ETA a few seconds after its minute: decide as of that minute
    # even if the worker picks the message up late.
    eta = getattr(task.request, "eta", None)
    moment = datetime.fromisoformat(eta) if isinstance(eta, str) else clock.now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(floor_minute(moment))


def build_context(task: Task, raw: dict[str, Any]) -> RunContext:
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
    return RunContext(
        run_id=str(task.request.id or ""),
        profile=profile.name,
        as_of_ms=_as_of_ms(task, request.as_of),
        dry_run=settings.dry_run if request.dry_run is None else request.dry_run,
        exchange=exchange,
        started_ms=_now_ms(),
        skip_context=request.skip_context,
        current_tf=request.current_tf.value if request.current_tf else None,
        validation_mode=request.validation_mode,
        force_run=request.force_run,
        skip_open_state_filter=request.skip_open_state_filter,
        sync_tables=request.sync_tables,
        process_tp_sl=request.process_tp_sl,
        symbols=tuple(request.symbols),
        profile_digest=profile.digest,
        entry_digest=entry_version(profile.name),
    )


# A refused request is an expected outcome: logged in one line, without a traceback.
@app.task(name="mtf.run_cycle", bind=True, throws=(InvalidRunRequest,))
def run_cycle(self: Task, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Start one cycle. Keyword arguments are the run request (see `mtf.request`)."""
    svc = services()
    if args:
        raise InvalidRunRequest(
            "invalid run request: positional arguments are not accepted; pass parameters by name, "
            'e.g. celery -A mtf call mtf.run_cycle --kwargs \'{"profile": "scalper_micro"}\''
        )
    try:
        ctx = build_context(self, kwargs)
    except InvalidRunRequest as exc:
        run_id = str(self.request.id or "")
        if run_id:
            svc.runs.record_outcome(
                run_id,
                profile=str(kwargs.get("profile") or kwargs.get("mtf_profile") or "?")[:80],
                status="rejected",
                detail=str(exc),
                request=kwargs,
                dry_run=True,
                exchange=str(kwargs.get("exchange") or "?")[:20],
                as_of_ms=None,
            )
        log.error("run rejected: %s", exc)
        raise

    with bind(run_id=ctx.run_id, profile=ctx.profile):
        lock = svc.run_lock(ctx.profile)
        acquired, holder = lock.acquire(ctx.run_id)
        if not acquired and holder is not None and holder.holder != ctx.run_id:
            detail = (
                f"run {holder.holder} of {ctx.profile} still holds the overlap lock "
                f"(since {holder.acquired_at:%H:%M:%S}, expires {holder.expires_at:%H:%M:%S})"
            )
            svc.runs.record_outcome(
                ctx.run_id,
                profile=ctx.profile,
                status="skipped",
                detail=detail,
                request=kwargs,
                dry_run=ctx.dry_run,
                exchange=ctx.exchange,
                as_of_ms=ctx.as_of_ms,
            )
            log.warning("run skipped: %s", detail)
            return {
                "run_id": ctx.run_id,
                "status": "skipped",
                "profile": ctx.profile,
                "as_of": ctx.as_of_iso,
                "detail": detail,
            }
        svc.runs.start(ctx, kwargs)
        data = ctx.to_dict()
        chain(resolve_symbols.s(data), fan_out.s(data)).apply_async(link_error=run_failed.s(data))
        return {
            "run_id": ctx.run_id,
            "status": "started",
            "profile": ctx.profile,
            "as_of": ctx.as_of_iso,
            "dry_run": ctx.dry_run,
            "exchange": ctx.exchange,
        }


@app.task(name="mtf.resolve_symbols", ignore_result=True)
def resolve_symbols(data: dict[str, Any]) -> dict[str, Any]:
    """The symbols to validate: given ones, or the tradable universe, minus exclusions."""
    ctx = RunContext.from_dict(data)
    with bind(run_id=ctx.run_id, profile=ctx.profile):
        check_run(ctx)
        started = time.perf_counter()
        resolved = resolve(ctx, services())
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


@app.task(name="mtf.fan_out", bind=True, ignore_result=True)
def fan_out(self: Task, resolved: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Start the chord of validation batches whose reducer is `reduce_run`."""
    check_run(RunContext.from_dict(data))
    symbols: list[str] = resolved["symbols"]
    settings = services().settings
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
    body = reduce_run.s(data, summary).set(link_error=run_failed.s(data))
    if not header:
        reduce_run.apply_async(([], data, summary), link_error=run_failed.s(data))
        return {"batches": 0, "symbols": 0}
    chord(header)(body)
    return {"batches": len(header), "symbols": len(symbols), "batch_size": size}


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


@app.task(
    name="mtf.validate_batch",
    track_started=False,  # a STARTED write per batch costs a backend round trip for no reader
    soft_time_limit=50,
    time_limit=60,
    autoretry_for=(OperationalError,),
    max_retries=2,
    default_retry_delay=1,
)
def validate_batch(symbols: list[str], data: dict[str, Any]) -> list[dict[str, Any]]:
    """`validate_symbol` for several symbols in one message; each keeps its own result.

    The full results (with every rule's trace) are saved here, in parallel across workers;
    the reducer only receives their compact form."""
    ctx = RunContext.from_dict(data)
    check_run(ctx)
    svc = services()
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
    )


def tpsl_due(ctx: RunContext, every_minutes: int) -> bool:
    minute = (ctx.as_of_ms // 60_000) % 60
    return ctx.process_tp_sl and minute % every_minutes == 0


@app.task(name="mtf.reduce_run", bind=True, ignore_result=True)
def reduce_run(
    self: Task, batches: list[list[dict[str, Any]]], data: dict[str, Any], resolved: dict[str, Any]
) -> dict[str, Any]:
    """Build the run response, persist it, enqueue orders and the TP/SL sweep, free the lock.

    The response is the task's return value (Flower shows it) and the run's record in the
    database; it is not kept in the result backend, whose only job here is to carry the batch
    results to this reducer, which then drops them."""
    ctx = RunContext.from_dict(data)
    svc = services()
    started = time.perf_counter()
    with bind(run_id=ctx.run_id, profile=ctx.profile):
        results = [r for batch in batches for r in batch]
        profile = check_run(ctx)
        ready = [r for r in results if r["status"] == "READY"]
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
        performance["reduce_ms"] = round((time.perf_counter() - started) * 1000, 3)
        performance["total_ms"] = round(_now_ms() - ctx.started_ms, 3)
        response["run"]["duration_s"] = round(performance["total_ms"] / 1000, 3)
        # Free the profile before recording the run, so whoever sees it recorded can start the
        # next one.
        svc.run_lock(ctx.profile).release(ctx.run_id)
        svc.runs.finish(ctx, response)
        for decision in decisions if not blocked else []:
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
        log.info("%s", compact_summary(response))
        return response


@app.task(name="mtf.run_failed")
def run_failed(request: Any, exc: BaseException, traceback: Any, data: dict[str, Any]) -> None:
    """Errback of the cycle: mark the run failed and free the overlap lock."""
    ctx = RunContext.from_dict(data)
    svc = services()
    detail = f"{type(exc).__name__}: {exc}"
    svc.runs.fail(ctx.run_id, detail)
    svc.run_lock(ctx.profile).release(ctx.run_id)
    log.error("run %s failed: %s", ctx.run_id, detail)
