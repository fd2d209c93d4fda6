"""Parameter sweeps: a grid of profile overrides, backtested in parts any number of workers
share, reduced into a leaderboard.

A backtest has two stages, and a sweep splits both:

* signals — the decisions of one symbol over the range. They depend only on the validation
  profile, so parameter sets that change only trade-entry fields share them: one part per
  (validation variant, symbol), stored under the variant's first parameter set.
* trades — the account of one parameter set over every symbol: plans, risk limits, fills. It
  cannot be split per symbol: the size of a plan depends on the balance every other symbol's
  trades moved, and the concurrent-position and daily-loss limits depend on the other
  symbols' positions at that moment. One part per parameter set.

`mtf backtest` runs the same two functions in one process, so a sweep member and a backtest
with the same overrides give the same report. Parts are stored once under the unique key
(sweep, parameter set, symbol): a part redone after its worker died, or sent twice, is
written once, so nothing is counted twice. Parts run as Celery tasks on the `backtest` queue
(`mtf.tasks.backtest`) or in a local process pool, with no broker.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from mtf.backtest import data, run
from mtf.backtest.overrides import ProfilePair, load_pairs
from mtf.backtest.request import BacktestInputError, BacktestRequest
from mtf.backtest.signals import SymbolSignals
from mtf.backtest.store import BacktestStore

log = logging.getLogger("mtf.backtest")

ALL = "*"  # the symbol of a parameter set's trades part
SORTS = {
    "net_pnl": ("net_pnl", True),
    "return": ("return_pct", True),
    "drawdown": ("max_drawdown_pct", True),  # closest to zero first
    "profit_factor": ("profit_factor", True),
    "sharpe": ("sharpe", True),
    "expectancy": ("expectancy_r", True),
    "trades": ("trades", True),
}
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SweepPlan:
    sweep_id: str
    request: BacktestRequest  # without overrides
    sets: list[dict[str, Any]]
    pairs: list[ProfilePair]

    @property
    def variant_of(self) -> list[int]:
        """For each set, the set whose signals it uses (the first with its validation)."""
        first: dict[str, int] = {}
        return [first.setdefault(p.signal_key, i) for i, p in enumerate(self.pairs)]

    def signal_parts(self) -> list[tuple[int, str]]:
        return [(v, s) for v in sorted(set(self.variant_of)) for s in self.request.symbols]

    def trade_parts(self) -> list[int]:
        return list(range(len(self.sets)))

    def member_id(self, set_index: int) -> str:
        """The kept backtest of a parameter set, numbered from 1 as the leaderboard shows it."""
        return f"{self.sweep_id}-{set_index + 1:04d}"


def new_plan(sweep_id: str, request: BacktestRequest, sets: Sequence[dict[str, Any]]) -> SweepPlan:
    """Every parameter set validated (one line naming the first bad one)."""
    pairs = load_pairs(request.profile, sets)
    return SweepPlan(sweep_id, request.with_overrides({}), [dict(s) for s in sets], pairs)


def check_data(engine: Engine, plan: SweepPlan) -> None:
    """Refuse before anything runs when a parameter set lacks candles (once per need)."""
    store = _stores(engine)
    seen: set[tuple[tuple[str, int], ...]] = set()
    for pair in plan.pairs:
        key = tuple(sorted((tf.value, n) for tf, n in data.needs(pair).items()))
        if key not in seen:
            seen.add(key)
            data.load(store[0], store[1], plan.request, pair)


_plans: OrderedDict[tuple[str, str], SweepPlan] = OrderedDict()


def load_plan(engine: Engine, sweep_id: str) -> SweepPlan:
    """The plan of a stored sweep (parsed once per process)."""
    key = (str(engine.url), sweep_id)
    if key in _plans:
        return _plans[key]
    row = BacktestStore(engine).sweep(sweep_id)
    if row is None:
        raise BacktestInputError(f"no sweep {sweep_id!r}")
    plan = new_plan(row.sweep_id, BacktestRequest.from_dict(row.request), list(row.sets))
    _plans[key] = plan
    while len(_plans) > 8:
        _plans.popitem(last=False)
    return plan


def _stores(engine: Engine) -> tuple[Any, Any]:
    from providers.contracts import ContractStore
    from providers.klines import KlineStore

    return KlineStore(engine), ContractStore(engine)


_candles: OrderedDict[tuple[Any, ...], data.Loaded] = OrderedDict()


def _loaded(
    engine: Engine, request: BacktestRequest, pair: ProfilePair, symbols: Sequence[str]
) -> data.Loaded:
    """Candles of some symbols, kept per process: a worker doing several parts of a sweep
    reads them once."""
    needs = tuple(sorted((tf.value, n) for tf, n in data.needs(pair).items()))
    specs: dict[str, Any] = {}
    candles: dict[str, Any] = {}
    for symbol in symbols:
        key = (str(engine.url), symbol, request.start_ms, request.end_ms, needs)
        hit = _candles.get(key)
        if hit is None:
            one = BacktestRequest(**{**request.__dict__, "symbols": (symbol,)})
            hit = data.load(*_stores(engine), one, pair)
            _candles[key] = hit
            while len(_candles) > 32:
                _candles.popitem(last=False)
        specs.update(hit.specs)
        candles.update(hit.candles)
    return data.Loaded(specs, candles)


# --- the two kinds of part (pure once the candles are read) ------------------------------------


def compute_signals(engine: Engine, sweep_id: str, set_index: int, symbol: str) -> dict[str, Any]:
    plan = load_plan(engine, sweep_id)
    pair = plan.pairs[set_index]
    loaded = _loaded(engine, plan.request, pair, [symbol])
    return run.signals_of(pair, plan.request, loaded, symbol).to_dict()


def compute_trades(
    engine: Engine, sweep_id: str, set_index: int, signals: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    plan = load_plan(engine, sweep_id)
    pair = plan.pairs[set_index]
    request = plan.request.with_overrides(pair.overrides)
    loaded = _loaded(engine, request, pair, request.symbols)
    report = run.trades_of(pair, request, loaded, [SymbolSignals.from_dict(s) for s in signals])
    return {
        "backtest_id": plan.member_id(set_index),
        **report,
        "sweep": {"sweep_id": sweep_id, "set_index": set_index, "overrides": pair.overrides},
    }


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def signals_part(engine: Engine, sweep_id: str, set_index: int, symbol: str) -> bool:
    """Compute and keep one signals part; False when it was already kept."""
    store = BacktestStore(engine)
    if store.part(sweep_id, set_index, symbol) is not None:
        return False
    started = time.perf_counter()
    result = compute_signals(engine, sweep_id, set_index, symbol)
    seconds = time.perf_counter() - started
    return store.put_part(sweep_id, set_index, symbol, result, seconds, worker_name())


def variant_signals(engine: Engine, sweep_id: str, set_index: int) -> list[dict[str, Any]]:
    """The signals parts a parameter set's trades read; `LookupError` while some are missing."""
    plan = load_plan(engine, sweep_id)
    variant = plan.variant_of[set_index]
    store = BacktestStore(engine)
    parts = [store.part(sweep_id, variant, s) for s in plan.request.symbols]
    missing = [s for s, p in zip(plan.request.symbols, parts, strict=True) if p is None]
    if missing:
        raise LookupError(f"signals of {', '.join(missing)} not computed yet")
    return [p for p in parts if p is not None]


