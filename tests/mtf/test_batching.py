from __future__ import annotations

import pytest

from mtf.tasks.cycle import MAX_BATCH, batch_ids, batch_size


@pytest.mark.parametrize(
    ("count", "parallelism", "expected_batches"),
    [(1, 2, 1), (8, 2, 2), (50, 2, 2), (200, 2, 4), (600, 2, 12), (600, 16, 16), (30, 8, 8)],
)
def test_batches_cover_workers_and_stay_small(
    count: int, parallelism: int, expected_batches: int
) -> None:
    size = batch_size(count, 0, parallelism)
    assert -(-count // size) == expected_batches
    assert size <= MAX_BATCH


def test_configured_size_wins() -> None:
    assert batch_size(600, 7, 2) == 7


def test_batch_ids_are_stable_and_distinct() -> None:
    ids = batch_ids("run-1", 3)
    assert ids == batch_ids("run-1", 3) and len(set(ids)) == 3
    assert all(i.startswith("run-1-v") for i in ids)
