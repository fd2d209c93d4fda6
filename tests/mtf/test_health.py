from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from infra.settings import reset_settings
from mtf import health


@pytest.fixture
def health_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MTF_HEALTH_DIR", str(tmp_path))
    reset_settings()
    yield tmp_path
    reset_settings()


def test_fresh_file_is_healthy_old_or_missing_is_not(health_dir: Path) -> None:
    assert health.check("beat", 30) == (
        False,
        f"no beat liveness file in {health_dir} (is the beat running here?)",
    )
    health.write("beat", "host-a", role="leader")
    ok, line = health.check("beat", 30)
    assert ok and "role=leader" in line
    path = next(health_dir.glob("mtf-beat-*.health"))
    data = json.loads(path.read_text())
    data["ts"] = time.time() - 120
    path.write_text(json.dumps(data))
    ok, line = health.check("beat", 30)
    assert not ok and "older than 30 s" in line
    assert not any(p.suffix == ".tmp" for p in health_dir.iterdir())
    assert os.access(path, os.R_OK)
