"""The engine's metrics move with what it does: a cycle counts its run, its symbols, its orders,
its duration and lateness; a sweep its verdict and its protective orders; the state gauges read
the database; the endpoint asks for its token."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from infra import telemetry
from infra.settings import Settings
from mtf.observability.server import build_registry, serve
from providers.types import Balance, OrderRequest, OrderSide, OrderType
from tests.helpers import ALWAYS_LONG, permissive_trade_entry
from tradeentry.equity import record_snapshot, snapshots
from tradeentry.guard import Guard, PositionGuards


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "always_long.yaml").write_text(yaml.safe_dump(ALWAYS_LONG))
    monkeypatch.setenv("MTF_PROFILES_DIR", str(folder))
    entries = tmp_path / "trade_entry"
    entries.mkdir()
    entry = permissive_trade_entry("always_long")
    entry["risk"] = {**entry.get("risk", {}), "daily_loss_limit_usdt": 5}  # type: ignore[dict-item]
    (entries / "always_long.yaml").write_text(yaml.safe_dump(entry))
    monkeypatch.setenv("MTF_TRADE_ENTRY_DIR", str(entries))


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run(**request: Any) -> dict[str, Any]:
    from mtf.tasks.cycle import run_cycle

    result = run_cycle.apply(kwargs=request)
    assert result.successful(), result.result
    return dict(result.result)


def scrape(registry: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_a_cycle_moves_the_counters_it_should(
    db_url: str, make_services: Any, eager_app: Any, profiles: None
) -> None:
    make_services(db_url, synthetic_symbols=3)
    p = "always_long"
    before = {
        "completed": value("mtf_runs_total", profile=p, status="completed"),
        "ready": value("mtf_symbols_total", profile=p, status="ready"),
        "duration": value("mtf_cycle_duration_seconds_count", profile=p),
        "lateness": value("mtf_cycle_lateness_seconds_count", profile=p),
        "lateness_sum": value("mtf_cycle_lateness_seconds_sum", profile=p),
        "simulated": value("mtf_orders_total", exchange="paper", status="simulated"),
    }
    run(profile=p)
    assert value("mtf_runs_total", profile=p, status="completed") == before["completed"] + 1
    assert value("mtf_symbols_total", profile=p, status="ready") == before["ready"] + 3
    assert value("mtf_cycle_duration_seconds_count", profile=p) == before["duration"] + 1
    assert value("mtf_cycle_lateness_seconds_count", profile=p) == before["lateness"] + 1
    late = value("mtf_cycle_lateness_seconds_sum", profile=p) - before["lateness_sum"]
    assert 0 <= late < 120, "from the minute's close to the decision"
    assert value("mtf_orders_total", exchange="paper", status="simulated") == (
        before["simulated"] + 3
    ), "each READY symbol's dry-run plan"

    # A replay of a past minute is a run, not a late cycle.
    past = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    run(profile=p, as_of=past.isoformat())
    assert value("mtf_runs_total", profile=p, status="completed") == before["completed"] + 2
    assert value("mtf_cycle_lateness_seconds_count", profile=p) == before["lateness"] + 1
    assert value("mtf_cycle_duration_seconds_count", profile=p) == before["duration"] + 2

    # A refused request is counted as rejected.
    rejected = value("mtf_runs_total", profile=p, status="rejected")
    from mtf.tasks.cycle import run_cycle

    assert not run_cycle.apply(kwargs={"profile": p, "dry_run": "perhaps"}).successful()
    assert value("mtf_runs_total", profile=p, status="rejected") == rejected + 1


def test_a_sweep_counts_its_verdict_and_feeds_the_state_gauges(
    db_url: str, make_services: Any, eager_app: Any, profiles: None
) -> None:
    from mtf.tasks.tpsl import recalc_tpsl

    svc = make_services(db_url, synthetic_symbols=2, schedule_profiles="always_long")
    run(profile="always_long")  # the synthetic market up to now
    svc.exchange("paper").submit_order(
        OrderRequest(
            symbol="BTCUSDT",
            side=OrderSide.BUY_OPEN_LONG,
            type=OrderType.MARKET,
            size=Decimal(5),
            leverage=5,
        )
    )
    sweeps = value("mtf_tpsl_sweeps_total", exchange="paper", outcome="protected")
    stops = value("mtf_protective_orders_total", exchange="paper", role="stop", kind="placed")
    out = recalc_tpsl.apply(kwargs={"exchange": "paper"}).result
    assert out["unprotected"] == [] and out["unknown"] == []
    assert value("mtf_tpsl_sweeps_total", exchange="paper", outcome="protected") == sweeps + 1
    assert (
        value("mtf_protective_orders_total", exchange="paper", role="stop", kind="placed")
        == stops + 1
    )

    # the profiles beat runs are those of the active schedules (in the database)
    from schedules.store import ScheduleSpec, ScheduleStore

    schedules = ScheduleStore(svc.engine)
    schedules.create(ScheduleSpec(name="micro", profile="always_long"), actor="test")
    schedules.create(ScheduleSpec(name="held", profile="scalper_micro"), actor="test")
    schedules.pause("held", actor="test", note="paused: not scheduled")
    state = scrape(build_registry(svc.engine, svc.settings))
    assert ("mtf_profile_scheduled", (("profile", "scalper_micro"),)) not in state
    assert state[("mtf_state_up", ())] == 1
    assert state[("mtf_open_positions", (("exchange", "paper"),))] == 1
    assert state[("mtf_positions_unprotected", (("exchange", "paper"),))] == 0
    equity = state[("mtf_equity_usdt", (("exchange", "paper"),))]
    assert 990 < equity < 1001, "the paper wallet, less the entry's fee"
    assert abs(state[("mtf_daily_pnl_usdt", (("exchange", "paper"),))]) < 10
    finished = state[("mtf_last_completed_run_timestamp_seconds", (("profile", "always_long"),))]
    assert abs(finished - datetime.now(UTC).timestamp()) < 600
    assert state[("mtf_profile_scheduled", (("profile", "always_long"),))] == 1
    assert state[("mtf_daily_loss_limit_usdt", (("profile", "always_long"),))] == 5
    cap = (("exchange", "paper"), ("profile", "always_long"))
    assert state[("mtf_daily_loss_cap_reached", cap)] == 0

    # A bare position and a lost day, as a sweep and the account would record them.
    now = int(datetime.now(UTC).timestamp() * 1000)
    PositionGuards(svc.engine).record(
        "paper",
        [
            Guard("paper", "BTCUSDT", "long", "protected", Decimal(5), Decimal(1), None, now),
            Guard("paper", "ETHUSDT", "short", "unprotected", Decimal(2), None, "x", now),
            Guard("paper", "XRPUSDT", "long", "unknown", Decimal(2), None, "timed out", now),
        ],
        symbol=None,
        now_ms=now,
    )
    record_snapshot(
        svc.engine,
        "paper",
        Balance("USDT", Decimal(990), Decimal(900), Decimal(0), Decimal(0), Decimal(0)),
        now,
    )
    [account] = snapshots(svc.engine, now)
    assert account.baseline_equity is not None
    base = float(account.baseline_equity)  # the day's first look (the cycle's risk check)
    state = scrape(build_registry(svc.engine, svc.settings))
    assert state[("mtf_open_positions", (("exchange", "paper"),))] == 3
    assert state[("mtf_positions_unprotected", (("exchange", "paper"),))] == 1
    assert state[("mtf_positions_protection_unknown", (("exchange", "paper"),))] == 1
    assert state[("mtf_daily_pnl_usdt", (("exchange", "paper"),))] == pytest.approx(990 - base)
    assert state[("mtf_daily_loss_cap_reached", cap)] == 1


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    from infra.db import ensure_schema, get_engine

    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    ensure_schema(url)
    settings = Settings(
        database_url=url, metrics_token="s3cret-token", metrics_basic_auth="prom:pa55"
    )
    server = serve(get_engine(url), settings, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_endpoint_asks_for_its_token_or_password(endpoint: str) -> None:
    assert httpx.get(f"{endpoint}/metrics").status_code == 401
    wrong = httpx.get(f"{endpoint}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "s3cret" not in wrong.text
    ok = httpx.get(f"{endpoint}/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and "mtf_state_up 1.0" in ok.text
    assert (
        "mtf_runs_total" in ok.text or "mtf_runs_created" in ok.text or "# HELP mtf_runs" in ok.text
    )
    basic = base64.b64encode(b"prom:pa55").decode()
    assert httpx.get(f"{endpoint}/metrics", headers={"Authorization": f"Basic {basic}"}).is_success
    bad = base64.b64encode(b"prom:wrong").decode()
    assert (
        httpx.get(f"{endpoint}/metrics", headers={"Authorization": f"Basic {bad}"}).status_code
        == 401
    )
    assert httpx.get(f"{endpoint}/healthz").text == "ok\n"


def test_exchange_requests_and_rate_limit_headroom_are_counted() -> None:
    from tests.providers.bitmart.adapter import bitmart_client
    from tests.providers.bitmart.fake import TEST_CREDENTIALS, FakeBitmart
    from tests.providers.bitmart.fake.faults import Fault

    with FakeBitmart(start_ms=1_704_067_200_000) as fake:
        exchange = bitmart_client(fake.transport(), TEST_CREDENTIALS, fake.now)
        ok = value("mtf_exchange_requests_total", endpoint_group="position", outcome="ok")
        bad = value(
            "mtf_exchange_requests_total", endpoint_group="position", outcome="service_unavailable"
        )
        fake.faults.add(Fault.server_error(503), path="/contract/private/position-v2")
        assert exchange.positions() == []
        assert (
            value("mtf_exchange_requests_total", endpoint_group="position", outcome="ok") == ok + 1
        )
        assert (
            value(
                "mtf_exchange_requests_total",
                endpoint_group="position",
                outcome="service_unavailable",
            )
            == bad + 1
        )
        headroom = REGISTRY.get_sample_value("mtf_ratelimit_headroom_ratio", {"group": "position"})
        assert headroom is not None and 0 < headroom < 1


def test_error_kinds_are_bounded_labels() -> None:
    class RateLimitError(Exception):
        pass

    class NotSentError(Exception):
        pass

    assert telemetry.error_kind(RateLimitError()) == "rate_limit"
    assert telemetry.error_kind(NotSentError()) == "not_sent"
    assert telemetry.error_kind(ValueError()) == "value"
