"""Profile loading: schema, timeframe checks, requirements, packaged profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import indicators as ind
from mtf.rules.compiler import ProfileError
from mtf.rules.profile import available_profiles, compile_profile, load_profile, load_profile_file
from providers.timeframes import Timeframe


def base(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "context_timeframes": ["5m"],
        "execution_timeframes": ["1m"],
        "timeframes": {
            "5m": {"long": [{"gt": 50}], "short": [{"lt": 50}]},
            "1m": {"long": ["close_above_ema_9"], "short": ["close_below_ema_9"]},
        },
    }
    data.update(overrides)
    return data


def problems_of(data: Any) -> list[str]:
    with pytest.raises(ProfileError) as err:
        compile_profile(data)
    return [str(p) for p in err.value.problems]


def test_packaged_profiles_load() -> None:
    assert "scalper_micro" in available_profiles()
    profile = load_profile("scalper_micro")
    assert profile.context == (Timeframe.M5,) and profile.execution == (Timeframe.M1,)
    assert profile.timeframes == (Timeframe.M5, Timeframe.M1)


def test_requirements_cover_lookbacks_and_other_timeframes() -> None:
    profile = compile_profile(
        base(
            timeframes={
                "5m": {"long": [{"gt": 20, "field": "adx_1h"}], "short": [{"lt": 50}]},
                "1m": {
                    "long": [{"slope": "ema_50", "lookback": 10, "gt": 0}],
                    "short": [{"lt": 40}],
                },
            }
        )
    )
    # ADX(14) on the hour, settled: 154 candles, read from anchors up to 19 bars further back
    assert ind.settled_candles("adx", period=14) == 154
    assert profile.requirements[Timeframe.H1] == 154 + 20 - 1
    # EMA50 settled (166) from anchors at least an hour apart on 1m, plus a 10-bar slope
    assert profile.requirements[Timeframe.M1] == 166 + 60 - 1 + 10
    assert profile.candles_needed(Timeframe.M1) == profile.requirements[Timeframe.M1]
    # at a given moment exactly what the anchors of the bars read need
    at = 1_700_006_400_000 + 37 * 60_000
    slope_from = Timeframe.M1.last_closed_open_ms(at) - 10 * 60_000
    assert profile.candles_needed(Timeframe.M1, at) == ind.window_at(slope_from, 60_000, 166) + 10


def test_every_problem_is_reported_at_once() -> None:
    data = base(
        execution_timeframes=["1m", "5m"],
        timeframes={"1m": {"long": ["nope"], "short": []}, "1h": {"long": [{"gt": 1}]}},
    )
    found = problems_of(data)
    text = "\n".join(found)
    assert "execution_timeframes: 5m cannot be both context and execution" in text
    assert "timeframes.5m: missing rules for 5m" in text
    assert "timeframes.1h: 1h is neither a context nor an execution timeframe" in text
    assert "timeframes.1m.long[0]: unknown rule 'nope'" in text
    assert "timeframes.1m.short: an empty list would always pass" in text


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"mode": "ultra"}, "mode: Input should be 'strict' or 'pragmatic'"),
        ({"execution_timeframes": ["2m"]}, "execution_timeframes.0"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"history_bars": 10}, "history_bars"),
    ],
)
def test_schema_errors_carry_paths(overrides: dict[str, Any], expected: str) -> None:
    assert any(expected in p for p in problems_of(base(**overrides)))


def test_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile_file(bad)
    with pytest.raises(ProfileError, match=r"unknown profile 'nope'; available: .*scalper_micro"):
        load_profile("nope")


def test_reload_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTF_PROFILES_DIR", str(tmp_path))
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(base(name="mine")))
    assert load_profile("mine").history_bars == 300
    path.write_text(yaml.safe_dump(base(name="mine", history_bars=400)))
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert load_profile("mine").history_bars == 400


def test_day_anchored_fields_load_the_whole_day() -> None:
    """VWAP resets at 00:00 UTC: late in the day the 1m frame must reach back to midnight."""
    profile = load_profile("scalper_micro")  # reads vwap on 5m and 1m
    midnight = 1_700_006_400_000  # 2023-11-15T00:00Z
    hour = 3_600_000
    # early in the day the settled indicators (MACD, 115 candles from its anchor) reach further
    early = profile.candles_needed(Timeframe.M1, midnight + 1 * hour)
    assert 115 <= early < 175 and early > 60
    assert profile.candles_needed(Timeframe.M1, midnight + 12 * hour) == 720
    # at 00:00 the last closed minute is 23:59 of the day before: all of that day
    assert profile.candles_needed(Timeframe.M1, midnight) == 1440
    assert profile.candles_needed(Timeframe.M5, midnight + 12 * hour) == 144
    assert profile.candles_needed(Timeframe.M1) == 1440  # worst case


def test_pivots_need_the_previous_day_too() -> None:
    profile = compile_profile(
        base(
            timeframes={
                "5m": {"long": [{"gt_fields": ["close", "pivot_p"]}], "short": [{"lt": 50}]},
                "1m": {"long": ["close_above_ema_9"], "short": ["close_below_ema_9"]},
            }
        )
    )
    noon = 1_700_006_400_000 + 12 * 3_600_000
    assert profile.candles_needed(Timeframe.M5, noon) == 288 + 144
