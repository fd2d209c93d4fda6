"""Fixtures of the paper exchange's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.db import get_engine

from .venue import Venue


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    yield Venue(url)
    get_engine(url).dispose()
