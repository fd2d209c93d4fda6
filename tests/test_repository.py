"""What running the engine leaves in a checkout is ignored by git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="no git")
def test_generated_files_are_ignored(tmp_path: Path) -> None:
    from infra.db import ensure_schema

    # The files a run makes next to its SQLite database, as the engine names them.
    ensure_schema(f"sqlite:///{tmp_path / 'mtf.db'}")
    made = sorted(p.name for p in tmp_path.iterdir())
    assert "mtf.db.migrate.lock" in made
    paths = [*made, "mtf.db-journal", ".env", "flower.db", "celerybeat-schedule"]
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert sorted(out.stdout.split()) == sorted(paths)
