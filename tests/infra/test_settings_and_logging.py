from __future__ import annotations

import logging

import pytest

from infra.logging import ContextFilter, RedactingFilter, bind
from infra.settings import Settings, mask_url_password


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("MTF_DRY_RUN", "MTF_LIVE_TRADING", "MTF_EXCHANGE"):
        monkeypatch.delenv(key, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.dry_run is True and settings.live_trading is False
    assert settings.exchange == "paper" and settings.database_url.startswith("sqlite")


def test_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://broker:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/x")
    monkeypatch.setenv("MTF_SCHEDULE_PROFILES", "scalper_micro, regular")
    monkeypatch.setenv("MTF_LIVE_TRADING", "yes")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.broker_url == "redis://broker:6379/0" and not s.is_sqlite
    assert s.schedule_profiles == ["scalper_micro", "regular"] and s.live_trading


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTF_EXCHANGE", "binance")
    with pytest.raises(Exception, match="exchange"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@host:6379/0", "redis://:****@host:6379/0"),
        ("postgresql://user:pw@db/x", "postgresql://user:****@db/x"),
        ("sqlite:///mtf.db", "sqlite:///mtf.db"),
        ("redis://host:6379/0", "redis://host:6379/0"),
    ],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked


def test_secrets_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    handler = caplog.handler
    handler.addFilter(RedactingFilter(["topsecretkey"]))
    handler.addFilter(ContextFilter())
    with bind(run_id="run-1", decision_key="BTCUSDT:1m:1"):
        logger.warning("signing with %s", "topsecretkey")
    record = caplog.records[-1]
    assert "topsecretkey" not in record.getMessage() and "****" in record.getMessage()
    assert record.run_id == "run-1" and record.decision_key == "BTCUSDT:1m:1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MTF_PAPER_TAKER_FEE", "5"),  # 500 % a fill: a rate, not a percentage
        ("MTF_PAPER_MAKER_FEE", "0.02"),
        ("MTF_PAPER_SLIPPAGE_BPS", "5000"),
        ("MTF_PAPER_SPREAD_BPS", "2000"),
    ],
)
def test_paper_costs_out_of_range_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """The bounds `mtf backtest` applies to its own options hold for their defaults too, so the
    refusal names the variable that was set rather than an option that was not given."""
    from infra.settings import SettingsError, load_settings, reset_settings

    monkeypatch.setenv(name, value)
    reset_settings()
    try:
        with pytest.raises(SettingsError, match=rf"{name}='{value}': Input should be less than"):
            load_settings()
    finally:
        monkeypatch.delenv(name)
        reset_settings()
