"""The whole cycle through the Celery tasks, run eagerly in-process (the embedded mode), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from infra.db import engine_session
from infra.models import OrderRow, RunResultRow, RunRow
from mtf.summary import MAX_LINES, compact_summary
from providers.timeframes import Timeframe, to_ms
from tests.conftest import klines_file
from tests.helpers import permissive_trade_entry

ALWAYS_LONG = {
    "name": "always_long",
    "mode": "pragmatic",
    "context_timeframes": ["5m"],
    "execution_timeframes": ["1m"],
    "history_bars": 60,
    "timeframes": {
        "5m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
        "1m": {"long": [{"gt": 0, "field": "close"}], "short": [{"lt": 0, "field": "close"}]},
    },
}


@pytest.fixture
def profiles_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    monkeypatch.setenv("MTF_PROFILES_DIR", str(folder))
    entries = tmp_path / "trade_entry"
    entries.mkdir()
    (entries / "always_long.yaml").write_text(yaml.safe_dump(permissive_trade_entry("always_long")))
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(entries))
    return folder


def run(**request: Any) -> dict[str, Any]:
    from mtf.tasks.cycle import run_cycle

    result = run_cycle.apply(kwargs=request)
    assert result.successful(), result.result
    return dict(result.result)


def stored_response(svc: Any, run_id: str) -> dict[str, Any]:
    row = svc.runs.get(run_id)
    assert row is not None
    return dict(row.response or {})


def test_cycle_on_the_synthetic_market(db_url: str, make_services: Any, eager_app: Any) -> None:
    svc = make_services(db_url, synthetic_symbols=5)
    started = run()
    assert started["status"] == "started"
    row = svc.runs.get(started["run_id"])
    assert row is not None and row.status == "completed"
    response = dict(row.response or {})
    assert response["run"]["symbols_processed"] == 5
    assert set(response["symbols"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT"}
    statuses = {s["status"] for s in response["symbols"].values()}
    assert statuses <= {"READY", "INVALID"}, response["symbols"]
    assert set(response["summary_by_tf"]) == {"5m", "1m"}
    for key in ("rejected_by", "last_validated", "errors", "performance", "orders"):
        assert key in response
    assert response["performance"]["per_symbol"]["count"] == 5
    with engine_session(svc.engine) as s:
        assert s.scalar(select(func.count()).select_from(RunResultRow)) == 5
    assert svc.run_lock("scalper_micro").holder() is None, "the lock is released"
    summary = compact_summary(response)
    assert summary.splitlines()[0].startswith("[success] scalper_micro run")
    assert len(summary.splitlines()) <= MAX_LINES


def test_ready_symbols_become_recorded_plans_once(
    db_url: str, make_services: Any, eager_app: Any, profiles_dir: Path
) -> None:
    svc = make_services(db_url, synthetic_symbols=3)
    # one minute, named: two runs must not straddle a minute boundary
    minute = datetime.now(UTC).replace(second=0, microsecond=0).isoformat()
    first = stored_response(svc, run(profile="always_long", as_of=minute)["run_id"])
    assert first["run"]["ready"] == 3
    assert first["orders"]["count"] == 3
    keys = {o["decision_key"] for o in first["orders"]["enqueued"]}
    # the same minute again: same decision keys, no second plan
    second = stored_response(svc, run(profile="always_long", as_of=minute)["run_id"])
    assert {o["decision_key"] for o in second["orders"]["enqueued"]} == keys
    with engine_session(svc.engine) as s:
        rows = list(s.scalars(select(OrderRow)))
    assert len(rows) == 3
    for row in rows:
        assert row.status == "simulated" and row.dry_run
        assert row.decision_key == f"{row.symbol}:1m:{row.candle_open_ms}"
        plan = row.plan
        assert float(plan["stop_loss"]) < float(plan["entry_price"]) < float(plan["take_profit"])
        assert row.client_order_id.startswith("MTF") and len(row.client_order_id) == 32


def test_a_profile_without_trade_entry_settings_records_why_nothing_was_placed(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "no_trade_entry"
    empty.mkdir()
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(empty))
    svc = make_services(db_url, synthetic_symbols=2)
    response = stored_response(svc, run(profile="always_long")["run_id"])
    assert response["orders"]["count"] == 2
    with engine_session(svc.engine) as s:
        rows = list(s.scalars(select(OrderRow)))
    assert {row.status for row in rows} == {"error"}
    for row in rows:
        assert "unknown trade-entry profile 'always_long'" in (row.detail or "")
        assert "scalper_micro" in (row.detail or ""), "the error lists what is available"


def test_order_tasks_refuse_bad_arguments_with_what_is_wrong(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    from mtf.tasks.orders import place_order
    from mtf.tasks.tpsl import recalc_tpsl

    svc = make_services(db_url)
    cases = [
        (place_order, {"bogus": 1}, "takes one argument, decision={...}; unknown: bogus"),
        (place_order, {}, "a decision is a mapping with decision_key, run_id"),
        (place_order, {"decision": {"symbol": "BTCUSDT"}}, "missing decision_key"),
        (recalc_tpsl, {"clock_offset_ms": "x"}, "clock_offset_ms must be an integer"),
    ]
    for task, kwargs, message in cases:
        result = task.apply(kwargs=kwargs)
        assert result.failed(), (task.name, kwargs)
        assert message in str(result.result), (task.name, str(result.result))
    with engine_session(svc.engine) as s:
        assert s.scalar(select(func.count()).select_from(OrderRow)) == 0, "nothing recorded"


def test_overlapping_run_is_recorded_as_skipped(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    svc = make_services(db_url, synthetic_symbols=2)
    assert svc.run_lock("scalper_micro").acquire("other-run")[0]
    started = run()
    assert started["status"] == "skipped"
    assert "other-run" in started["detail"]
    row = svc.runs.get(started["run_id"])
    assert row is not None and row.status == "skipped" and "overlap lease" in (row.detail or "")
    with engine_session(svc.engine) as s:
        assert s.scalar(select(func.count()).select_from(RunResultRow)) == 0


def test_bad_request_is_refused_and_recorded(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    from mtf.tasks.cycle import InvalidRunRequest, run_cycle

    svc = make_services(db_url)
    result = run_cycle.apply(kwargs={"profile": "scalper_micro", "dry_run": "perhaps"})
    assert result.failed() and isinstance(result.result, InvalidRunRequest)
    assert "dry_run" in str(result.result)
    with engine_session(svc.engine) as s:
        row = s.scalars(select(RunRow)).one()
    assert row.status == "rejected" and "dry_run" in (row.detail or "")
    unknown_tf = run_cycle.apply(kwargs={"current_tf": "5m"})
    assert unknown_tf.failed()
    assert "not an execution timeframe of scalper_micro; allowed: 1m" in str(unknown_tf.result)
    positional = run_cycle.apply(args=("BTCUSDT",))
    assert positional.failed() and "positional arguments" in str(positional.result)


def test_one_symbol_failure_does_not_sink_the_run(
    db_url: str, make_services: Any, eager_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = make_services(db_url, synthetic_symbols=3)
    original = svc.market.closed_candles

    def broken(symbol: str, *args: Any, **kwargs: Any) -> Any:
        if symbol == "ETHUSDT":
            raise RuntimeError("disk on fire")
        return original(symbol, *args, **kwargs)

    monkeypatch.setattr(svc.market, "closed_candles", broken)
    response = stored_response(svc, run()["run_id"])
    assert response["status"] == "partial_success"
    assert response["symbols"]["ETHUSDT"]["status"] == "ERROR"
    assert response["errors"] == [{"symbol": "ETHUSDT", "error": "RuntimeError: disk on fire"}]
    assert {response["symbols"][s]["status"] for s in ("BTCUSDT", "SOLUSDT")} <= {
        "READY",
        "INVALID",
    }


def _import_btc(svc: Any) -> None:
    from providers.importer import import_files

    folder = "binance-usdm-futures_2023-07"
    paths = [klines_file(folder, f"BTCUSDT-{tf}.csv") for tf in ("1m", "5m")]
    report = import_files(paths, klines=svc.klines, contracts=svc.contracts)
    assert all(f.ok for f in report.files), [f.error for f in report.files]


def test_replay_of_a_past_minute_is_exact(db_url: str, make_services: Any, eager_app: Any) -> None:
    svc = make_services(db_url)
    _import_btc(svc)
    at = "2023-08-01T12:00Z"
    one = stored_response(svc, run(symbols=["BTCUSDT"], as_of=at)["run_id"])
    two = stored_response(svc, run(symbols=["BTCUSDT"], as_of=at)["run_id"])
    assert one["run"]["as_of"] == "2023-08-01T12:00:00Z"
    assert one["symbols"]["BTCUSDT"]["status"] in ("READY", "INVALID")
    strip = ("duration_ms",)
    a = {k: v for k, v in one["symbols"]["BTCUSDT"].items() if k not in strip}
    b = {k: v for k, v in two["symbols"]["BTCUSDT"].items() if k not in strip}
    assert a == b
    # the decision used only candles closed at 12:00: a later candle changes nothing
    results = svc.runs.results(one["run"]["run_id"])
    trace = results[0].decisions
    assert "1m" in trace and "5m" in trace


def test_imported_symbol_at_now_is_stale_not_decided(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    svc = make_services(db_url)
    _import_btc(svc)
    response = stored_response(svc, run(symbols=["BTCUSDT"])["run_id"])
    entry = response["symbols"]["BTCUSDT"]
    assert entry["status"] == "SKIPPED" and entry["reason"] == "stale_candles"
    assert "5m newest candle 2023-08-17" in entry["detail"]


def test_tpsl_sweep_is_due_every_third_minute(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    svc = make_services(db_url, synthetic_symbols=1)
    base = datetime(2026, 11, 20, 10, 3, tzinfo=UTC)
    due = stored_response(svc, run(as_of=base.isoformat())["run_id"])
    assert due["tpsl"] == {"enqueued": True, "every_minutes": 3}
    later = base.replace(minute=4)
    assert stored_response(svc, run(as_of=later.isoformat())["run_id"])["tpsl"] is None
    off = stored_response(svc, run(as_of=base.isoformat(), process_tp_sl=False)["run_id"])
    assert off["tpsl"] is None
    assert to_ms(base) % Timeframe.M1.ms == 0
