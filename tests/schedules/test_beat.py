from __future__ import annotations

import pytest
from celery.schedules import crontab

from infra.settings import Settings
from schedules.beat import beat_schedule, cycle_entry_name


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_one_cycle_per_enabled_profile_every_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(
        monkeypatch,
        MTF_SCHEDULE_PROFILES="scalper_micro,regular",
        MTF_BEAT_OFFSET_SECONDS="7",
        MTF_BEAT_EXPIRES_SECONDS="40",
    )
    entries = beat_schedule(s)
    for profile in ("scalper_micro", "regular"):
        entry = entries[cycle_entry_name(profile)]
        assert entry["task"] == "mtf.run_cycle" and entry["kwargs"] == {"profile": profile}
        assert entry["schedule"] == crontab(minute="*")
        # held back after the close, dropped before the next minute, result not kept
        assert entry["options"] == {
            "queue": "mtf",
            "countdown": 7,
            "expires": 47,
            "ignore_result": True,
        }
    assert entries["maintenance:cleanup"]["options"]["queue"] == "maintenance"


def test_no_profiles_no_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = beat_schedule(settings(monkeypatch, MTF_SCHEDULE_PROFILES=""))
    assert not any(name.startswith("cycle:") for name in entries)


def test_expiry_stays_inside_the_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Exception, match="beat_expires_seconds"):
        settings(monkeypatch, MTF_BEAT_EXPIRES_SECONDS="75")


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
