"""The dispatcher on a real database with a fake broker and a controlled clock: every scheduled
time is sent once or recorded missed with why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from infra.db import engine_session, get_engine
from infra.models import RunRow, ScheduleRow
from infra.settings import Settings
from mtf.runs import RunStore
from schedules.accounting import find_gaps
from schedules.dispatch import Dispatcher
from schedules.store import ScheduleSpec, ScheduleStore

T0 = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


class Broker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], datetime]] = []
        self.down = False

    def __call__(self, run_id: str, request: dict[str, Any], scheduled: datetime) -> None:
        if self.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append((run_id, request, scheduled))


@pytest.fixture
def stores(db_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[ScheduleStore, RunStore]:
    engine = get_engine(db_url)
    # schedules created "at" T0: their first scheduled time is the next minute
    monkeypatch.setattr("infra.clock.now", lambda: T0)
    return ScheduleStore(engine), RunStore(engine)


def make(stores: tuple[ScheduleStore, RunStore], broker: Broker, **kw: Any) -> Dispatcher:
    return Dispatcher(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        schedules=stores[0],
        runs=stores[1],
        publish=broker,
        leading_since=T0,
        **kw,
    )


def create(store: ScheduleStore, name: str = "micro", **kw: Any) -> ScheduleRow:
    spec = ScheduleSpec(name=name, profile="scalper_micro", **kw)
    return store.create(spec, actor="test")


def rows(url: str) -> list[RunRow]:
    with engine_session(get_engine(url)) as s:
        return list(s.scalars(select(RunRow).order_by(RunRow.scheduled_for)))


def test_each_time_is_sent_once_after_its_offset(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(stores[0], offset_seconds=5)
    broker = Broker()
    d = make(stores, broker)
    minute = datetime(2026, 3, 2, 12, 1, tzinfo=UTC)
    # before the offset: nothing, and the dispatcher says when to look again
    wait = d.tick(minute + timedelta(seconds=2))
    assert broker.sent == [] and wait == pytest.approx(3.0)
    d.tick(minute + timedelta(seconds=5))
    d.tick(minute + timedelta(seconds=6))  # a second tick sends nothing more
    assert [(r, s) for _, r, s in broker.sent] == [({"profile": "scalper_micro"}, minute)]
    (run,) = rows(db_url)
    assert (run.status, run.schedule, run.scheduled_for) == ("queued", "micro", minute)
    assert run.deadline_at == minute + timedelta(seconds=30 + 15)


def test_a_second_beat_never_sends_a_claimed_time(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(stores[0], offset_seconds=0)
    first, second = Broker(), Broker()
    a, b = make(stores, first), make(stores, second)
    moment = datetime(2026, 3, 2, 12, 1, 1, tzinfo=UTC)
    a.tick(moment)
    # the second beat has a stale view of the cursor (it read it before the claim)
    b.schedules.advance_cursor("micro", T0)
    with engine_session(b.schedules.engine) as s:
        s.get(ScheduleRow, "micro").cursor_at = T0  # type: ignore[union-attr]
    b.tick(moment)
    assert len(first.sent) == 1 and second.sent == []
    assert len(rows(db_url)) == 1


def test_times_missed_while_no_beat_led_are_recorded_with_why(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(stores[0], offset_seconds=0, catchup_window_seconds=30)
    broker = Broker()
    # this beat leads from 12:05:10: 12:01..12:04 are past the window, 12:05 is caught up
    late = datetime(2026, 3, 2, 12, 5, 10, tzinfo=UTC)
    d = make(stores, broker)
    d.leading_since = late
    d.tick(late)
    runs = rows(db_url)
    assert [r.status for r in runs] == ["missed"] * 4 + ["queued"]
    assert all("beat down" in (r.detail or "") for r in runs[:4])
    assert [s for _, _, s in broker.sent] == [datetime(2026, 3, 2, 12, 5, tzinfo=UTC)]
    gaps = find_gaps(stores[0], stores[1], T0, late)
    assert [g.status for g in gaps] == ["missed"] * 4 + ["queued"]


def test_broker_down_retries_inside_the_window_then_records_it(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(stores[0], offset_seconds=0, catchup_window_seconds=20)
    broker = Broker()
    d = make(stores, broker)
    minute = datetime(2026, 3, 2, 12, 1, tzinfo=UTC)
    broker.down = True
    d.tick(minute + timedelta(seconds=1))
    assert rows(db_url)[0].status == "scheduled"  # claimed, not sent
    broker.down = False
    d.tick(minute + timedelta(seconds=4))  # inside the window: sent late, same run
    (run,) = rows(db_url)
    assert run.status == "queued" and broker.sent[0][0] == run.run_id
    # the next minute: the broker stays down past the window
    nxt = minute + timedelta(minutes=1)
    broker.down = True
    d.tick(nxt + timedelta(seconds=1))
    d.tick(nxt + timedelta(seconds=25))
    missed = rows(db_url)[1]
    assert missed.status == "missed" and "broker unreachable" in (missed.detail or "")


def test_paused_and_expired_schedules_do_not_fire(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(stores[0], name="paused", offset_seconds=0)
    stores[0].pause("paused", actor="test", note="maintenance")
    create(stores[0], name="expired", offset_seconds=0, expires_at=T0 + timedelta(seconds=10))
    broker = Broker()
    make(stores, broker).tick(datetime(2026, 3, 2, 12, 3, 1, tzinfo=UTC))
    assert broker.sent == [] and rows(db_url) == []
    assert stores[0].require("paused").note == "maintenance"


def test_readiness_fires_before_the_offset(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(stores[0], offset_seconds=10)
    broker = Broker()
    ready: set[datetime] = set()
    d = make(stores, broker, ready=lambda schedule, t: t in ready)
    minute = datetime(2026, 3, 2, 12, 1, tzinfo=UTC)
    assert d.tick(minute + timedelta(seconds=1)) <= 0.2  # polls the predicate
    assert broker.sent == []
    ready.add(minute)
    d.tick(minute + timedelta(seconds=1.5))
    assert [s for _, _, s in broker.sent] == [minute]


def test_interval_cadence_and_request_overrides(
    db_url: str, stores: tuple[ScheduleStore, RunStore]
) -> None:
    create(
        stores[0],
        cadence="@every 10s",
        offset_seconds=0,
        request={"dry_run": False},
        stale_after_seconds=8,
    )
    broker = Broker()
    d = make(stores, broker)
    d.tick(T0 + timedelta(seconds=20.5))
    assert [s for _, _, s in broker.sent] == [
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=20),
    ]
    assert broker.sent[0][1] == {"dry_run": False, "profile": "scalper_micro"}
    assert rows(db_url)[0].deadline_at == T0 + timedelta(seconds=10 + 8 + 15)


def test_seeding_happens_once_in_a_database_that_never_had_schedules(
    stores: tuple[ScheduleStore, RunStore],
) -> None:
    store = stores[0]
    defaults = ScheduleSpec(name="seed", profile="scalper_micro", offset_seconds=5)
    assert store.seed(["scalper_micro", "regular"], defaults) == ["scalper_micro", "regular"]
    assert store.seed(["scalper_micro"], defaults) == []
    store.delete("scalper_micro", actor="op", note="not wanted")
    store.delete("regular", actor="op", note="not wanted")
    assert store.seed(["scalper_micro"], defaults) == [], "deleted schedules stay deleted"
    assert store.all() == []


def test_an_offset_past_the_stale_age_is_refused(stores: tuple[ScheduleStore, RunStore]) -> None:
    from schedules.store import ScheduleError

    with pytest.raises(ScheduleError, match="stale before they start"):
        create(stores[0], name="late", offset_seconds=40)
    assert create(stores[0], name="ok", offset_seconds=40, stale_after_seconds=55).name == "ok"
