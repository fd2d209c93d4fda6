"""Deterministic identifiers derived from a decision key (the basis of exactly-once orders)."""

from __future__ import annotations

import base64
import hashlib

PREFIX = "MTF"


def client_order_id(decision_key: str) -> str:
    """32 letters/digits derived from the decision key: a retried placement reuses it, so the
    exchange recognises the order instead of opening a second one."""
    digest = hashlib.sha256(decision_key.encode()).digest()
    body = base64.b32encode(digest).decode().rstrip("=")
    return (PREFIX + body)[:32]


def protective_order_id(level_key: str, generation: int) -> str:
    """The client id of one generation of a protective order. Generation 0 is the level's own
    id; each later generation (the previous order was cancelled or never landed) gets a new id,
    so the exchange does not refuse the replacement as a duplicate of the order it replaces."""
    if generation < 0:
        raise ValueError(f"generation must be 0 or more, got {generation}")
    return client_order_id(level_key if generation == 0 else f"{level_key}#{generation}")
