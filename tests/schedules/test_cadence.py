"""Scheduled times from cron specs and intervals, checked against independent arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.cadence import CadenceError, parse_cadence

T0 = datetime(2026, 3, 1, 3, 16, 30, tzinfo=UTC)


def test_daily_cron_fires_at_its_minute_not_at_a_rounded_one() -> None:
    cadence = parse_cadence("17 3 * * *")
    assert cadence.upcoming(T0, 3) == [
        datetime(2026, 3, 1, 3, 17, tzinfo=UTC),
        datetime(2026, 3, 2, 3, 17, tzinfo=UTC),
        datetime(2026, 3, 3, 3, 17, tzinfo=UTC),
    ]
    # exactly on a scheduled time: that time is not "after" it
    assert cadence.next_after(datetime(2026, 3, 1, 3, 17, tzinfo=UTC)).day == 2
    assert cadence.latest_at_or_before(datetime(2026, 3, 1, 3, 17, tzinfo=UTC)).day == 1


def test_every_minute_and_intervals_are_aligned() -> None:
    assert parse_cadence("* * * * *").next_after(T0) == datetime(2026, 3, 1, 3, 17, tzinfo=UTC)
    every = parse_cadence("@every 10s")
    assert every.next_after(T0) == datetime(2026, 3, 1, 3, 16, 40, tzinfo=UTC)
    assert list(every.times(T0, T0 + timedelta(seconds=25))) == [
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=20),
    ]
    assert every.period_hint == timedelta(seconds=10)
    assert parse_cadence("*/5 * * * *").period_hint == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty cadence"),
        ("61 * * * *", "not a valid cron spec"),
        ("* * * * * *", "not a valid cron spec"),
        ("@every 7s", "divide a day"),
        ("@sometimes", "not known"),
    ],
)
def test_bad_specs_say_what_is_allowed(spec: str, message: str) -> None:
    with pytest.raises(CadenceError, match=message) as caught:
        parse_cadence(spec)
    assert "@every" in str(caught.value) or "divide" in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    start=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
def test_daily_spec_matches_arithmetic(minute: int, hour: int, start: datetime) -> None:
    fire = parse_cadence(f"{minute} {hour} * * *").next_after(start)
    today = start.replace(hour=hour, minute=minute, second=0, microsecond=0)
    expected = today if today > start else today + timedelta(days=1)
    assert fire == expected


@settings(max_examples=200, deadline=None)
@given(
    step=st.sampled_from([1, 2, 5, 10, 15, 30, 60, 120, 300, 3600]),
    start=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
def test_intervals_are_multiples_since_the_epoch(step: int, start: datetime) -> None:
    fire = parse_cadence(f"@every {step}s").next_after(start)
    assert fire > start and fire.timestamp() % step == 0
    assert fire - timedelta(seconds=step) <= start