def keep_trades(
    engine: Engine, sweep_id: str, set_index: int, report: dict[str, Any], seconds: float
) -> bool:
    """The member's report, then the part that says it is done (a death between the two
    only redoes the report, which replaces itself)."""
    store = BacktestStore(engine)
    store.save(
        report, seconds, backtest_id=report["backtest_id"], sweep_id=sweep_id, set_index=set_index
    )
    summary = {"backtest_id": report["backtest_id"], "summary": report["summary"]}
    return store.put_part(sweep_id, set_index, ALL, summary, seconds, worker_name())


def trades_part(engine: Engine, sweep_id: str, set_index: int) -> bool:
    """Compute and keep one parameter set's trades; False when already kept."""
    if BacktestStore(engine).part(sweep_id, set_index, ALL) is not None:
        return False
    signals = variant_signals(engine, sweep_id, set_index)
    started = time.perf_counter()
    report = compute_trades(engine, sweep_id, set_index, signals)
    return keep_trades(engine, sweep_id, set_index, report, time.perf_counter() - started)


# --- progress and the leaderboard ---------------------------------------------------------------


@dataclass(frozen=True)
class SweepState:
    signals_done: int
    signals_total: int
    trades_done: int
    trades_total: int
    ready_sets: list[int]  # sets whose signals are all in

    @property
    def finished(self) -> bool:
        return self.trades_done == self.trades_total


def progress_of(engine: Engine, plan: SweepPlan) -> SweepState:
    done = BacktestStore(engine).done_parts(plan.sweep_id)
    signals = plan.signal_parts()
    complete = {
        v for v in set(plan.variant_of) if all((v, s) in done for s in plan.request.symbols)
    }
    ready = [k for k in plan.trade_parts() if plan.variant_of[k] in complete]
    trades = [k for k in plan.trade_parts() if (k, ALL) in done]
    return SweepState(
        sum(p in done for p in signals), len(signals), len(trades), len(plan.sets), ready
    )


def leaderboard(engine: Engine, plan: SweepPlan) -> list[dict[str, Any]]:
    store = BacktestStore(engine)
    rows = []
    for k, overrides in enumerate(plan.sets):
        part = store.part(plan.sweep_id, k, ALL)
        if part is None:
            continue
        s = part["summary"]
        rows.append(
            {
                "set": k + 1,
                **overrides,
                "net_pnl": s["net_pnl"],
                "return_pct": s["return_pct"],
                "trades": s["trades"],
                "win_rate": s["win_rate"],
                "profit_factor": s["profit_factor"],
                "expectancy_r": s["expectancy_r"],
                "max_drawdown_pct": s["max_drawdown_pct"],
                "sharpe": s["sharpe"],
                "backtest_id": part["backtest_id"],
            }
        )
    return rows


