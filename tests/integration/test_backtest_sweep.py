"""A sweep on real Celery workers (queue `backtest`, PostgreSQL, a private Redis): the pool
process computing a part is killed (SIGKILL) mid-part; the part is redone, every part is kept
exactly once, and the leaderboard equals the one a local process pool computes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from infra.db import engine_session, get_engine
from infra.models import BacktestPartRow, BacktestRow
from tests.conftest import _truncate, klines_file
from tests.integration.test_exactly_once import pool_children
from tests.integration.workers import cluster, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

SYMBOLS = ("BTCUSDT", "ETHUSDT")
FILES = [f"{s}-{tf}.csv" for s in SYMBOLS for tf in ("1m", "5m", "1h")]
SWEEP = [
    "backtest",
    "sweep",
    "--profile",
    "scalper_micro",
    "--symbols",
    ",".join(SYMBOLS),
    "--from",
    "2023-07-20T00:00Z",
    "--to",
    "2023-08-10T00:00Z",
    "--grid",
    "stop.atr_k=1.5,2.5",
    "--grid",
    "rule.rsi_bullish.threshold=50,55",
    "--json",
    "--quiet",
]
MTF = str(Path(sys.executable).with_name("mtf"))


def test_a_killed_worker_part_is_redone_and_counted_once(pg_database: str, tmp_path: Path) -> None:
    from infra.db import ensure_schema

    ensure_schema(pg_database)
    _truncate(pg_database)
    with cluster(pg_database, tmp_path) as live:
        paths = [str(klines_file("binance-usdm-futures_2023-07", f)) for f in FILES]
        imported = live.mtf("klines", "import", *paths)
        assert imported.returncode == 0, imported.stderr
        worker = live.worker(queues="backtest", concurrency=1, name="backtest")
        client = subprocess.Popen(
            [MTF, *SWEEP, "--celery"],
            cwd=tmp_path,
            env=live.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # kill the pool process while it computes the first part (a second or two of work)
        wait_for(
            lambda: "Task mtf.backtest_signals[" in live.log("backtest"),
            timeout=240,
            interval=0.05,
            what="a part started",
        )
        time.sleep(0.3)
        (child,) = pool_children(worker.pid)
        os.kill(child, signal.SIGKILL)
        out, err = client.communicate(timeout=600)
        assert client.returncode == 0, err
        log = live.log("backtest")
        assert "WorkerLostError" in log, "the part's process died while computing it"
        assert pool_children(worker.pid) != [child], "the killed process was replaced"
        celery_board = json.loads(out)
        sweep_id = celery_board["sweep_id"]
        engine = get_engine(pg_database)
        with engine_session(engine) as s:
            parts = s.execute(
                select(BacktestPartRow.set_index, BacktestPartRow.symbol, func.count())
                .where(BacktestPartRow.sweep_id == sweep_id)
                .group_by(BacktestPartRow.set_index, BacktestPartRow.symbol)
            ).all()
            members = s.scalar(
                select(func.count())
                .select_from(BacktestRow)
                .where(BacktestRow.sweep_id == sweep_id)
            )
        # 2 validation variants x 2 symbols of signals, 4 accounts: each once
        assert len(parts) == 8 and all(count == 1 for *_, count in parts)
        assert members == 4
        local = subprocess.run(
            [MTF, *SWEEP, "--workers", "2"],
            cwd=tmp_path,
            env=live.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert local.returncode == 0, local.stderr
        local_board = json.loads(local.stdout)["leaderboard"]

        def figures(board: list[dict[str, object]]) -> list[tuple[object, ...]]:
            return [(r["set"], r["net_pnl"], r["trades"], r["max_drawdown_pct"]) for r in board]

        assert figures(celery_board["leaderboard"]) == figures(local_board)
