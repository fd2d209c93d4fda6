from __future__ import annotations

import pytest
from celery.schedules import crontab

from infra.settings import Settings
from schedules.beat import beat_schedule, seed_defaults


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_cycles_are_not_static_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = beat_schedule(settings(monkeypatch, MTF_SCHEDULE_PROFILES="scalper_micro,regular"))
    assert not any(entry["task"] == "mtf.run_cycle" for entry in entries.values())
    assert entries["maintenance:cleanup"]["options"]["queue"] == "maintenance"


def test_seeded_schedules_run_every_minute_after_the_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = seed_defaults(
        settings(monkeypatch, MTF_BEAT_OFFSET_SECONDS="7", MTF_CATCHUP_WINDOW_SECONDS="20")
    )
    assert (spec.cadence, spec.offset_seconds, spec.catchup_window_seconds) == ("* * * * *", 7, 20)
    assert spec.overlap == "skip"


def test_contract_sync_runs_daily_for_real_exchanges(monkeypatch: pytest.MonkeyPatch) -> None:
    paper = beat_schedule(settings(monkeypatch, MTF_EXCHANGE="paper"))
    assert "maintenance:contracts" not in paper
    live = beat_schedule(settings(monkeypatch, MTF_EXCHANGE="bitmart"))
    entry = live["maintenance:contracts"]
    assert entry["task"] == "mtf.sync_contracts"
    assert entry["schedule"] == crontab(minute=0, hour=9)


def test_tpsl_sweeps_on_its_own_cadence_even_without_cycles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = beat_schedule(
        settings(monkeypatch, MTF_SCHEDULE_PROFILES="", MTF_TPSL_EVERY_MINUTES="3")
    )
    entry = entries["tpsl:sweep"]
    assert entry["task"] == "mtf.recalc_tpsl"
    assert entry["schedule"] == crontab(minute="*/3")
    assert entry["options"]["queue"] == "tpsl"
    # off the candle close, and dropped once the next sweep is due
    assert entry["options"]["countdown"] == 30
    assert entry["options"]["expires"] == 30 + 180
    every_minute = beat_schedule(settings(monkeypatch, MTF_TPSL_EVERY_MINUTES="1"))
    assert every_minute["tpsl:sweep"]["schedule"] == crontab(minute="*")
