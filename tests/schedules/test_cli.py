"""`mtf schedules ...` and `mtf runs gaps|wait`: what an operator types and reads."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtf.cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from infra.settings import reset_settings
    from mtf import services

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MTF_SCHEDULE_PROFILES", "")
    monkeypatch.chdir(tmp_path)
    reset_settings()
    services.reset()
    yield CliRunner()
    services.reset()
    reset_settings()


def mtf(cli: CliRunner, *args: str, code: int = 0) -> str:
    out = cli.invoke(main, list(args))
    assert out.exit_code == code, (args, out.output, out.stderr if out.stderr_bytes else "")
    return out.output


def test_create_describe_pause_resume_and_history(cli: CliRunner) -> None:
    created = json.loads(
        mtf(
            cli,
            "schedules",
            "create",
            "nightly",
            "--cron",
            "17 3 * * *",
            "--offset",
            "0",
            "--overlap",
            "buffer_one",
            "--set",
            "dry_run=false",
            "--note",
            "first",
            "--json",
        )
    )
    assert created["cadence"] == "17 3 * * *" and created["request"] == {"dry_run": False}
    described = json.loads(mtf(cli, "schedules", "describe", "nightly", "--json"))
    fires = [datetime.fromisoformat(f) for f in described["next_runs"]]
    assert len(fires) == 5 and all((f.hour, f.minute, f.second) == (3, 17, 0) for f in fires)
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(days=1)] * 4
    assert described["overlap"] == "buffer_one" and described["effective_stale_after_seconds"] == 30

    mtf(cli, "schedules", "pause", "nightly", "--note", "exchange maintenance")
    listed = [json.loads(line) for line in mtf(cli, "schedules", "list", "--json").splitlines()]
    nightly = next(e for e in listed if e["name"] == "nightly")
    assert nightly["state"] == "paused" and nightly["note"] == "exchange maintenance"
    assert nightly["next_run"] is None
    # the static entries are listed with their own correct next run (03:17, not 03:10)
    cleanup = next(e for e in listed if e["name"] == "maintenance:cleanup")
    assert datetime.fromisoformat(cleanup["next_run"]).strftime("%H:%M") == "03:17"

    mtf(cli, "schedules", "resume", "nightly", "--note", "back")
    mtf(cli, "schedules", "update", "nightly", "--offset", "5", "--unset", "dry_run")
    history = [
        json.loads(x) for x in mtf(cli, "schedules", "history", "nightly", "--json").splitlines()
    ]
    assert [h["action"] for h in history] == ["updated", "resumed", "paused", "created"]
    assert history[0]["changes"]["offset_seconds"] == {"from": 0.0, "to": 5.0}
    assert history[2]["note"] == "exchange maintenance" and "@" in history[2]["actor"]
    mtf(cli, "schedules", "delete", "nightly", "--note", "done")
    assert "nightly" not in mtf(cli, "schedules", "list")
    table = mtf(cli, "schedules", "history", "nightly")
    assert "deleted" in table and "offset_seconds: 0.0 -> 5.0" in table
    # every field of a creation is shown (the last one included), without "None ->"
    assert "request:" in table and "None" not in table


def test_errors_are_one_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = cli.invoke(main, ["schedules", "create", "x", "--cron", "61 * * * *"])
    assert bad.exit_code == 2 and "not a valid cron spec" in bad.output
    assert "Traceback" not in bad.output and len(bad.output.strip().splitlines()) == 1
    unknown = cli.invoke(main, ["schedules", "pause", "nope", "--note", "x"])
    assert unknown.exit_code == 2 and "no schedule named 'nope'" in unknown.output
    static = cli.invoke(main, ["schedules", "create", "tpsl:sweep"])
    assert static.exit_code == 2 and "the name of beat's static entry" in static.output
    assert "tpsl:sweep" not in mtf(cli, "schedules", "history")
    # an out-of-range value is refused as `update` refuses it, never replaced by the default
    zero = cli.invoke(main, ["schedules", "create", "z", "--catchup-window", "0"])
    assert zero.exit_code == 2 and "catch-up window 0s: must be at least 1" in zero.output
    bad_request = cli.invoke(main, ["schedules", "create", "y", "--set", "as_of=2026-01-01"])
    assert bad_request.exit_code == 2 and "request cannot set as_of" in bad_request.output

    from infra.settings import reset_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/none")
    reset_settings()
    down = cli.invoke(main, ["schedules", "list"])
    assert down.exit_code == 1 and "cannot reach the database" in down.output
    assert len(down.output.strip().splitlines()) == 1


def test_trigger_with_the_broker_down_is_one_line_and_recorded(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kombu.exceptions import OperationalError

    from mtf import app

    mtf(cli, "schedules", "create", "micro", "--offset", "0")

    def refused(*args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(app, "send_task", refused)
    out = cli.invoke(main, ["schedules", "trigger", "micro"])
    assert out.exit_code == 1 and "cannot reach the broker" in out.output, out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1
    gaps = [json.loads(g) for g in mtf(cli, "runs", "gaps", "--since", "5m", "--json").splitlines()]
    assert any(g["status"] == "missed" and "broker" in g["detail"] for g in gaps), gaps


def test_gaps_leave_out_paused_stretches(cli: CliRunner) -> None:
    from infra.db import get_engine
    from infra.settings import get_settings
    from mtf.runs import RunStore
    from schedules.accounting import find_gaps
    from schedules.cadence import parse_cadence
    from schedules.store import ScheduleStore

    mtf(cli, "schedules", "create", "micro", "--cadence", "@every 10s", "--offset", "0")
    engine = get_engine(get_settings().database_url)
    store, runs = ScheduleStore(engine), RunStore(engine)
    created = store.require("micro").created_at
    now = created + timedelta(seconds=35)
    found = find_gaps(store, runs, created - timedelta(minutes=1), now)
    expected = [t for t in parse_cadence("@every 10s").times(created, now)]
    assert [g.scheduled_for for g in found] == expected and len(expected) in (3, 4)
    assert {g.status for g in found} == {"unaccounted"}
    store.pause("micro", actor="t", note="x")
    later = datetime.now(UTC) + timedelta(minutes=5)
    during_pause = find_gaps(store, runs, created - timedelta(minutes=1), later)
    assert all(g.scheduled_for <= datetime.now(UTC) for g in during_pause)


def test_a_trigger_shows_its_run_id_in_history_and_describe(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtf import app

    mtf(cli, "schedules", "create", "micro", "--offset", "0")
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    run_id = json.loads(mtf(cli, "schedules", "trigger", "micro", "--json"))["run_id"]
    for args in (("history", "micro"), ("history",), ("describe", "micro")):
        out = mtf(cli, "schedules", *args)
        assert "triggered" in out and f"run_id: {run_id}" in out, out


def test_symbols_that_are_not_contracts_are_refused_naming_the_closest(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTF_SYNTHETIC_SYMBOLS", "3")
    out = cli.invoke(main, ["schedules", "create", "foo", "--set", "symbols=FOOUSDT,BTCUSD"])
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1, out.stderr
    assert "FOOUSDT is not a contract" in out.stderr
    assert "BTCUSD is not a contract (close: BTCUSDT)" in out.stderr
    listed = [json.loads(line) for line in mtf(cli, "schedules", "list", "--json").splitlines()]
    assert "foo" not in {s.get("name") for s in listed}
    mtf(cli, "schedules", "create", "ok", "--set", 'symbols=["BTCUSDT"]')
    refused = cli.invoke(main, ["schedules", "update", "ok", "--set", "symbols=ETHUSDT,FOOUSDT"])
    assert refused.exit_code == 2 and "FOOUSDT is not a contract" in refused.stderr
    described = json.loads(mtf(cli, "schedules", "describe", "ok", "--json"))
    assert described["request"]["symbols"] == ["BTCUSDT"]
    mtf(cli, "schedules", "update", "ok", "--set", "symbols=ETHUSDT")


def test_symbols_are_accepted_with_a_warning_before_any_contract_is_synced(
    cli: CliRunner,
) -> None:
    out = cli.invoke(
        main,
        ["schedules", "create", "live", "--set", "exchange=bitmart", "--set", "symbols=FOOUSDT"],
    )
    assert out.exit_code == 0, out.output
    assert "created live" in out.stdout
    assert out.stderr.startswith("warning: no contracts are stored yet") and "FOOUSDT" in out.stderr
