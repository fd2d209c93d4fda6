"""One profile version per run: a run carries the versions it started with, and a task that
reads another version refuses."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtf.context import RunContext
from mtf.rules.profile import load_profile
from mtf.versions import (
    MISSING,
    ProfileVersionMismatch,
    check_run,
    entry_version,
    trade_entry_for,
    validation_profile,
)
from tests.helpers import permissive_trade_entry
from tests.mtf.test_pipeline_embedded import ALWAYS_LONG, profiles_dir  # noqa: F401
from tradeentry.ledger import Decision, InvalidDecision


def changed_entry() -> dict[str, Any]:
    """The permissive trade-entry profile with another budget: a valid, different version."""
    entry = permissive_trade_entry("always_long")
    return {**entry, "risk": {**entry["risk"], "budget_usdt": 555}}  # type: ignore[dict-item]


def context(**values: Any) -> RunContext:
    base: dict[str, Any] = {
        "run_id": "r1",
        "profile": "always_long",
        "as_of_ms": 1_700_000_040_000,
        "dry_run": True,
        "exchange": "paper",
        "started_ms": 0,
    }
    return RunContext(**{**base, **values})


def edit_profile(folder: Path, **changes: Any) -> None:
    (folder / "always_long.yaml").write_text(yaml.safe_dump({**ALWAYS_LONG, **changes}))


def test_versions_are_the_digests_of_the_files(profiles_dir: Path) -> None:  # noqa: F811
    version = load_profile("always_long").digest
    assert len(version) == 12
    ctx = context(profile_digest=version, entry_digest=entry_version("always_long"))
    assert check_run(ctx).digest == version
    assert entry_version("no_such_profile") == MISSING


def test_another_validation_version_is_refused_naming_host_and_versions(
    profiles_dir: Path,  # noqa: F811
) -> None:
    started = load_profile("always_long").digest
    edit_profile(profiles_dir, history_bars=80)
    with pytest.raises(ProfileVersionMismatch) as refused:
        validation_profile(context(profile_digest=started))
    message = str(refused.value)
    here = load_profile("always_long").digest
    assert f"run r1 started with version {started}" in message
    assert f"host {socket.gethostname()} reads version {here}" in message
    assert str(profiles_dir / "always_long.yaml") in message


def test_another_trade_entry_version_is_refused(profiles_dir: Path) -> None:  # noqa: F811
    started = entry_version("always_long")
    entries = profiles_dir.parent / "trade_entry"
    changed = changed_entry()
    (entries / "always_long.yaml").write_text(yaml.safe_dump(changed))
    with pytest.raises(ProfileVersionMismatch, match="trade-entry profile 'always_long'"):
        trade_entry_for("always_long", started, "r1")
    with pytest.raises(ProfileVersionMismatch, match=f"reads version {MISSING}"):
        trade_entry_for("gone", started, "r1")
    assert trade_entry_for("always_long", None, None).name == "always_long", "not carried"


DECISION: dict[str, Any] = {
    "decision_key": "BTCUSDT:1m:60000",
    "run_id": "r1",
    "profile": "always_long",
    "symbol": "BTCUSDT",
    "side": "long",
    "timeframe": "1m",
    "candle_open_ms": 60000,
    "exchange": "paper",
    "dry_run": True,
    "as_of_ms": 120000,
}


def test_an_old_decision_without_a_version_is_still_accepted() -> None:
    fields = DECISION
    assert Decision.from_dict(fields).entry_digest is None
    assert Decision.from_dict({**fields, "entry_digest": "abc"}).entry_digest == "abc"
    with pytest.raises(InvalidDecision, match="entry_digest must be a string or null"):
        Decision.from_dict({**fields, "entry_digest": 5})


def test_a_run_whose_profile_changes_midway_fails_clearly(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mtf.tasks import cycle

    svc = make_services(db_url, synthetic_symbols=3)
    real_resolve = cycle.resolve

    def resolve_then_redeploy(ctx: RunContext, services: Any) -> dict[str, Any]:
        edit_profile(profiles_dir, history_bars=70)  # another host's version from now on
        return real_resolve(ctx, services)

    monkeypatch.setattr(cycle, "resolve", resolve_then_redeploy)
    started = cycle.run_cycle.apply(kwargs={"profile": "always_long"})
    row = svc.runs.get(started.result["run_id"])
    assert row is not None and row.status == "failed", row.status
    assert "ProfileVersionMismatch" in (row.detail or "")
    assert "validation profile 'always_long'" in (row.detail or "")
    assert svc.run_lock("always_long").holder() is None, "the lock is released"
    assert svc.ledger.recent(10) == [], "nothing was decided on a mixed run"


def test_an_order_task_with_another_trade_entry_version_places_nothing(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,  # noqa: F811
) -> None:
    from mtf.tasks.orders import place_order

    svc = make_services(db_url)
    decision = Decision.from_dict({**DECISION, "entry_digest": "0123456789ab"})
    out = place_order.apply(kwargs={"decision": decision.to_dict()}).result
    assert out["status"] == "error"
    stored = svc.ledger.get(decision.decision_key)
    assert stored is not None and stored.status == "error"
    assert "started with version 0123456789ab" in (stored.detail or "")


def test_a_run_whose_trade_entry_changes_before_its_orders_places_none(
    db_url: str,
    make_services: Any,
    eager_app: Any,
    profiles_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mtf.tasks.cycle import run_cycle

    svc = make_services(db_url, synthetic_symbols=2)
    finish = svc.runs.finish
    entries = profiles_dir.parent / "trade_entry"

    def finish_then_redeploy(*args: Any, **kwargs: Any) -> Any:
        recorded = finish(*args, **kwargs)
        changed = changed_entry()
        (entries / "always_long.yaml").write_text(yaml.safe_dump(changed))
        return recorded

    monkeypatch.setattr(svc.runs, "finish", finish_then_redeploy)
    started = run_cycle.apply(kwargs={"profile": "always_long", "symbols": ["BTCUSDT"]})
    row = svc.runs.get(started.result["run_id"])
    assert row is not None and row.status == "completed", row.detail
    orders = svc.ledger.recent(10)
    assert orders, "the READY decision reached the order task"
    assert {o.status for o in orders} == {"error"}
    assert all("trade-entry profile 'always_long'" in (o.detail or "") for o in orders)