def sort_board(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Best first; sets without the figure (e.g. no losing trade: no profit factor) last."""
    if by not in SORTS:
        raise BacktestInputError(f"unknown sort {by!r}; allowed: {', '.join(SORTS)}")
    field, descending = SORTS[by]
    present = [r for r in rows if r.get(field) is not None]
    absent = [r for r in rows if r.get(field) is None]
    present.sort(key=lambda r: float(r[field]), reverse=descending)
    return present + absent


def finish(engine: Engine, plan: SweepPlan) -> list[dict[str, Any]]:
    board = leaderboard(engine, plan)
    BacktestStore(engine).finish_sweep(plan.sweep_id, "done", board)
    return board


# --- drivers -------------------------------------------------------------------------------------


def _child_init() -> None:
    from infra.db import dispose_engines
    from mtf import services

    dispose_engines()
    services.reset()


def _signals_job(
    url: str, sweep_id: str, set_index: int, symbol: str
) -> tuple[dict[str, Any], float]:
    from infra.db import get_engine

    started = time.perf_counter()
    result = compute_signals(get_engine(url), sweep_id, set_index, symbol)
    return result, time.perf_counter() - started


def _trades_job(url: str, sweep_id: str, set_index: int) -> tuple[dict[str, Any], float]:
    from infra.db import get_engine

    engine = get_engine(url)
    signals = variant_signals(engine, sweep_id, set_index)
    started = time.perf_counter()
    report = compute_trades(engine, sweep_id, set_index, signals)
    return report, time.perf_counter() - started


def _tick(engine: Engine, plan: SweepPlan, progress: Progress | None) -> SweepState:
    state = progress_of(engine, plan)
    if progress is not None:
        progress("decisions", state.signals_done, state.signals_total)
        progress("trades", state.trades_done, state.trades_total)
    return state


def drive_local(
    engine: Engine, url: str, plan: SweepPlan, workers: int, progress: Progress | None = None
) -> None:
    """Every missing part in a local process pool (no broker); the parent keeps the results,
    so one writer touches the database."""
    store = BacktestStore(engine)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_child_init) as pool:
        running: dict[Future[tuple[dict[str, Any], float]], tuple[int, str]] = {}
        sent: set[tuple[int, str]] = set()

        def send() -> SweepState:
            state = _tick(engine, plan, progress)
            done = store.done_parts(plan.sweep_id)
            for k, symbol in plan.signal_parts():
                if (k, symbol) not in done and (k, symbol) not in sent:
                    sent.add((k, symbol))
                    running[pool.submit(_signals_job, url, plan.sweep_id, k, symbol)] = (k, symbol)
            for k in state.ready_sets:
                if (k, ALL) not in done and (k, ALL) not in sent:
                    sent.add((k, ALL))
                    running[pool.submit(_trades_job, url, plan.sweep_id, k)] = (k, ALL)
            return state

        state = send()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                k, symbol = running.pop(future)
                result, seconds = future.result()
                if symbol == ALL:
                    keep_trades(engine, plan.sweep_id, k, result, seconds)
                else:
                    store.put_part(plan.sweep_id, k, symbol, result, seconds, "local")
            state = send()
        if not state.finished:
            raise RuntimeError(f"sweep {plan.sweep_id}: parts left undone")


def drive_celery(
    engine: Engine,
    plan: SweepPlan,
    progress: Progress | None = None,
    *,
    poll_s: float = 0.5,
    resend_after_s: float = 900.0,
) -> None:
    """Send every missing part to the `backtest` queue and follow them in the database until
    all are kept. Parts still missing after `resend_after_s` without progress are sent again
    (a second copy is harmless: a part is kept once)."""
    from mtf.celery_app import app  # by task name: the tasks module imports this one

    store = BacktestStore(engine)
    sent: dict[tuple[int, str], float] = {}
    last_change, last_count = time.monotonic(), -1
    while True:
        row = store.sweep(plan.sweep_id)
        if row is not None and row.status == "failed":
            raise RuntimeError(f"sweep {plan.sweep_id} failed: {row.detail}")
        state = _tick(engine, plan, progress)
        if state.finished:
            return
        done = store.done_parts(plan.sweep_id)
        count = len(done)
        now = time.monotonic()
        if count != last_count:
            last_change, last_count = now, count
        stalled = now - last_change > resend_after_s
        for k, symbol in plan.signal_parts():
            if (k, symbol) not in done and ((k, symbol) not in sent or stalled):
                app.send_task("mtf.backtest_signals", (plan.sweep_id, k, symbol), queue="backtest")
                sent[(k, symbol)] = now
        for k in state.ready_sets:
            if (k, ALL) not in done and ((k, ALL) not in sent or stalled):
                app.send_task("mtf.backtest_trades", (plan.sweep_id, k), queue="backtest")
                sent[(k, ALL)] = now
        if stalled:
            last_change = now
        time.sleep(poll_s)
