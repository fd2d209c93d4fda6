"""One watcher per resting entry: a redelivered placement starts a new watcher chain and the
older one stops at its next look, so watchers never multiply."""

from __future__ import annotations

from typing import Any

from tradeentry.ids import client_order_id
from tradeentry.ledger import Decision


def test_a_new_watcher_supersedes_the_older_chain(
    db_url: str, make_services: Any, eager_app: Any
) -> None:
    from mtf.tasks.orders import watch_order

    svc = make_services(db_url)
    d = Decision(
        "BTCUSDT:1m:0:long",
        None,
        "scalper_micro",
        "BTCUSDT",
        "long",
        "1m",
        0,
        "paper",
        False,
        60_000,
    )
    svc.ledger.claim(d, client_order_id(d.decision_key))
    svc.ledger.update(d.decision_key, status="submitted")
    first = svc.ledger.new_watcher(d.decision_key)
    second = svc.ledger.new_watcher(d.decision_key)  # the placement was delivered again
    row = svc.ledger.get(d.decision_key)
    assert row is not None
    assert not svc.ledger.is_watcher(row, first) and svc.ledger.is_watcher(row, second)
    out = watch_order.apply(kwargs={"decision_key": d.decision_key, "token": first}).result
    assert out["detail"] == "superseded", out
